"""Invoices through the services: registration (amounts, field errors collected, supplier and
numbering rules), the administrator's receipt certificate, voiding."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import Invoice, Notification
from grants.services import agreements, invoices, payments, suppliers
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.helpers import audit_actions
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_organization, make_user
from tests.money.payment_helpers import (
    act,
    beneficiary_line,
    certified,
    enroll,
    invoice_data,
    line,
    payments_setup,
    prepared,
    register,
)
from tests.timeline import day, iso


@pytest.fixture
def ctx(app):
    return payments_setup()


events = audit_actions


def refused(ctx, data, user="ngo"):
    with pytest.raises(ValidationFailed) as exc:
        invoices.register_invoice(act(ctx[user]), ctx["agreement"].id, data)
    db.session.rollback()
    return exc.value.errors


# --- registration ----------------------------------------------------------------------------

def test_amounts_are_quantity_times_price_rounded_half_up_and_summed(ctx):
    invoice = register(ctx, [line(2, "2.5", "3.33", description="Pintura (galones)"),
                             beneficiary_line(ctx, ["active", "inactive", "late"], unit_price="120.00"),
                             line(3, "10", "0.15")], number=" f-  00077 ")
    assert [(x.position, x.quantity, x.unit_price, x.amount) for x in invoice.lines] == [
        (1, Decimal("2.50"), Decimal("3.33"), Decimal("8.33")),      # 8.325 → 8.33
        (2, Decimal("3.00"), Decimal("120.00"), Decimal("360.00")),
        (3, Decimal("10.00"), Decimal("0.15"), Decimal("1.50"))]
    assert invoice.total == Decimal("369.83")
    assert (invoice.number, invoice.status, invoice.supplier_tax_id) == ("F- 00077", "registered", "0614-050707-104-8")
    assert invoice.lines[1].per_beneficiary and len(invoice.lines[1].beneficiaries) == 3
    assert [x.budget_line.number for x in invoice.lines] == [2, 1, 3]
    assert events("invoice", invoice.id) == ["invoice.registered"]
    note = db.session.scalars(select(Notification).where(Notification.user_id == ctx["administrator"].id,
                                                         Notification.kind == "invoice.registered")).one()
    assert "F- 00077" in note.title


def test_a_per_beneficiary_line_without_quantity_bills_one_unit_per_enrollment(ctx):
    data = beneficiary_line(ctx, ["active", "never"], unit_price="45.50")
    del data["quantity"]
    invoice = register(ctx, [data])
    assert (invoice.lines[0].quantity, invoice.total) == (Decimal("2.00"), Decimal("91.00"))


def test_every_field_error_is_reported_together_and_nothing_is_stored(ctx):
    other = agreement_in_execution()
    stranger = enroll(other, ["stranger"])["stranger"]
    people = ctx["people"]
    errors = refused(ctx, invoice_data(ctx, number="", issue_date=(invoices.today() + timedelta(days=1)).isoformat(),
                                       period_start=iso("2026-01-15"), period_end=iso("2026-12-31"), lines=[
        line(budget_line=9),                                                                   # unknown line
        {**beneficiary_line(ctx, ["active", "never"]), "quantity": "3"},                       # 3 ≠ 2 enrollments
        {**beneficiary_line(ctx, ["active"]), "enrollment_ids": [people["active"].id] * 2, "quantity": "2"},
        {**beneficiary_line(ctx, ["active"]), "enrollment_ids": [stranger.id]},                # another agreement
        line(quantity="0", unit_price="1.999", description=""),
        line(enrollment_ids=[people["active"].id]),                                            # not per beneficiary
        line(quantity="0.01", unit_price="0.01"),                                              # rounds to 0.00
    ]))
    assert set(errors) == {
        "number", "issue_date", "period_start", "period_end", "lines.0.budget_line", "lines.1.enrollment_ids",
        "lines.2.enrollment_ids", "lines.3.enrollment_ids", "lines.4.quantity", "lines.4.unit_price",
        "lines.4.description", "lines.5.enrollment_ids", "lines.6.quantity"}
    assert "(3)" in str(errors["lines.1.enrollment_ids"][0]) and "(2)" in str(errors["lines.1.enrollment_ids"][0])
    assert str(stranger.id) in str(errors["lines.3.enrollment_ids"][0])
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert set(refused(ctx, invoice_data(ctx, lines=[]))) == {"lines"}


def test_the_period_must_be_ordered_and_inside_the_term(ctx):
    errors = refused(ctx, invoice_data(ctx, period_start=iso("2026-03-31"), period_end=iso("2026-03-01")))
    assert set(errors) == {"period_end"}
    # the whole term passes (billed before it ends: an advance invoice, never paid directly)
    register(ctx, period_start=iso("2026-02-01"), period_end=iso("2026-11-30"), advance_invoice=True)


def test_a_beneficiary_is_not_billed_twice_by_one_supplier_for_overlapping_days(ctx):
    first = register(ctx, [beneficiary_line(ctx, ["active", "late"])])  # March 2026, budget line 1
    errors = refused(ctx, invoice_data(ctx, [line(2), beneficiary_line(ctx, ["active", "inactive"])],
                                       period=(day("2026-03-20"), day("2026-04-10")), issue_date=iso("2026-04-11")))
    active = ctx["people"]["active"].id
    assert errors == {"lines.1.enrollment_ids": [
        f"Ya facturadas por este proveedor en la factura {first.number}, en la misma línea presupuestaria y un "
        f"período que se superpone: inscripciones {active}."]}
    # Another period, or another budget line, is another service: accepted.
    register(ctx, [beneficiary_line(ctx, ["active"])], period=(day("2026-04-01"), day("2026-04-30")),
             issue_date=iso("2026-05-01"))
    register(ctx, [beneficiary_line(ctx, ["active"], budget_line=2)])
    # A voided invoice no longer counts.
    invoices.void_invoice(act(ctx["ngo"]), first.id, "Factura emitida por error")
    register(ctx, [beneficiary_line(ctx, ["active", "late"])])


def test_only_a_validated_supplier_of_this_agreement_is_invoiced(ctx):
    proposed = suppliers.propose_supplier(act(ctx["ngo"]), ctx["agreement"].id, {
        "tax_id": "0614-010180-001-2", "legal_name": "Otro Proveedor", "address": "San Salvador",
        "bank_name": "Banco", "bank_account": "123", "items": [{"description": "x", "unit": "u", "unit_price": "1"}]})
    db.session.commit()
    errors = refused(ctx, invoice_data(ctx, supplier_id=proposed.id))
    assert "no está validado" in str(errors["supplier_id"][0])
    other = payments_setup(beneficiaries=False)
    assert set(refused(ctx, invoice_data(ctx, supplier_id=other["supplier"].id))) == {"supplier_id"}
    suppliers.validate_supplier(act(ctx["financial"]), proposed.id)
    db.session.commit()
    assert register(ctx, supplier_id=proposed.id).supplier_id == proposed.id


def test_the_number_is_unique_per_supplier_across_versions_and_case(ctx):
    register(ctx, number="A-100")
    assert "A-100" in str(refused(ctx, invoice_data(ctx, number="a-100"))["number"][0])
    # A new version of the supplier (new bank account, validated again) keeps its numbering.
    new = suppliers.update_supplier(act(ctx["ngo"]), ctx["supplier"].id, {"bank_account": "999-888"})
    suppliers.validate_supplier(act(ctx["financial"]), new.id)
    db.session.commit()
    assert set(refused(ctx, invoice_data(ctx, supplier_id=new.id, number="A-100"))) == {"number"}
    assert register(ctx, supplier_id=new.id, number="A-101").supplier_tax_id == "0614-050707-104-8"


def test_only_the_ngo_of_the_agreement_registers(ctx):
    stranger = make_user(["ngo"], organization=make_organization())
    with pytest.raises(NotFound):
        invoices.register_invoice(act(stranger), ctx["agreement"].id, invoice_data(ctx))
    for role in ("treasury", "financial", "administrator"):
        with pytest.raises(Forbidden):
            invoices.register_invoice(act(ctx[role]), ctx["agreement"].id, invoice_data(ctx))


def test_registration_needs_the_agreement_in_execution_or_suspended(ctx):
    agreements.suspend_agreement(act(ctx["legal"]), ctx["agreement"].id, "Incumplimiento")
    register(ctx)  # what was received before the suspension may be invoiced; paying it waits
    agreements.terminate_agreement(act(ctx["legal"]), ctx["agreement"].id, "Terminado")
    with pytest.raises(Conflict) as exc:
        invoices.register_invoice(act(ctx["ngo"]), ctx["agreement"].id, invoice_data(ctx))
    assert exc.value.code == "agreement_not_in_execution" and "Terminado" in str(exc.value.detail)


# --- receipt certificate ---------------------------------------------------------------------

def test_only_the_designated_administrator_certifies(ctx):
    invoice = register(ctx)
    another_administrator = make_user(["administrator"])
    for user in (another_administrator, ctx["ngo"], ctx["treasury"]):
        with pytest.raises(Forbidden):
            invoices.certify_receipt(act(user), invoice.id, {"received_on": iso("2026-04-03"), "conforming": True})
    certificate = invoices.certify_receipt(act(ctx["administrator"]), invoice.id,
                                           {"received_on": iso("2026-04-03"), "conforming": True})
    assert certificate.issued_by_id == ctx["administrator"].id and invoice.status == "certified"
    assert events("invoice", invoice.id) == ["invoice.registered", "invoice.certified"]
    with pytest.raises(Conflict) as exc:
        invoices.certify_receipt(act(ctx["administrator"]), invoice.id, {"received_on": iso("2026-04-03"),
                                                                          "conforming": True})
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize("data, field", [
    ({"received_on": iso("2026-04-03"), "conforming": False, "differences": "  "}, "differences"),
    ({"received_on": iso("2026-04-03"), "conforming": True, "differences": "faltó una caja"}, "differences"),
    ({"received_on": iso("2026-02-20"), "conforming": True}, "received_on"),       # before the period
    ({"received_on": "2999-01-01", "conforming": True}, "received_on"),       # future
    ({"received_on": iso("2026-04-03")}, "conforming"),
])
def test_certificate_field_rules(ctx, data, field):
    invoice = register(ctx)
    with pytest.raises(ValidationFailed) as exc:
        invoices.certify_receipt(act(ctx["administrator"]), invoice.id, data)
    assert set(exc.value.errors) == {field}


def test_a_certificate_with_differences_records_them_and_tells_the_ngo(ctx):
    invoice = certified(ctx, conforming=False, differences="Se recibieron 8 de 10 refrigerios.")
    assert invoice.certificate.conforming is False
    assert invoice.certificate.differences == "Se recibieron 8 de 10 refrigerios."
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == ctx["ngo"].id, Notification.kind == "invoice.differences")) == 1


# --- void ------------------------------------------------------------------------------------

def test_void_needs_a_reason_and_no_payment_in_progress(ctx):
    payment = prepared(ctx)
    with pytest.raises(Conflict) as exc:
        invoices.void_invoice(act(ctx["ngo"]), payment.invoice_id, "Error de digitación")
    assert exc.value.code == "payment_in_progress"
    payments.cancel_payment(act(ctx["treasury"]), payment.id, "La factura será anulada")
    with pytest.raises(ValidationFailed):
        invoices.void_invoice(act(ctx["ngo"]), payment.invoice_id, " ")
    with pytest.raises(Forbidden):
        invoices.void_invoice(act(ctx["treasury"]), payment.invoice_id, "x")
    invoice = invoices.void_invoice(act(ctx["financial"]), payment.invoice_id, "Error de digitación")
    assert (invoice.status, invoice.void_reason) == ("voided", "Error de digitación")
    assert events("invoice", invoice.id)[-1] == "invoice.voided"
    with pytest.raises(Conflict) as exc:
        invoices.void_invoice(act(ctx["ngo"]), invoice.id, "otra vez")
    assert exc.value.code == "invalid_transition"
    assert verify_chain(db.session).ok
