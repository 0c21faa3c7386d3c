"""Two treasury officers building batches with the same payment at the same moment, on real commits
(``live_app``), each in its own thread and transaction: exactly one batch takes it, the other is
refused with ``already_in_batch`` (the rows are locked FOR UPDATE in id order; the partial UNIQUE
index on live items is the last line). PostgreSQL is where the row locks matter; on SQLite
BEGIN IMMEDIATE makes it one writer at a time, and the race still has one winner."""
from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.models import PaymentBatch, PaymentBatchItem, User
from grants.services import payment_batches
from tests.money.batch_helpers import batch_data, some_payments
from tests.money.payment_helpers import payments_setup
from tests.money.test_payment_concurrency import run_threads


def _create(user_id, payment_ids):
    return payment_batches.create_batch(Actor.for_user(db.session.get(User, user_id)), batch_data(payment_ids)).id


def test_two_batches_racing_for_one_payment_one_wins(live_app):
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        shared, mine, yours = (p.id for p in some_payments(ctx, ("100.00", "200.00", "300.00")))
        racers = [(ctx["treasury2"].id, [mine, shared]), (ctx["treasury3"].id, [shared, yours])]
    results = run_threads(live_app, _create, racers)

    assert [r for r in results if r[0] == "error"] == []
    assert sorted(r[0] for r in results) == ["ok", "refused"]
    assert [r[1] for r in results if r[0] == "refused"] == ["already_in_batch"]
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentBatch)) == 1
        live = db.session.scalars(select(PaymentBatchItem.payment_id).where(PaymentBatchItem.live.is_(True))).all()
        assert sorted(live).count(shared) == 1
        assert verify_chain(db.session).ok


def test_many_officers_racing_for_the_same_payments_make_one_batch(live_app, backend):
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        ids = [p.id for p in some_payments(ctx, ("10.00", "20.00"))]
        racers = [(ctx[name].id, ids if i % 2 else list(reversed(ids)))
                  for i, name in enumerate(["treasury", "treasury2", "treasury3"] * 2)]
    results = run_threads(live_app, _create, racers)

    assert [r for r in results if r[0] == "error"] == []
    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 5
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentBatchItem)) == 2
