"""Direct payments through the services: eligibility with exact amounts, every refusal with its
code, maker-checker authorization (one or two people), execution, cancellation, suspension."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import Notification, PaymentAuthorization
from grants.services import agreements, invoices, ledger, payments, suppliers
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.helpers import audit_actions
from tests.money.payment_helpers import (
    HISTORY,
    act,
    authorized,
    beneficiary_line,
    certified,
    executed,
    line,
    payments_setup,
    prepared,
    register,
)
from tests.timeline import day, dmy


@pytest.fixture
def ctx(app):
    return payments_setup()


events = audit_actions


def line_balance(ctx, number):
    return next(x for x in ledger.balances(ctx["agreement"]).lines if x.number == number)


def refusal(call, *args) -> Conflict:
    with pytest.raises(Conflict) as exc:
        call(*args)
    db.session.rollback()
    return exc.value


# --- eligibility -----------------------------------------------------------------------------

def test_units_of_beneficiaries_not_active_the_whole_period_are_deducted_with_their_reason(ctx):
    invoice = certified(ctx, [beneficiary_line(ctx, list(HISTORY), unit_price="120.00"), line(2, "2", "50.00")])
    result = payments.eligibility(invoice)
    assert (result.invoiced, result.deducted, result.payable) == (
        Decimal("700.00"), Decimal("480.00"), Decimal("220.00"))
    assert [(x.invoiced, x.deducted, x.payable) for x in result.lines] == [
        (Decimal("600.00"), Decimal("480.00"), Decimal("120.00")), (Decimal("100.00"), Decimal("0.00"),
                                                                    Decimal("100.00"))]
    people = ctx["people"]
    march = f"(del {dmy('2026-03-01')} al {dmy('2026-03-31')})."
    assert [(d.enrollment, d.units, d.amount, d.reason_code, d.reason) for d in result.deductions] == [
        (people["inactive"], 1, Decimal("120.00"), "beneficiary_partly_active",
         f"Inscripción «Inactiva» desde el {dmy('2026-03-10')}: no estuvo activa todo el período facturado {march}"),
        (people["late"], 1, Decimal("120.00"), "beneficiary_partly_active",
         f"Inscripción activa recién desde el {dmy('2026-03-05')}: no estuvo activa todo el período facturado "
         f"{march}"),
        (people["never"], 1, Decimal("120.00"), "beneficiary_not_active",
         f"Inscripción «Validada» desde el {dmy('2026-02-10')}: no estuvo activa en el período facturado {march}"),
        (people["withdrawn"], 1, Decimal("120.00"), "beneficiary_not_active",
         f"Inscripción «Retirada» desde el {dmy('2026-02-28')}: no estuvo activa en el período facturado {march}"),
    ]


def test_the_same_people_are_eligible_for_a_period_in_which_they_were_active(ctx):
    # 15–27 February: «inactive» and «withdrawn» were still active; «late» and «never» were not.
    invoice = certified(ctx, [beneficiary_line(ctx, list(HISTORY), unit_price="10.00")],
                        period=(day("2026-02-15"), day("2026-02-27")))
    result = payments.eligibility(invoice)
    assert {d.enrollment for d in result.deductions} == {ctx["people"]["late"], ctx["people"]["never"]}
    assert (result.payable, result.deducted) == (Decimal("30.00"), Decimal("20.00"))
    # The last day counts: a period ending on the day «inactive» left is not wholly active.
    until = payments.eligibility(certified(ctx, [beneficiary_line(ctx, ["inactive"])],
                                           period=(day("2026-03-01"), day("2026-03-10"))))
    assert [d.reason_code for d in until.deductions] == ["beneficiary_partly_active"]
    # (another budget line: the same person is not billed twice for the same days on one line)
    before = payments.eligibility(certified(ctx, [beneficiary_line(ctx, ["inactive"], budget_line=2)],
                                            period=(day("2026-03-01"), day("2026-03-09"))))
    assert before.deductions == () and before.payable == Decimal("120.00")


# --- prepare ---------------------------------------------------------------------------------

def test_preparing_pays_only_the_eligible_amount_and_reserves_it(ctx):
    invoice = certified(ctx, [beneficiary_line(ctx, list(HISTORY), unit_price="120.00"), line(2, "2", "50.00")])
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    db.session.commit()
    assert (payment.status, payment.invoiced_amount, payment.deducted_amount, payment.amount) == (
        "prepared", Decimal("700.00"), Decimal("480.00"), Decimal("220.00"))
    assert payment.required_authorizations == 1 and payment.supplier_id == ctx["supplier"].id
    assert [(x.invoiced, x.deducted, x.payable) for x in payment.lines] == [
        (Decimal("600.00"), Decimal("480.00"), Decimal("120.00")), (Decimal("100.00"), Decimal("0.00"),
                                                                    Decimal("100.00"))]
    assert sorted(d.reason_code for d in payment.deductions) == [
        "beneficiary_not_active", "beneficiary_not_active", "beneficiary_partly_active", "beneficiary_partly_active"]
    assert (line_balance(ctx, 1).committed, line_balance(ctx, 2).committed) == (Decimal("120.00"), Decimal("100.00"))
    assert ledger.balances(ctx["agreement"]).committed == Decimal("220.00")
    assert invoice.status == "certified"
    assert events("payment", payment.id) == ["payment.prepared"]
    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "payment.prepared")))
    assert ctx["treasury2"].id in notified and ctx["treasury"].id not in notified


@pytest.mark.parametrize("amount, required", [("25000.00", 1), ("25000.01", 2)])
def test_payments_above_the_threshold_need_two_authorizations(ctx, amount, required):
    assert prepared(ctx, [line(1, "1", amount)]).required_authorizations == required


def test_the_threshold_is_a_setting(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_DUAL_AUTHORIZATION_THRESHOLD", "100.00")
    assert prepared(ctx, [line(1, "1", "100.01")]).required_authorizations == 2


def test_each_refusal_has_its_code(ctx):
    treasury = act(ctx["treasury"])
    assert refusal(payments.prepare_payment, treasury, register(ctx).id).code == "invoice_not_certified"
    differences = certified(ctx, conforming=False, differences="Faltaron 2 unidades")
    assert refusal(payments.prepare_payment, treasury, differences.id).code == "receipt_with_differences"
    nothing = certified(ctx, [beneficiary_line(ctx, ["never", "withdrawn"])])
    problem = refusal(payments.prepare_payment, treasury, nothing.id)
    assert problem.code == "nothing_payable" and "$240.00" in str(problem.detail)
    too_much = certified(ctx, [line(3, "1", "14999.51")])
    problem = refusal(payments.prepare_payment, treasury, too_much.id)
    assert problem.code == "insufficient_balance" and "14,999.50" in str(problem.detail)
    payment = payments.prepare_payment(treasury, certified(ctx, [line(3, "1", "14999.50")]).id)  # to the cent
    assert refusal(payments.prepare_payment, treasury, payment.invoice_id).code == "payment_in_progress"
    paid = executed(ctx)
    assert refusal(payments.prepare_payment, treasury, paid.invoice_id).code == "invoice_already_paid"
    voided = certified(ctx)
    invoices.void_invoice(act(ctx["ngo"]), voided.id, "Duplicada")
    assert refusal(payments.prepare_payment, treasury, voided.id).code == "invoice_voided"
    for role in ("ngo", "administrator", "financial"):
        with pytest.raises(Forbidden):
            payments.prepare_payment(act(ctx[role]), voided.id)


def test_a_supplier_whose_bank_account_changed_is_paid_only_once_validated_again(ctx):
    invoice = certified(ctx)
    new = suppliers.update_supplier(act(ctx["ngo"]), ctx["supplier"].id, {"bank_account": "7777-1"})
    db.session.commit()
    problem = refusal(payments.prepare_payment, act(ctx["treasury"]), invoice.id)
    assert problem.code == "supplier_not_validated" and "Propuesto" in str(problem.detail)
    suppliers.validate_supplier(act(ctx["financial"]), new.id)
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    assert payment.supplier_id == new.id  # the validated version's account is the one paid


# --- authorize -------------------------------------------------------------------------------

def test_the_preparer_never_authorizes_and_another_person_does(ctx):
    payment = prepared(ctx)
    problem = refusal(payments.authorize_payment, act(ctx["treasury"]), payment.id)
    assert problem.code == "segregation_of_duties"
    with pytest.raises(Forbidden):
        payments.authorize_payment(act(ctx["administrator"]), payment.id)
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    db.session.commit()
    assert payment.status == "authorized" and payment.authorized_at is not None
    assert [a.user_id for a in payment.authorizations] == [ctx["treasury2"].id]
    assert events("payment", payment.id) == ["payment.prepared", "payment.authorized"]
    assert refusal(payments.authorize_payment, act(ctx["treasury3"]), payment.id).code == "invalid_transition"


def test_the_database_refuses_an_authorization_by_the_preparer(ctx):
    payment = prepared(ctx)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(PaymentAuthorization(payment_id=payment.id, user_id=ctx["treasury"].id,
                                                preparer_id=ctx["treasury"].id))
            db.session.flush()


def test_two_different_people_authorize_a_large_payment(ctx):
    payment = prepared(ctx, [line(1, "1", "30000.00")])
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    db.session.commit()
    assert payment.status == "prepared" and len(payment.authorizations) == 1
    assert refusal(payments.authorize_payment, act(ctx["treasury2"]), payment.id).code == "already_authorized"
    payments.authorize_payment(act(ctx["treasury3"]), payment.id)
    assert payment.status == "authorized"
    assert {a.user_id for a in payment.authorizations} == {ctx["treasury2"].id, ctx["treasury3"].id}
    assert events("payment", payment.id) == ["payment.prepared", "payment.authorization_recorded",
                                             "payment.authorized"]


# --- execute ---------------------------------------------------------------------------------

def test_execution_records_the_transfer_and_pays_the_ledger(ctx):
    payment = authorized(ctx, [line(1, "3", "1000.00"), line(3, "1", "0.50")])
    assert refusal(payments.execute_payment, act(ctx["treasury"]), prepared(ctx).id, "R", invoices.today()).code \
        == "invalid_transition"
    day = invoices.today()
    payments.execute_payment(act(ctx["treasury"]), payment.id, "  TRF 2026  0042 ", day.isoformat())
    db.session.commit()
    assert (payment.status, payment.bank_reference, payment.transfer_date) == ("executed", "TRF 2026 0042", day)
    assert payment.executed_by_id == ctx["treasury"].id and payment.invoice.status == "paid"
    assert (line_balance(ctx, 1).committed, line_balance(ctx, 1).paid) == (Decimal("100.00"), Decimal("3000.00"))
    assert line_balance(ctx, 3).paid == Decimal("0.50")
    totals = ledger.balances(ctx["agreement"])
    assert (totals.paid_directly, totals.committed) == (Decimal("3000.50"), Decimal("100.00"))
    assert events("payment", payment.id)[-1] == "payment.executed"
    assert events("invoice", payment.invoice_id)[-1] == "invoice.paid"
    assert refusal(payments.execute_payment, act(ctx["treasury"]), payment.id, "R", day).code == "invalid_transition"
    assert verify_chain(db.session).ok


@pytest.mark.parametrize("reference, when, field", [
    ("", 0, "bank_reference"), ("R" * 61, 0, "bank_reference"),
    ("TRF-1", 1, "transfer_date"),      # tomorrow
    ("TRF-1", -1, "transfer_date"),     # before the authorization (today)
    ("TRF-1", None, "transfer_date"),
])
def test_execution_field_rules(ctx, reference, when, field):
    payment = authorized(ctx)
    day = None if when is None else invoices.today() + timedelta(days=when)
    with pytest.raises(ValidationFailed) as exc:
        payments.execute_payment(act(ctx["treasury"]), payment.id, reference, day)
    assert set(exc.value.errors) == {field}


def test_a_supplier_changed_after_authorization_is_not_paid(ctx):
    payment = authorized(ctx)
    suppliers.update_supplier(act(ctx["ngo"]), ctx["supplier"].id, {"bank_name": "Banco Cuscatlán"})
    db.session.commit()
    problem = refusal(payments.execute_payment, act(ctx["treasury"]), payment.id, "R-1", invoices.today())
    assert problem.code == "supplier_not_validated"


# --- cancel ----------------------------------------------------------------------------------

def test_cancelling_releases_the_reservation_and_the_invoice_can_be_paid_again(ctx):
    payment = authorized(ctx, [line(2, "1", "500.00")])
    with pytest.raises(ValidationFailed):
        payments.cancel_payment(act(ctx["treasury3"]), payment.id, "")
    payments.cancel_payment(act(ctx["treasury3"]), payment.id, "Error en la cuenta")
    db.session.commit()
    assert (payment.status, payment.cancel_reason, payment.cancelled_by_id) == (
        "cancelled", "Error en la cuenta", ctx["treasury3"].id)
    assert line_balance(ctx, 2).committed == Decimal("0.00") and ledger.balances(ctx["agreement"]).committed == 0
    again = payments.prepare_payment(act(ctx["treasury2"]), payment.invoice_id)
    assert again.id != payment.id and line_balance(ctx, 2).committed == Decimal("500.00")
    assert refusal(payments.cancel_payment, act(ctx["treasury"]), executed(ctx).id, "tarde").code \
        == "invalid_transition"


# --- suspension ------------------------------------------------------------------------------

def test_suspension_blocks_new_payments_at_once_and_resumption_lets_them_go(ctx):
    waiting = authorized(ctx)
    to_authorize = prepared(ctx)
    invoice = certified(ctx)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Informe atrasado")
    db.session.commit()
    for problem in (refusal(payments.prepare_payment, act(ctx["treasury"]), invoice.id),
                    refusal(payments.authorize_payment, act(ctx["treasury2"]), to_authorize.id),
                    refusal(payments.execute_payment, act(ctx["treasury"]), waiting.id, "R", invoices.today())):
        assert problem.code == "agreement_not_in_execution" and "Suspendido" in str(problem.detail)
    agreements.resume_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Informe entregado")
    payments.execute_payment(act(ctx["treasury"]), waiting.id, "R-9", invoices.today())
    assert waiting.status == "executed"


def test_a_terminated_agreement_pays_nothing_but_its_payments_can_be_cancelled(ctx):
    waiting = authorized(ctx, [line(1, "1", "700.00")])
    agreements.terminate_agreement(act(ctx["legal"]), ctx["agreement"].id, "Incumplimiento grave")
    db.session.commit()
    problem = refusal(payments.execute_payment, act(ctx["treasury"]), waiting.id, "R", invoices.today())
    assert problem.code == "agreement_not_in_execution" and "Terminado" in str(problem.detail)
    payments.cancel_payment(act(ctx["treasury"]), waiting.id, "Convenio terminado")
    assert ledger.balances(ctx["agreement"]).committed == Decimal("0.00")
