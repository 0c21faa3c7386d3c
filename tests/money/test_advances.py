"""Advances: request → approve → prepare → disburse, the liquidation gate, the agreement ceiling,
suspension, segregation of duties (service and database), one live advance per tranche."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from grants.clock import today
from grants.extensions import db
from grants.models import Advance, AuditEvent, Notification
from grants.services import advances, agreements, expense_statements, ledger, payments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import make_user
from tests.money.advance_helpers import (
    act,
    approved,
    disbursed,
    money_setup,
    prepared,
    refunded,
    requested,
    row,
    set_threshold,
)
from tests.money.payment_helpers import line as payment_line
from tests.money.payment_helpers import payments_setup
from tests.money.payment_helpers import prepared as payment_prepared
from tests.timeline import day, iso


def events(advance_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "advance", AuditEvent.entity_id == str(advance_id)).order_by(AuditEvent.seq)))


def test_request_takes_the_tranche_amount_and_period(app):
    ctx = money_setup()
    first = requested(ctx, 1)
    assert (first.status, first.amount, first.tranche_number) == ("requested", Decimal("40000.00"), 1)
    assert (first.period_start, first.period_end) == (day("2026-02-15"), day("2026-06-14"))
    assert first.liquidation_due == day("2026-07-14")  # period end + ADVANCE_LIQUIDATION_DAYS (30)
    assert first.organization_id == ctx["organization"].id
    assert events(first.id) == ["advance.requested"]
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == ctx["financial"].id)).all()
    assert any("desembolso 1" in t for t in titles)


def test_the_last_tranche_runs_to_the_end_of_the_agreement(app):
    ctx = money_setup(ages=(14, 29))
    agreement = ctx["agreement"]
    tranche = sorted(agreement.plan_version.tranches, key=lambda t: t.number)[2]
    assert advances.period_of(agreement, tranche)[:2] == (day("2026-09-15"), day("2026-11-30"))


def test_only_the_agreements_ngo_requests(app):
    ctx = money_setup()
    other = money_setup()
    with pytest.raises(NotFound):
        advances.request_advance(act(other["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
    with pytest.raises(Forbidden):
        advances.request_advance(act(ctx["financial"]), ctx["agreement"].id, {"tranche_number": 1})


def test_unknown_tranche_is_a_field_error(app):
    ctx = money_setup()
    with pytest.raises(ValidationFailed) as refused:
        advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 7})
    assert "tranche_number" in refused.value.errors


def test_one_live_advance_per_tranche(app):
    ctx = money_setup()
    first = requested(ctx, 1)
    with pytest.raises(Conflict) as refused:
        requested(ctx, 1)
    assert refused.value.code == "advance_exists"
    advances.reject_advance(act(ctx["financial"]), first.id, "Falta el plan de compras")
    db.session.commit()
    again = requested(ctx, 1)  # a rejected advance does not block the tranche
    assert again.status == "requested"


def test_a_second_live_advance_may_take_only_what_is_left_of_the_tranche(app):
    """Since issue 10 a tranche may be advanced in parts (the rest of it stays available): the live
    advances of a tranche never add up to more than it — the request is serialized on the tranche's
    row and the sum is checked (tests/money/test_advance_dates.py has the race)."""
    ctx = money_setup()
    first = requested(ctx, 1)
    assert first.amount == Decimal("40000.00")
    with pytest.raises(Conflict) as refused:
        advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1, "amount": "0.01"})
    assert refused.value.code == "advance_exists"


def test_tranches_are_requested_in_order(app):
    ctx = money_setup()
    with pytest.raises(Conflict) as refused:
        requested(ctx, 2)
    assert refused.value.code == "earlier_tranche_first"


def test_liquidation_gate(app):
    """The next advance waits until the earlier one is accounted for up to the threshold (100 %)."""
    ctx = money_setup()
    first = disbursed(ctx, 1)
    with pytest.raises(Conflict) as refused:
        requested(ctx, 2)
    assert refused.value.code == "liquidation_gate"
    assert "0.00 %" in refused.value.detail and "100.00 %" in refused.value.detail

    # Receipts for 30,000 accepted and 9,000 refunded: 97.50 % — still below.
    statement = expense_statements.submit_statement(act(ctx["ngo"]), first.id, [
        row(amount="20000.00"), row(amount="10000.00", budget_line=2)])
    for receipt in statement.receipts:
        expense_statements.decide_receipt(act(ctx["financial"]), receipt.id, True, None)
    refunded(ctx, first, "9000.00", "REI-1", day=iso("2026-06-20"))
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        requested(ctx, 2)
    assert refused.value.code == "liquidation_gate" and "97.50 %" in refused.value.detail

    refunded(ctx, first, "1000.00", "REI-2", day=iso("2026-06-21"))
    db.session.commit()
    assert first.status == "liquidated"
    second = requested(ctx, 2)
    assert second.status == "requested"


def test_threshold_below_100_lets_the_next_advance_through(app):
    ctx = money_setup()
    set_threshold(ctx, "75.00")
    first = disbursed(ctx, 1)
    statement = expense_statements.submit_statement(act(ctx["ngo"]), first.id, [row(amount="29999.99")])
    expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True, None)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        requested(ctx, 2)  # 74.99 %
    assert refused.value.code == "liquidation_gate"
    refunded(ctx, first, "0.01", "R-1", day=iso("2026-03-01"))
    db.session.commit()
    assert requested(ctx, 2).status == "requested"  # exactly 75.00 %


def test_gate_is_checked_again_at_approval_and_disbursement(app):
    ctx = money_setup()
    set_threshold(ctx, "50.00")
    first = disbursed(ctx, 1)
    refunded(ctx, first, "20000.00", "R-1", day=iso("2026-03-01"))
    db.session.commit()
    second = requested(ctx, 2)
    set_threshold(ctx, "60.00")  # raised after the request
    with pytest.raises(Conflict) as refused:
        advances.approve_advance(act(ctx["financial"]), second.id)
    assert refused.value.code == "liquidation_gate"
    assert db.session.get(Advance, second.id).status == "requested"


def test_approval_reserves_and_disbursement_transfers(app):
    ctx = money_setup()
    advance = approved(ctx, 1)
    figures = ledger.balances(ctx["agreement"])
    assert (figures.committed, figures.advanced, figures.available) == (
        Decimal("40000.00"), Decimal("0.00"), Decimal("60000.00"))
    assert advance.reviewed_by_id == ctx["financial"].id
    advances.prepare_disbursement(act(ctx["treasury"]), advance.id)  # today
    advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-0001", today())
    db.session.commit()
    figures = ledger.balances(ctx["agreement"])
    assert (figures.committed, figures.advanced, figures.outstanding) == (
        Decimal("0.00"), Decimal("40000.00"), Decimal("40000.00"))
    assert (advance.status, advance.bank_reference, advance.disbursed_by_id) == (
        "disbursed", "TRF-0001", ctx["treasury2"].id)
    assert advance.outstanding == Decimal("40000.00")
    assert events(advance.id) == ["advance.requested", "advance.approved", "advance.disbursement_prepared",
                                  "advance.disbursed"]


def test_agreement_ceiling(app):
    """Transfers never pass the agreement: a direct payment of 60,000.01 is reserved, so the
    first advance (40,000.00) no longer fits under the 100,000.00."""
    ctx = payments_setup(beneficiaries=False)
    payment = payment_prepared(ctx, [payment_line(1, unit_price="50000.00"), payment_line(2, unit_price="10000.01")])
    assert payment.amount == Decimal("60000.01")
    advance = requested(ctx, 1)
    with pytest.raises(Conflict) as refused:
        advances.approve_advance(act(ctx["financial"]), advance.id)
    assert refused.value.code == "agreement_ceiling"
    assert "39,999.99" in refused.value.detail and "40,000.00" in refused.value.detail
    db.session.rollback()
    assert db.session.get(Advance, advance.id).status == "requested"
    assert ledger.balances(ctx["agreement"]).committed == Decimal("60000.01")
    payments.cancel_payment(act(ctx["treasury"]), payment.id, "Factura duplicada")
    db.session.commit()
    assert advances.approve_advance(act(ctx["financial"]), advance.id).status == "approved"


def test_reviewer_segregation_and_reject_needs_a_reason(app):
    ctx = money_setup()
    advance = requested(ctx, 1)
    with pytest.raises(Forbidden):
        advances.approve_advance(act(ctx["ngo"]), advance.id)
    with pytest.raises(Forbidden):
        advances.approve_advance(act(ctx["treasury"]), advance.id)
    with pytest.raises(ValidationFailed) as refused:
        advances.reject_advance(act(ctx["financial"]), advance.id, "  ")
    assert "reason" in refused.value.errors
    rejected = advances.reject_advance(act(ctx["financial"]), advance.id, "Sin plan de compras")
    assert (rejected.status, rejected.rejection_reason) == ("rejected", "Sin plan de compras")
    with pytest.raises(Conflict) as refused:
        advances.approve_advance(act(ctx["financial"]), advance.id)
    assert refused.value.code == "invalid_transition"


def test_preparer_cannot_disburse(app):
    ctx = money_setup()
    advance = prepared(ctx, 1)
    with pytest.raises(Conflict) as refused:
        advances.disburse_advance(act(ctx["treasury"]), advance.id, "TRF-1", day("2026-02-16"))
    assert refused.value.code == "segregation_of_duties"
    assert db.session.get(Advance, advance.id).status == "prepared"
    assert ledger.balances(ctx["agreement"]).advanced == Decimal("0.00")
    advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-1", day("2026-02-16"))
    assert advance.status == "disbursed"


def test_database_refuses_a_disburser_who_prepared(app):
    ctx = money_setup()
    advance = disbursed(ctx, 1)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE advances SET disbursed_by_id = prepared_by_id WHERE id = :id"),
                               {"id": advance.id})


def test_disbursement_needs_bank_reference_and_a_past_date(app):
    ctx = money_setup()
    advance = prepared(ctx, 1)
    with pytest.raises(ValidationFailed) as refused:
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, "", date(2999, 1, 1))
    assert set(refused.value.errors) == {"bank_reference", "transfer_date"}
    with pytest.raises(Forbidden):
        advances.disburse_advance(act(ctx["financial"]), advance.id, "TRF-1", day("2026-02-16"))


def test_suspension_blocks_new_advances_at_once(app):
    ctx = money_setup()
    advance = prepared(ctx, 1)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Informe atrasado")
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-1", day("2026-02-16"))
    assert refused.value.code == "agreement_not_in_execution"
    assert "Suspendido" in refused.value.detail
    with pytest.raises(Conflict) as refused:
        requested(ctx, 2)
    assert refused.value.code == "agreement_not_in_execution"
    agreements.resume_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Informe recibido")
    db.session.commit()
    advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-1", day("2026-02-16"))
    assert advance.status == "disbursed"


def test_suspension_blocks_approval_and_preparation(app):
    ctx = money_setup()
    first = requested(ctx, 1)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Auditoría")
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        advances.approve_advance(act(ctx["financial"]), first.id)
    assert refused.value.code == "agreement_not_in_execution"
    agreements.resume_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Fin de auditoría")
    advances.approve_advance(act(ctx["financial"]), first.id)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Auditoría 2")
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        advances.prepare_disbursement(act(ctx["treasury"]), first.id)
    assert refused.value.code == "agreement_not_in_execution"


def test_treasury_of_a_ngo_role_cannot_prepare(app):
    ctx = money_setup()
    advance = approved(ctx, 1)
    with pytest.raises(Forbidden):
        advances.prepare_disbursement(act(ctx["ngo"]), advance.id)
    with pytest.raises(Conflict) as refused:
        advances.disburse_advance(act(make_user(["treasury"])), advance.id, "TRF-1", day("2026-02-16"))
    assert refused.value.code == "invalid_transition"  # approved, not yet prepared
