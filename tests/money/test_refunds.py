"""Refunds (reintegros): declared by the NGO (or treasury on its behalf) and counted once another
treasury officer confirms them (tests/money/test_refund_confirmation.py covers that step); never more
than outstanding; the advance closes when receipts plus confirmed refunds equal what was disbursed;
money coming back is accepted even while the agreement is suspended."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from grants.extensions import db
from grants.models import Advance, AuditEvent
from grants.services import agreements, expense_statements, ledger, refunds
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.money.advance_helpers import act, approved, disbursed, money_setup, refunded, row
from tests.timeline import iso


def refund(ctx, advance, amount, reference, user="ngo", day=iso("2026-06-20")):
    """Declared by ``user`` and confirmed by a treasury officer who did not declare it."""
    made = refunded(ctx, advance, amount, reference, user=user, day=day)
    db.session.refresh(advance)
    return made


def declare(ctx, advance, data, user="ngo"):
    return refunds.declare_refund(act(ctx[user]), advance.id, {"bank_name": "Banco Agrícola", **data})


def test_refund_closes_the_advance(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [row(amount="35000.00")])
    expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True, None)
    db.session.commit()
    first = refund(ctx, advance, "3000.00", "REI-001")
    assert (first.amount, advance.status, advance.outstanding) == (Decimal("3000.00"), "disbursed",
                                                                   Decimal("2000.00"))
    refund(ctx, advance, "2000.00", "REI-002", user="treasury")
    assert (advance.status, advance.refunded_amount, advance.outstanding) == (
        "liquidated", Decimal("5000.00"), Decimal("0.00"))
    figures = ledger.balances(ctx["agreement"])
    assert (figures.advanced, figures.liquidated, figures.refunded, figures.outstanding, figures.available) == (
        Decimal("40000.00"), Decimal("35000.00"), Decimal("5000.00"), Decimal("0.00"), Decimal("65000.00"))
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "advance", AuditEvent.entity_id == str(advance.id)).order_by(AuditEvent.seq)).all()
    assert actions[-5:] == ["advance.refund_declared", "advance.refund_confirmed", "advance.refund_declared",
                            "advance.refund_confirmed", "advance.liquidated"]
    with pytest.raises(Conflict) as refused:
        refund(ctx, advance, "0.01", "REI-003")
    assert refused.value.code == "advance_liquidated"


def test_refund_of_everything_liquidates_without_receipts(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    refund(ctx, advance, "40000.00", "REI-ALL")
    assert advance.status == "liquidated" and advance.liquidated_share == Decimal("100.00")


def test_refund_never_passes_the_outstanding_balance(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    refund(ctx, advance, "39000.00", "REI-1")
    with pytest.raises(Conflict) as refused:
        refund(ctx, advance, "1000.01", "REI-2")
    assert refused.value.code == "exceeds_outstanding"
    assert "1,000.00" in refused.value.detail
    db.session.rollback()
    assert db.session.get(Advance, advance.id).refunded_amount == Decimal("39000.00")
    assert ledger.balances(ctx["agreement"]).refunded == Decimal("39000.00")


def test_refund_fields_and_a_repeated_bank_reference(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    with pytest.raises(ValidationFailed) as refused:
        declare(ctx, advance, {"amount": "-5", "bank_reference": "", "refunded_on": "2999-01-01", "bank_name": ""})
    assert set(refused.value.errors) == {"amount", "bank_name", "bank_reference", "refunded_on"}
    with pytest.raises(ValidationFailed) as refused:
        declare(ctx, advance, {"amount": "5.00", "bank_reference": "R", "refunded_on": iso("2026-02-01")})
    assert set(refused.value.errors) == {"refunded_on"}  # before the transfer (2026-02-16)
    refund(ctx, advance, "10.00", "REI-9")
    with pytest.raises(ValidationFailed) as refused:
        refund(ctx, advance, "10.00", "REI-9")
    assert set(refused.value.errors) == {"bank_reference"}


def test_who_records_refunds(app):
    ctx = money_setup()
    other = money_setup()
    advance = disbursed(ctx)
    with pytest.raises(NotFound):
        refund(other, advance, "1.00", "R-1")
    with pytest.raises(Forbidden):
        refund(ctx, advance, "1.00", "R-1", user="financial")


def test_refund_before_disbursement_is_refused(app):
    ctx = money_setup()
    advance = approved(ctx)
    with pytest.raises(Conflict) as refused:
        refund(ctx, advance, "1.00", "R-1")
    assert refused.value.code == "advance_not_disbursed"


def test_refunds_are_accepted_while_suspended(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Irregularidades")
    db.session.commit()
    refund(ctx, advance, "40000.00", "REI-SUSP", user="treasury")
    assert advance.status == "liquidated"


def test_database_refuses_more_than_was_disbursed(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE advances SET refunded_amount = 40000.01 WHERE id = :id"),
                               {"id": advance.id})
    with pytest.raises(IntegrityError):  # liquidated_is_whole
        with db.session.begin_nested():
            db.session.execute(text("UPDATE advances SET status = 'liquidated' WHERE id = :id"), {"id": advance.id})
