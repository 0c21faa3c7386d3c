"""The ledger: conditional movements never pass a limit, cents compare exactly on both databases,
and the invariants check notices a balance that does not match its transactions."""
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from grants.extensions import db
from grants.models import AgreementBalance, BudgetLineBalance
from grants.services import idempotency, ledger
from grants.services.idempotency import KeyInvalid, KeyRequired, KeyReused
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_user


def _line(agreement, number):
    return db.session.execute(select(BudgetLineBalance).where(
        BudgetLineBalance.agreement_id == agreement.id, BudgetLineBalance.number == number)
        .execution_options(populate_existing=True)).scalar_one()


def test_starting_execution_opens_the_ledger_with_the_plans_figures(app):
    agreement = agreement_in_execution()["agreement"]
    head = db.session.get(AgreementBalance, agreement.id)
    assert head.amount == Decimal("100000.00") and head.available == Decimal("100000.00")
    lines = {n: _line(agreement, n).approved for n in (1, 2, 3)}
    assert lines == {1: Decimal("60000.00"), 2: Decimal("25000.50"), 3: Decimal("14999.50")}
    balances = ledger.balances(agreement)
    assert balances.assigned == Decimal("100000.00") and balances.available == Decimal("100000.00")
    assert [(b.number, b.available) for b in balances.lines] == [
        (1, Decimal("60000.00")), (2, Decimal("25000.50")), (3, Decimal("14999.50"))]


def test_a_line_is_filled_to_the_cent_and_not_one_cent_more(app):
    agreement = agreement_in_execution()["agreement"]
    line = _line(agreement, 3)
    # Ten cents and twenty cents are 0.30 exactly on SQLite's floating NUMERIC too.
    ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("14999.10"))
    ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("0.10"))
    ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("0.20"))
    ledger.liquidate_line(agreement.id, line.budget_line_id, Decimal("0.10"))
    assert _line(agreement, 3).available == Decimal("0.00")
    with pytest.raises(ledger.NoRoom) as refused:
        ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("0.01"))
    assert "3" in str(refused.value.detail) and "0.00" in str(refused.value.detail)
    assert _line(agreement, 3).committed == Decimal("14999.40")
    ledger.release_line(agreement.id, line.budget_line_id, Decimal("14999.40"))
    ledger.liquidate_line(agreement.id, line.budget_line_id, Decimal("-0.10"))  # undo for the invariants check
    assert _line(agreement, 3).available == Decimal("14999.50")


def test_many_settlements_of_awkward_cents_leave_nothing_below_zero(app):
    """Amounts that are not exact in binary (SQLite keeps NUMERIC as a float): reserving and settling
    them one by one empties the commitment to exactly zero and fills the line to the cent; before
    each move was rounded in the database, the last settlement broke the not-negative CHECK."""
    agreement = agreement_in_execution()["agreement"]
    line = _line(agreement, 2)  # 25000.50 approved
    moves = [Decimal("1234.56"), Decimal("0.01"), Decimal("999.99"), Decimal("310.33"), Decimal("0.07"),
             Decimal("22455.54")]
    assert sum(moves) == line.approved
    for amount in moves:
        ledger.reserve(agreement.id, amount)
        ledger.reserve_line(agreement.id, line.budget_line_id, amount)
    for amount in moves:
        ledger.settle_line(agreement.id, line.budget_line_id, amount)
        ledger.record_payment(agreement.id, amount)
    after = _line(agreement, 2)
    assert (after.committed, after.paid, after.available) == (Decimal("0.00"), Decimal("25000.50"), Decimal("0.00"))
    head = db.session.get(AgreementBalance, agreement.id, populate_existing=True)
    assert (head.committed, head.paid) == (Decimal("0.00"), Decimal("25000.50"))
    with pytest.raises(ledger.NoRoom):
        ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("0.01"))
    # no payment stands behind these moves: put the balances back for the invariants check
    db.session.execute(update(BudgetLineBalance).where(BudgetLineBalance.budget_line_id == line.budget_line_id)
                       .values(paid=0))
    db.session.execute(update(AgreementBalance).where(AgreementBalance.agreement_id == agreement.id).values(paid=0))


