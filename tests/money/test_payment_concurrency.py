"""Concurrency of direct payments on real commits (``live_app``), each worker in its own thread,
app context and transaction.

PostgreSQL is where the row locks matter (SQLite runs one writer at a time with BEGIN IMMEDIATE);
the hundred-thread test runs there only, the two-thread races run on both.
"""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import BudgetLineBalance, Payment, PaymentAuthorization, User
from grants.services import payments
from grants.domain_errors import DomainError
from tests.money.payment_helpers import certified, line, payments_setup, prepared


def run_threads(live_app, work, args_list):
    """Start every worker at once (a barrier before any query) and collect results by index."""
    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)

    def worker(i, args):
        try:
            with live_app.app_context():
                barrier.wait(timeout=60)
                with unit_of_work():
                    results[i] = ("ok", work(*args))
        except DomainError as exc:
            results[i] = ("refused", exc.code, str(exc.detail))
        except Exception as exc:  # asserted below: nothing else may happen
            results[i] = ("error", repr(exc))
        finally:
            with live_app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def _prepare(user_id, invoice_id):
    payments.prepare_payment(Actor.for_user(db.session.get(User, user_id)), invoice_id)


def _authorize(user_id, payment_id):
    payments.authorize_payment(Actor.for_user(db.session.get(User, user_id)), payment_id)


def test_a_hundred_preparations_never_pass_the_budget_line(live_app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: BEGIN IMMEDIATE serializes the preparations")
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        # Line 3 is approved for 14,999.50: 29 invoices of 500.00 fit (14,500.00), the 30th does not.
        invoice_ids = [certified(ctx, [line(3, "1", "500.00")]).id for _ in range(100)]
        treasury_id, agreement_id = ctx["treasury"].id, ctx["agreement"].id
    results = run_threads(live_app, _prepare, [(treasury_id, i) for i in invoice_ids])

    assert [r for r in results if r[0] == "error"] == []
    ok = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "refused"]
    assert (len(ok), len(refused)) == (29, 71)
    assert {r[1] for r in refused} == {"insufficient_balance"}
    assert all("La línea presupuestaria 3 no tiene saldo suficiente" in r[2] for r in refused)
    with live_app.app_context():
        row = db.session.scalars(select(BudgetLineBalance).where(
            BudgetLineBalance.agreement_id == agreement_id, BudgetLineBalance.number == 3)).one()
        assert row.committed == Decimal("14500.00") == 29 * Decimal("500.00")
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 29
        assert verify_chain(db.session).ok


def test_two_authorizers_racing_record_exactly_one_authorization(live_app):
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        payment_id = prepared(ctx).id
        racers = [ctx["treasury2"].id, ctx["treasury3"].id]
    results = run_threads(live_app, _authorize, [(u, payment_id) for u in racers])

    assert sorted(r[0] for r in results) == ["ok", "refused"]
    assert [r[1] for r in results if r[0] == "refused"] == ["invalid_transition"]
    with live_app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment.status == "authorized"
        assert db.session.scalar(select(func.count()).select_from(PaymentAuthorization)) == 1
        assert verify_chain(db.session).ok


def test_one_person_authorizing_twice_at_once_counts_once(live_app):
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        payment_id = prepared(ctx, [line(1, "1", "30000.00")]).id  # needs two people
        same = ctx["treasury2"].id
    results = run_threads(live_app, _authorize, [(same, payment_id), (same, payment_id)])

    assert sorted(r[0] for r in results) == ["ok", "refused"]
    assert [r[1] for r in results if r[0] == "refused"] == ["already_authorized"]
    with live_app.app_context():
        assert db.session.get(Payment, payment_id).status == "prepared"
        assert db.session.scalar(select(func.count()).select_from(PaymentAuthorization)) == 1
