"""Races on real commits (``live_app``): two disbursements of one advance, two statements or two
refunds for the last outstanding balance, two acceptances past the advance. On PostgreSQL the row
locks and conditional UPDATEs decide; SQLite runs one writer at a time (BEGIN IMMEDIATE), which
the same tests check too. The invariants check runs afterwards on the committed data."""
from __future__ import annotations

import threading
from decimal import Decimal

from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import Advance, Agreement, ExpenseStatement, Receipt, Refund, User
from grants.services import advances, expense_statements, ledger, refunds
from grants.domain_errors import DomainError
from tests.factories import make_user
from tests.money.advance_helpers import act, disbursed, money_setup, prepared, row
from tests.pdfs import tiny_pdf
from tests.timeline import day, iso


def race(app, jobs) -> tuple[list, list]:
    """Run each ``job(session_user_lookup)`` in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results, failures = [], []

    def run(job):
        try:
            with app.app_context():
                barrier.wait(timeout=30)  # before any query: SQLite's BEGIN IMMEDIATE is the write lock
                with unit_of_work():
                    results.append(job())
        except DomainError as exc:
            failures.append(exc.code)
        except Exception as exc:  # asserted below: only domain refusals are expected
            failures.append(repr(exc))
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, failures


def as_user(user_id: int) -> Actor:
    return Actor.for_user(db.session.get(User, user_id))


def test_two_disbursements_of_one_advance_give_one(live_app):
    with live_app.app_context():
        ctx = money_setup()
        advance = prepared(ctx)
        advance_id, agreement_id = advance.id, ctx["agreement"].id
        officers = [ctx["treasury2"].id, make_user(["treasury"]).id]

    def disburse(user_id, reference):
        return lambda: advances.disburse_advance(as_user(user_id), advance_id, reference, day("2026-02-16")).id

    results, failures = race(live_app, [disburse(officers[0], "TRF-A"), disburse(officers[1], "TRF-B")])
    assert results == [advance_id]
    assert failures == ["invalid_transition"]
    with live_app.app_context():
        figures = ledger.balances(db.session.get(Agreement, agreement_id))
        assert (figures.advanced, figures.committed) == (Decimal("40000.00"), Decimal("0.00"))
        assert db.session.get(Advance, advance_id).bank_reference in ("TRF-A", "TRF-B")
        assert verify_chain(db.session).ok


def test_two_statements_racing_for_the_last_balance(live_app):
    with live_app.app_context():
        ctx = money_setup()
        advance = disbursed(ctx)
        advance_id, ngo_id = advance.id, ctx["ngo"].id
        rows = [[row(amount="25000.00")], [row(amount="20000.00", budget_line=2)]]

    def submit(rows_):
        return lambda: expense_statements.submit_statement(as_user(ngo_id), advance_id, rows_).id

    results, failures = race(live_app, [submit(rows[0]), submit(rows[1])])
    assert len(results) == 1 and failures == ["exceeds_outstanding"]
    with live_app.app_context():
        statements = db.session.query(ExpenseStatement).filter_by(advance_id=advance_id).all()
        assert len(statements) == 1 and statements[0].number == 1
        assert sum((s.total for s in statements), Decimal("0")) <= Decimal("40000.00")


def _declaration(user_id, advance_id, reference, amount="30000.00"):
    return lambda: refunds.declare_refund(as_user(user_id), advance_id, {
        "amount": amount, "bank_name": "Banco Agrícola", "bank_reference": reference,
        "refunded_on": iso("2026-03-01")}, slip=("boleta.pdf", tiny_pdf(reference))).id


def test_two_refund_declarations_racing_for_the_outstanding_balance(live_app):
    """Declarations are serialized on the advance's row: the second sees the first one pending."""
    with live_app.app_context():
        ctx = money_setup()
        advance = disbursed(ctx)
        advance_id, ngo_id, treasury_id = advance.id, ctx["ngo"].id, ctx["treasury"].id

    results, failures = race(live_app, [_declaration(ngo_id, advance_id, "REI-A"),
                                        _declaration(treasury_id, advance_id, "REI-B")])
    assert len(results) == 1 and failures == ["exceeds_outstanding"]
    with live_app.app_context():
        assert db.session.query(Refund).filter_by(advance_id=advance_id).count() == 1
        current = db.session.get(Advance, advance_id)
        assert (current.refunded_amount, current.outstanding) == (Decimal("0.00"), Decimal("40000.00"))


def test_refund_confirmation_and_acceptance_racing_never_pass_what_was_disbursed(live_app):
    """A refund of 30,000 declared, then a receipt of 30,000 presented: treasury confirming the one
    while the financial reviewer accepts the other, at most one of them fits the 40,000."""
    with live_app.app_context():
        ctx = money_setup()
        advance = disbursed(ctx)
        refund_id = _declaration(ctx["ngo"].id, advance.id, "REI-X")()
        statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [row(amount="30000.00")])
        db.session.commit()
        advance_id, receipt_id = advance.id, statement.receipts[0].id
        treasury_id, financial_id = ctx["treasury"].id, ctx["financial"].id

    jobs = [
        lambda: refunds.confirm_refund(as_user(treasury_id), refund_id).id,
        lambda: expense_statements.decide_receipt(as_user(financial_id), receipt_id, True, None).id,
    ]
    results, failures = race(live_app, jobs)
    assert len(results) == 1 and failures == ["exceeds_outstanding"]
    with live_app.app_context():
        current = db.session.get(Advance, advance_id)
        assert current.liquidated_amount + current.refunded_amount == Decimal("30000.00")
        receipt = db.session.get(Receipt, receipt_id)
        assert (receipt.status == "accepted") == (current.liquidated_amount == Decimal("30000.00"))
        assert (db.session.get(Refund, refund_id).status == "confirmed") == (current.refunded_amount > 0)