def test_releasing_more_than_was_committed_is_refused(app):
    agreement = agreement_in_execution()["agreement"]
    line = _line(agreement, 1)
    ledger.reserve_line(agreement.id, line.budget_line_id, Decimal("10.00"))
    with pytest.raises(ledger.NoRoom):
        ledger.release_line(agreement.id, line.budget_line_id, Decimal("10.01"))
    ledger.settle_line(agreement.id, line.budget_line_id, Decimal("10.00"))
    row = _line(agreement, 1)
    assert (row.committed, row.paid) == (Decimal("0.00"), Decimal("10.00"))
    db.session.execute(update(BudgetLineBalance).where(BudgetLineBalance.id == row.id).values(paid=0))


def test_the_agreement_ceiling_counts_commitments_and_transfers_minus_refunds(app):
    agreement = agreement_in_execution()["agreement"]
    ledger.reserve(agreement.id, Decimal("60000.00"))
    ledger.record_advance(agreement.id, Decimal("60000.00"))
    with pytest.raises(ledger.NoRoom) as refused:
        ledger.reserve(agreement.id, Decimal("40000.01"))
    assert refused.value.code == "agreement_ceiling"
    ledger.record_refund(agreement.id, Decimal("0.01"))
    ledger.reserve(agreement.id, Decimal("40000.01"))  # the refunded cent is room again
    with pytest.raises(ledger.NoRoom):
        ledger.record_refund(agreement.id, Decimal("60000.00"))  # more than advanced
    head = db.session.get(AgreementBalance, agreement.id, populate_existing=True)
    assert head.available == Decimal("0.00")
    db.session.execute(update(AgreementBalance).where(AgreementBalance.agreement_id == agreement.id)
                       .values(committed=0, advanced=0, refunded=0))


def test_an_agreement_without_a_ledger_has_no_room(app):
    with pytest.raises(ledger.NoRoom) as refused:
        ledger.reserve(987654, Decimal("1.00"))
    assert refused.value.code == "ledger_not_open"


def test_the_invariants_check_names_a_balance_that_does_not_match_its_transactions(app):
    agreement = agreement_in_execution()["agreement"]
    assert ledger.check_invariants(agreement.id) == []
    db.session.execute(update(BudgetLineBalance).where(
        BudgetLineBalance.agreement_id == agreement.id, BudgetLineBalance.number == 2).values(paid=Decimal("5.00")))
    db.session.execute(update(AgreementBalance).where(AgreementBalance.agreement_id == agreement.id)
                       .values(advanced=Decimal("7.00")))
    problems = ledger.check_invariants(agreement.id)
    assert f"agreement {agreement.id} line 2: paid 5.00 != transactions 0.00" in problems
    assert f"agreement {agreement.id}: advanced 7.00 != transactions 0.00" in problems
    db.session.execute(update(BudgetLineBalance).where(BudgetLineBalance.agreement_id == agreement.id).values(paid=0))
    db.session.execute(update(AgreementBalance).where(AgreementBalance.agreement_id == agreement.id).values(advanced=0))
    assert ledger.check_invariants(agreement.id) == []


# --- idempotency keys (the service; the HTTP behaviour is tested with the money endpoints) -------

def test_a_key_is_replayed_for_the_same_request_and_refused_for_another(app):
    user, other = make_user(["treasury"]), make_user(["treasury"])
    first = idempotency.claim(user.id, "key-000001", "POST /x", {"a": "1", "b": [1, 2]})
    assert first.replay is None
    idempotency.remember(first, 201, "application/json", b'{"id": 7}', "/x/7")
    again = idempotency.claim(user.id, "key-000001", "POST /x", {"b": [1, 2], "a": "1"})  # key order is irrelevant
    assert (again.replay.status_code, again.replay.body, again.replay.location) == (201, b'{"id": 7}', "/x/7")
    with pytest.raises(KeyReused):
        idempotency.claim(user.id, "key-000001", "POST /x", {"a": "2", "b": [1, 2]})
    with pytest.raises(KeyReused):
        idempotency.claim(user.id, "key-000001", "POST /y", {"a": "1", "b": [1, 2]})
    assert idempotency.claim(other.id, "key-000001", "POST /x", {"a": "1", "b": [1, 2]}).replay is None  # per user


@pytest.mark.parametrize("key, error", [(None, KeyRequired), ("", KeyRequired), ("short", KeyInvalid),
                                        ("has space 123", KeyInvalid), ("x" * 201, KeyInvalid)])
def test_a_missing_or_malformed_key_is_refused(app, key, error):
    user = make_user(["treasury"])
    with pytest.raises(error):
        idempotency.claim(user.id, key, "POST /x", {})
