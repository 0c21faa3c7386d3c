"""The demo's money on ngo2's agreement, through the real services, each step on its day of the demo's
calendar (``grants.demo.Timeline``: day 0 is the start of execution, today is day 150): the suppliers,
the first direct payments, the first advance with its statement half reviewed and a refund waiting."""
from __future__ import annotations

from typing import TYPE_CHECKING

from grants import clock

if TYPE_CHECKING:
    from grants.audit import Actor
    from grants.demo import Timeline


def demo_suppliers(t: Timeline, ngo: Actor, financial: Actor, agreement_id: int):
    """Two suppliers of ngo2: one validated (day 20), one waiting in the financial reviewer's queue."""
    from grants.services import suppliers

    with clock.at(t.day(18)):
        validated = suppliers.propose_supplier(ngo, agreement_id, {
            "tax_id": "0210-140395-102-0", "nrc": "245871-3",
            "legal_name": "Panadería y Eventos La Espiga, S.A. de C.V.",
            "address": "Calle Libertad 14, Santa Ana", "phone": "2440-7788",
            "bank_name": "Banco Agrícola", "bank_account": "0058-771-22019",
            "items": [{"description": "Refrigerio por participante y sesión", "unit": "refrigerio",
                       "unit_price": "1.75"},
                      {"description": "Almuerzo para jornadas completas", "unit": "almuerzo", "unit_price": "3.50"}]})
    with clock.at(t.day(20)):
        suppliers.validate_supplier(financial, validated.id)
    with clock.at(t.day(140)):
        suppliers.propose_supplier(ngo, agreement_id, {
            "tax_id": "0210-050812-045-1", "nrc": "301188-0", "legal_name": "Deportes Occidente, S.A. de C.V.",
            "address": "Av. Independencia 8, Santa Ana", "phone": "2447-1020",
            "bank_name": "Banco Cuscatlán", "bank_account": "1102-334-5567",
            "items": [{"description": "Balón de fútbol n.º 5", "unit": "unidad", "unit_price": "18.90"},
                      {"description": "Uniforme deportivo completo", "unit": "juego", "unit_price": "24.00"}]})
    return validated


def refreshments_invoice(t: Timeline, as_, agreement_id: int, supplier_id: int, served: list[int], number: str,
                         first: int, last: int):
    """ngo2's refreshments for ``served`` from day ``first`` to day ``last``: invoiced two days later,
    received (certified by the administrator) the next."""
    from grants.services import invoices

    with clock.at(t.day(last + 2)):
        registered = invoices.register_invoice(as_("ngo2"), agreement_id, {
            "supplier_id": supplier_id, "number": number, "issue_date": t.iso(last + 2),
            "period_start": t.iso(first), "period_end": t.iso(last),
            "lines": [{"budget_line": 4, "description": "Refrigerios de las sesiones del mes (12 por participante)",
                       "quantity": str(len(served)), "unit_price": "21.00", "per_beneficiary": True,
                       "enrollment_ids": served}]})
    with clock.at(t.day(last + 3)):
        invoices.certify_receipt(as_("administrator"), registered.id, {
            "received_on": t.iso(last + 3), "conforming": True, "differences": None})
    return registered


def demo_money(t: Timeline, as_, agreement_id: int, supplier_id: int) -> None:
    """ngo2's money, through the real services, each step on its day: the first month's refreshments
    paid directly (two of the 22 participants billed were never active, so their units are
    deducted); the second month's waiting for a second treasury officer; the first advance
    disbursed on day 16, with a statement half reviewed."""
    from sqlalchemy import select

    from grants.extensions import db
    from grants.models import Enrollment
    from grants.services import advances, expense_statements, payments, refunds
    from grants.demo import DAYS_SINCE_START
    from grants.services.demo_scan import demo_document

    people = db.session.scalars(select(Enrollment).where(Enrollment.agreement_id == agreement_id)
                                .order_by(Enrollment.id)).all()
    served = [e.id for e in people[:22]]  # the first 20 are active; 21 and 22 were never activated
    year = t.fiscal_year

    def invoice(number: str, first: int, last: int):
        return refreshments_invoice(t, as_, agreement_id, supplier_id, served, number, first, last)

    first_month = invoice("A-0311", 30, 58)
    with clock.at(t.day(63)):
        march = payments.prepare_payment(as_("treasury"), first_month.id)
    with clock.at(t.day(64)):
        payments.authorize_payment(as_("treasury2"), march.id)
    with clock.at(t.day(66)):
        payments.execute_payment(as_("treasury"), march.id, f"BCR-TRF-{year}-004512", t.day(66))
    second_month = invoice("A-0422", 59, 88)
    with clock.at(t.day(93)):
        payments.prepare_payment(as_("treasury"), second_month.id)  # waits for treasury2

    with clock.at(t.day(12)):
        advance = advances.request_advance(as_("ngo2"), agreement_id, {
            "tranche_number": 1, "purpose": "Primer desembolso: facilitadores y materiales de los primeros meses"})
    with clock.at(t.day(13)):
        advances.approve_advance(as_("financial"), advance.id)
    with clock.at(t.day(15)):
        advances.prepare_disbursement(as_("treasury"), advance.id)
    with clock.at(t.day(16)):
        advances.disburse_advance(as_("treasury2"), advance.id, f"BCR-TRF-{year}-003001", t.day(16))
    with clock.at(t.day(75)):
        statement = expense_statements.submit_statement(as_("ngo2"), advance.id, [
            {"document_type": "ccf", "document_number": "CCF-1187", "issue_date": t.iso(32),
             "supplier_tax_id": "0614-010180-001-2", "supplier_name": "Librería y Papelería El Estudiante",
             "description": "Cuadernos, lápices y material de talleres", "budget_line": 3, "amount": "1845.60"},
            {"document_type": "factura", "document_number": "F-22051", "issue_date": t.iso(47),
             "supplier_tax_id": "0614-090291-107-1", "supplier_name": "Muebles Metálicos Santa Ana",
             "description": "Mesas plegables y sillas para el espacio seguro", "budget_line": 2, "amount": "4320.00"},
            {"document_type": "recibo", "document_number": "R-0098", "issue_date": t.iso(68),
             "supplier_tax_id": "0614-050707-104-8", "supplier_name": "Mediación Comunitaria Occidente",
             "description": "Honorarios de facilitación, primer mes", "budget_line": 1, "amount": "2500.00"},
        ], filename="liquidacion-anticipo-1.xlsx")
    first, second, _third = statement.receipts
    with clock.at(t.day(80)):
        expense_statements.decide_receipt(as_("financial"), first.id, True)
        expense_statements.decide_receipt(as_("financial"), second.id, False,
                                          "El comprobante no detalla cantidades ni precios unitarios.")
    # A refund declared five days ago, waiting for treasury to see it in the bank.
    with clock.at(t.day(DAYS_SINCE_START - 5)):
        refunds.declare_refund(as_("ngo2"), advance.id, {
            "amount": "3000.00", "bank_name": "Banco Cuscatlán", "bank_reference": f"DEP-{year}-000871",
            "refunded_on": t.iso(DAYS_SINCE_START - 6)},
            slip=("boleta-deposito-871.pdf", demo_document(f"Boleta de depósito DEP-{year}-000871")))
