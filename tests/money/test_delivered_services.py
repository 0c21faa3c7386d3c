"""Pay only for what was delivered, to people active on those days (issue 10 §1, G10), pair by pair
around today: a period ending today or tomorrow, a certificate before or after the period's end, a
person inactivated between the certificate and the preparation, and between the preparation and the
authorization."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from grants.clock import today
from grants.extensions import db
from grants.models import Payment, ReceiptCertificate
from grants.services import enrollments, invoices, payments
from grants.domain_errors import Conflict, ValidationFailed
from tests.money.payment_helpers import act, beneficiary_line, enroll, invoice_data, line, payments_setup, register
from tests.timeline import day


def days(n: int):
    return today() + timedelta(days=n)


@pytest.fixture
def ctx(app):
    ctx = payments_setup(beneficiaries=False)
    ctx["people"] = enroll(ctx, ["ana", "beto"], enrolled_on=day("2026-02-01"), validated_on=day("2026-02-10"))
    for person in ctx["people"].values():
        enrollments.change_status(act(ctx["ngo"]), person.id, "active", day("2026-02-15"), "inicia")
    db.session.commit()
    return ctx


def period(first: int, last: int) -> dict:
    return {"period_start": days(first).isoformat(), "period_end": days(last).isoformat()}


def certify(ctx, invoice, on):
    invoices.certify_receipt(act(ctx["administrator"]), invoice.id,
                             {"received_on": on.isoformat(), "conforming": True, "differences": None})
    db.session.commit()


# --- the invoice bills what was delivered ------------------------------------------------------

def test_an_invoice_issued_today_may_bill_a_period_ending_today_not_tomorrow(ctx):
    issued = {"issue_date": today().isoformat()}
    assert register(ctx, **issued, **period(-6, 0)).period_end == today()
    with pytest.raises(ValidationFailed) as refused:
        invoices.register_invoice(act(ctx["ngo"]), ctx["agreement"].id,
                                  invoice_data(ctx, **issued, **period(-6, 1)))
    assert set(refused.value.errors) == {"period_end"}
    assert "factura anticipada" in str(refused.value.errors["period_end"][0])


def test_the_grace_after_the_issue_date_is_a_setting(ctx, app):
    app.config["INVOICE_SERVICE_AFTER_ISSUE_DAYS"] = 2
    try:
        invoice = register(ctx, issue_date=days(-5).isoformat(), **period(-10, -3))
        assert invoice.period_end == days(-3)
        with pytest.raises(ValidationFailed):
            invoices.register_invoice(act(ctx["ngo"]), ctx["agreement"].id,
                                      invoice_data(ctx, issue_date=days(-5).isoformat(), **period(-10, -2)))
    finally:
        app.config["INVOICE_SERVICE_AFTER_ISSUE_DAYS"] = 0


def test_an_advance_invoice_is_registered_and_never_paid_directly(ctx):
    invoice = register(ctx, issue_date=days(-10).isoformat(), advance_invoice=True, **period(-9, -1))
    assert invoice.advance_invoice is True
    certify(ctx, invoice, today())
    with pytest.raises(Conflict) as refused:
        payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    assert refused.value.code == "advance_invoice"


# --- the certificate comes when the service is over ----------------------------------------------

def test_a_period_ending_today_is_certified_today_not_yesterday(ctx):
    invoice = register(ctx, issue_date=today().isoformat(), **period(-6, 0))
    with pytest.raises(ValidationFailed) as refused:
        certify(ctx, invoice, days(-1))
    assert set(refused.value.errors) == {"received_on"}
    assert "termina el" in str(refused.value.errors["received_on"][0])
    db.session.rollback()
    certify(ctx, invoice, today())
    assert invoice.certificate.received_on == today()


def test_a_certificate_is_not_dated_in_the_future(ctx):
    invoice = register(ctx, issue_date=days(-1).isoformat(), **period(-6, -1))
    with pytest.raises(ValidationFailed) as refused:
        certify(ctx, invoice, days(1))
    assert set(refused.value.errors) == {"received_on"}


def test_an_older_certificate_inside_the_period_pays_no_day_that_had_not_happened(ctx):
    """A certificate recorded before the rule existed, dated inside the period: the people's units
    are deducted (their days were not over), the line that is not per person is paid."""
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"]), line(quantity="1", unit_price="50.00")],
                       issue_date=days(-1).isoformat(), **period(-10, -1))
    certify(ctx, invoice, days(-1))
    db.session.execute(update(ReceiptCertificate).where(ReceiptCertificate.invoice_id == invoice.id)
                       .values(received_on=days(-5)))
    db.session.commit()
    db.session.refresh(invoice)
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    assert (payment.invoiced_amount, payment.deducted_amount, payment.amount) == (290, 240, 50)
    assert {d.reason_code for d in payment.deductions} == {"days_not_over"}


# --- the list is read again at preparation and at authorization --------------------------------

def test_a_person_inactivated_between_certificate_and_preparation_is_deducted(ctx):
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"])], issue_date=days(-1).isoformat(),
                       **period(-20, -1))
    certify(ctx, invoice, today())
    before = payments.eligibility(invoice)
    assert before.deducted == 0
    enrollments.change_status(act(ctx["ngo"]), ctx["people"]["beto"].id, "inactive", days(-8),
                              "Dejó de asistir; se reporta con atraso")
    db.session.commit()
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    assert payment.amount == 120 and payment.deducted_amount == 120
    [deduction] = payment.deductions
    assert deduction.enrollment_id == ctx["people"]["beto"].id
    assert deduction.reason_code == "beneficiary_partly_active"


def test_authorization_is_refused_when_the_list_changed_since_preparation_and_shows_what(ctx):
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"])], issue_date=days(-1).isoformat(),
                       **period(-20, -1))
    certify(ctx, invoice, today())
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    db.session.commit()
    assert payment.amount == 240
    enrollments.change_status(act(ctx["ngo"]), ctx["people"]["ana"].id, "inactive", days(-15),
                              "Se mudó de municipio")
    db.session.commit()

    with pytest.raises(Conflict) as refused:
        payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    assert refused.value.code == "eligibility_changed"
    [message] = refused.value.errors["eligibility"]
    assert "Ana" in message and "era pagable" in message and "$120.00" in message
    db.session.rollback()
    assert db.session.get(Payment, payment.id).authorizations == []

    new = payments.reprepare_payment(act(ctx["treasury"]), payment.id)
    db.session.commit()
    old = db.session.get(Payment, payment.id)
    assert old.status == "cancelled" and "Ana" in old.cancel_reason
    assert (new.status, new.amount, new.deducted_amount) == ("prepared", 120, 120)
    assert payments.changes_since(new) == []
    payments.authorize_payment(act(ctx["treasury2"]), new.id)
    db.session.commit()
    assert new.status == "authorized"


def test_a_change_that_does_not_touch_the_period_does_not_stop_the_authorization(ctx):
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"])], issue_date=days(-6).isoformat(),
                       **period(-20, -6))
    certify(ctx, invoice, days(-5))
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    enrollments.change_status(act(ctx["ngo"]), ctx["people"]["ana"].id, "inactive", days(-2), "Terminó")
    db.session.commit()
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    db.session.commit()
    assert payment.status == "authorized" and payment.amount == 240


# --- status changes: past days with a reason, never the future -------------------------------

def test_a_status_change_on_a_past_day_needs_a_reason_and_none_is_in_the_future(ctx):
    ana = ctx["people"]["ana"]
    with pytest.raises(ValidationFailed) as refused:
        enrollments.change_status(act(ctx["ngo"]), ana.id, "inactive", days(-3), "  ")
    assert set(refused.value.errors) == {"reason"}
    with pytest.raises(ValidationFailed) as refused:
        enrollments.change_status(act(ctx["ngo"]), ana.id, "inactive", days(1), "Se va mañana")
    assert set(refused.value.errors) == {"effective_date"}
    enrollments.change_status(act(ctx["ngo"]), ana.id, "inactive", today(), None)  # today: no reason needed
    db.session.commit()
    assert ana.status == "inactive" and ana.periods[-1].valid_from == today()
