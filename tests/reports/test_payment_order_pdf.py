"""The payment order PDF: plain data in, a Spanish order out; and the same from a real payment."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from io import BytesIO

from pypdf import PdfReader

from grants.audit import Actor
from grants.extensions import db
from grants.reports.payment_order_pdf import (
    OrderDeduction,
    OrderLine,
    PaymentOrder,
    Signature,
    build_payment_order_pdf,
)
from grants.services import invoices, payments
from tests.timeline import day, dmy, year


MARCH = f"del {dmy('2026-03-01')} al {dmy('2026-03-31')}"  # the invoiced period, as the order writes it


def page_texts(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf)).pages]


def order(**changes) -> PaymentOrder:
    doc = PaymentOrder(
        number="OP-000042", status="authorized", status_label="Autorizado",
        agreement_number=f"MJSP-CONV-{year()}-0001", organization_name="Fundación Juventud con Futuro",
        organization_nit="0614-150399-101-7", supplier_name="Capacitaciones El Roble, S.A. de C.V.",
        supplier_tax_id="0614-050707-104-8", supplier_bank="Banco Agrícola", supplier_account="0011-22-333333",
        invoice_number="F-00077", invoice_date=day("2026-04-02"), period_start=day("2026-03-01"),
        period_end=day("2026-03-31"), certificate=f"Conforme, recibido el {dmy('2026-04-03')} por Lcda. Ana Chávez",
        lines=(OrderLine(1, 1, "Curso de carpintería por participante", Decimal("5"), Decimal("1200.00"),
                         Decimal("6000.00"), Decimal("2400.00"), Decimal("3600.00")),
               OrderLine(2, 3, "Refrigerios", Decimal("2.5"), Decimal("3.33"), Decimal("8.33"), Decimal("0.00"),
                         Decimal("8.33"))),
        deductions=(OrderDeduction(1, "José Núñez Peña", "•••••••6-1", Decimal("1"), Decimal("1200.00"),
                                   f"Inscripción «Inactiva» desde el {dmy('2026-03-10')}: no estuvo activa todo el "
                                   f"período facturado ({MARCH})."),
                    OrderDeduction(1, "María López", "•••••••8-7", Decimal("1"), Decimal("1200.00"),
                                   f"Inscripción «Validada» desde el {dmy('2026-02-10')}: no estuvo activa en el "
                                   f"período facturado ({MARCH}).")),
        invoiced=Decimal("6008.33"), deducted=Decimal("2400.00"), payable=Decimal("3608.33"),
        signatures=(Signature("Preparado por", "Tesorero Uno", day("2026-04-05")),
                    Signature("Autorizado por", "Tesorera Dos", day("2026-04-06")),
                    Signature("Ejecutado por", None, None)),
        bank_reference=None, transfer_date=None, cancel_reason=None, generated_on=day("2026-04-07"))
    return dataclasses.replace(doc, **changes)


def test_the_order_states_supplier_invoice_lines_deductions_totals_and_signatures():
    pages = page_texts(build_payment_order_pdf(order()))
    text = " ".join(pages)
    assert "ORDEN DE PAGO DIRECTO OP-000042" in text
    assert f"MJSP-CONV-{year()}-0001" in text and "Fundación Juventud con Futuro" in text
    for value in ("Capacitaciones El Roble, S.A. de C.V.", "0614-050707-104-8", "Banco Agrícola", "0011-22-333333",
                  "F-00077", dmy("2026-04-02"), MARCH, "Lcda. Ana Chávez"):
        assert value in text, value
    for amount in ("$6,000.00", "$2,400.00", "$3,600.00", "$8.33", "$6,008.33", "$3,608.33", "$1,200.00"):
        assert amount in text, amount
    assert "TRES MIL SEISCIENTOS OCHO 33/100 DÓLARES DE LOS ESTADOS UNIDOS DE AMÉRICA" in text
    assert "José Núñez Peña" in text and "6-1" in text and f"«Inactiva» desde el {dmy('2026-03-10')}" in text
    assert "María López" in text and f"«Validada» desde el {dmy('2026-02-10')}" in text
    assert "Preparado por" in text and "Tesorero Uno" in text and "Tesorera Dos" in text
    assert "Ejecutado por" in text and "Pendiente" in text
    assert "Transferencia pendiente" in text
    assert f"Página 1 de {len(pages)}" in pages[0] and f"Generado el {dmy('2026-04-07')}" in pages[0]


def test_until_executed_every_page_says_so():
    pages = page_texts(build_payment_order_pdf(order()))
    assert all("NO EJECUTADO" in page for page in pages)
    cancelled = " ".join(page_texts(build_payment_order_pdf(order(status="cancelled", status_label="Cancelado",
                                                                  cancel_reason="Cuenta errada"))))
    assert "CANCELADO — NO EJECUTADO" in cancelled and "Motivo: Cuenta errada" in cancelled


def test_an_executed_order_shows_the_transfer_and_no_mark():
    text = " ".join(page_texts(build_payment_order_pdf(order(
        status="executed", status_label="Ejecutado", bank_reference="TRF-2026-0042", transfer_date=day("2026-04-08"),
        signatures=(Signature("Preparado por", "Tesorero Uno", day("2026-04-05")),
                    Signature("Autorizado por", "Tesorera Dos", day("2026-04-06")),
                    Signature("Ejecutado por", "Tesorero Uno", day("2026-04-08"), "Transferencia TRF-2026-0042"))))))
    assert "NO EJECUTADO" not in text
    assert "Referencia TRF-2026-0042" in text and dmy("2026-04-08") in text


def test_an_order_without_deductions_says_every_unit_is_eligible():
    text = " ".join(page_texts(build_payment_order_pdf(order(deductions=(), deducted=Decimal("0.00")))))
    assert "Sin deducciones" in text


def test_a_real_payment_prints_its_deductions_with_masked_documents_and_both_authorizers(app):
    from tests.money.payment_helpers import HISTORY, act, beneficiary_line, line, payments_setup, prepared

    ctx = payments_setup()
    payment = prepared(ctx, [beneficiary_line(ctx, list(HISTORY), unit_price="26000.00"), line(2, "1", "0.50")])
    assert payment.required_authorizations == 2  # 26,000.50 payable: above the 25,000.00 threshold
    text = " ".join(page_texts(payments.payment_order_pdf(payment)))
    assert "NO EJECUTADO" in text and text.count("Autorizado por") == 2
    people = ctx["people"]
    for name in ("inactive", "late", "never", "withdrawn"):
        person = people[name].beneficiary
        assert person.full_name in text and person.document_number not in text
        assert person.document_number[-3:] in text
    assert people["active"].beneficiary.full_name not in text
    assert "$130,000.50" in text and "$104,000.00" in text and "$26,000.50" in text
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    payments.authorize_payment(act(ctx["treasury3"]), payment.id)
    payments.execute_payment(Actor.for_user(ctx["treasury"]), payment.id, "TRF-77", invoices.today())
    db.session.commit()
    text = " ".join(page_texts(payments.payment_order_pdf(payment)))
    assert "NO EJECUTADO" not in text and "TRF-77" in text
    assert ctx["treasury2"].full_name in text and ctx["treasury3"].full_name in text
