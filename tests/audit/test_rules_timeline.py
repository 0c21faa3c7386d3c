"""The liquidation checks on the time axis (issue 10 §3 and §4), each with data that triggers it and
data that does not. Where the services rightly refuse a state, a plain SQL update simulates it (as
something outside the services would: each use says so)."""
import dataclasses
from datetime import timedelta

import pytest

from grants.clock import today
from grants.extensions import db
from grants.models import Agreement, Payment, Receipt, ReceiptCertificate
from grants.services import audit_checks, enrollments, invoices, payments, refunds
from tests.audit import rule_helpers as rh
from tests.money.advance_helpers import money_setup, row
from tests.money.payment_helpers import act, beneficiary_line, enroll, payments_setup, register
from tests.money.timeline_advances import declared, disbursed_on
from tests.timeline import day


def days(n: int):
    return today() + timedelta(days=n)


@pytest.fixture
def paid(app):
    """An executed payment (transferred today) of a period that ended yesterday, for ana and beto."""
    ctx = payments_setup(beneficiaries=False)
    ctx["people"] = enroll(ctx, ["ana", "beto"])
    for person in ctx["people"].values():
        enrollments.change_status(act(ctx["ngo"]), person.id, "active", day("2026-02-15"), "inicia")
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"])], issue_date=days(-1).isoformat(),
                       period_start=days(-20).isoformat(), period_end=days(-1).isoformat())
    invoices.certify_receipt(act(ctx["administrator"]), invoice.id,
                             {"received_on": today().isoformat(), "conforming": True, "differences": None})
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    payments.execute_payment(act(ctx["treasury"]), payment.id, "TRF-T-1", today())
    db.session.commit()
    ctx["invoice"], ctx["payment"] = invoice, payment
    return ctx


def test_receipt_before_disbursement_beyond_the_pre_financing_days(app):
    ctx = money_setup()
    rh.simulate(Agreement, Agreement.id == ctx["agreement"].id, prefinancing_days=10)
    advance = disbursed_on(ctx, day("2026-03-02"))
    from grants.services import expense_statements

    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [
        row(issue_date=day("2026-02-25").isoformat()), row(issue_date=day("2026-03-05").isoformat())])
    db.session.commit()
    assert rh.find("receipt_before_disbursement") == []  # 5 days before: inside the clause
    early = statement.receipts[1]
    # SIMULATION: a receipt dated 15 days before the transfer (the service refuses it since issue 10)
    rh.simulate(Receipt, Receipt.id == early.id, issue_date=day("2026-02-15"))
    [found] = rh.find("receipt_before_disbursement")
    assert (found.entity_type, found.entity_id, found.evidence["days_before"]) == ("receipt", str(early.id), 15)
    assert "permite 10 de prefinanciamiento" in found.summary


def test_certificate_before_the_end_of_the_service(paid):
    assert rh.find("certificate_before_service_end") == []
    # SIMULATION: an acta dated before the period ended (refused by the service since issue 10)
    rh.simulate(ReceiptCertificate, ReceiptCertificate.invoice_id == paid["invoice"].id, received_on=days(-5))
    [found] = rh.find("certificate_before_service_end")
    assert (found.entity_type, found.entity_id, found.evidence["days_early"]) == (
        "invoice", str(paid["invoice"].id), 4)


def test_payment_executed_before_its_certificate(paid):
    assert rh.find("payment_before_certificate") == []
    # SIMULATION: the transfer dated before the acta
    rh.simulate(Payment, Payment.id == paid["payment"].id, transfer_date=days(-3))
    [found] = rh.find("payment_before_certificate")
    assert found.entity_id == str(paid["payment"].id) and found.amount == 240


def test_a_back_dated_change_inside_the_paid_period_is_found_one_after_it_is_not(paid):
    people = paid["people"]
    enrollments.change_status(act(paid["ngo"]), people["beto"].id, "inactive", today(), "Terminó")
    db.session.commit()
    assert rh.find("payment_basis_changed") == []  # effective after the paid period
    enrollments.change_status(act(paid["ngo"]), people["ana"].id, "inactive", days(-10), "Se informa tarde")
    db.session.commit()
    [found] = rh.find("payment_basis_changed")
    assert found.entity_id == str(paid["payment"].id) and found.amount == 120
    assert [c["enrollment_id"] for c in found.evidence["changes"]] == [people["ana"].id]


def test_a_change_on_the_last_paid_day_recorded_after_a_same_day_payment_is_found(app):
    """The period ends today, is certified and paid today; later today a person leaves with effect
    today: the payment paid today for someone who was not active today."""
    ctx = payments_setup(beneficiaries=False)
    people = ctx["people"] = enroll(ctx, ["ana", "beto"])
    for person in people.values():
        enrollments.change_status(act(ctx["ngo"]), person.id, "active", day("2026-02-15"), "inicia")
    invoice = register(ctx, [beneficiary_line(ctx, ["ana", "beto"])], issue_date=today().isoformat(),
                       period_start=days(-9).isoformat(), period_end=today().isoformat())
    invoices.certify_receipt(act(ctx["administrator"]), invoice.id,
                             {"received_on": today().isoformat(), "conforming": True, "differences": None})
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    payments.execute_payment(act(ctx["treasury"]), payment.id, "TRF-T-2", today())
    db.session.commit()
    assert rh.find("payment_basis_changed") == []
    enrollments.change_status(act(ctx["ngo"]), people["beto"].id, "inactive", today(), "Se retiró hoy")
    db.session.commit()
    [found] = rh.find("payment_basis_changed")
    assert found.entity_id == str(payment.id)
    assert [c["enrollment_id"] for c in found.evidence["changes"]] == [people["beto"].id]


def test_a_declared_refund_waiting_too_long_for_treasury(app):
    ctx = money_setup()
    advance = disbursed_on(ctx, day("2026-03-02"))
    waiting = declared(ctx, advance, "100.00")
    decided = declared(ctx, advance, "50.00")
    refunds.confirm_refund(act(ctx["treasury"]), decided.id)
    db.session.commit()
    settings = audit_checks.settings_for(None)
    later = dataclasses.replace(settings, now=settings.now + timedelta(days=settings.deposit_confirmation_days + 1))
    from grants.audit.rules import RULES_BY_CODE, Scope

    assert list(RULES_BY_CODE["deposit_unconfirmed"].find(db.session, Scope(), settings)) == []  # declared today
    [found] = RULES_BY_CODE["deposit_unconfirmed"].find(db.session, Scope(), later)
    assert (found.entity_type, found.entity_id) == ("refund", str(waiting.id))
    assert found.evidence["days_waiting"] == settings.deposit_confirmation_days + 1
