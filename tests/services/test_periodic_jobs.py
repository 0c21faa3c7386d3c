"""The periodic jobs (grants/jobs.py PERIODIC), run as the worker or `flask jobs run` runs them:
reminders of expense statements due in 7 days, and the expiry of idempotency records after 30 days."""
from datetime import timedelta

from sqlalchemy import func, select

from grants import clock, jobs
from grants.extensions import db
from grants.models import IdempotencyRecord, Notification
from grants.models.base import utcnow
from grants.services.reminders import STATEMENT_DUE
from tests.money.advance_helpers import disbursed, money_setup


def reminders_of(user_id: int) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                              Notification.kind == STATEMENT_DUE)))


def test_the_ngo_is_reminded_once_a_week_before_its_statement_is_due(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    due = advance.liquidation_due
    with clock.at(due - timedelta(days=8)):
        assert jobs.TASKS["statement_reminders"](app) == 0  # not yet
    with clock.at(due - timedelta(days=7)):
        assert jobs.TASKS["statement_reminders"](app) == 1
        assert jobs.TASKS["statement_reminders"](app) == 0  # a retried or repeated job sends nothing twice
    [note] = reminders_of(ctx["ngo"].id)
    assert note.link == f"/advances/{advance.id}" and due.strftime("%d/%m/%Y") in note.body
    with clock.at(due + timedelta(days=1)):
        assert jobs.TASKS["statement_reminders"](app) == 0  # overdue is the checks' business, not a reminder


def test_idempotency_records_are_forgotten_after_30_days(app):
    from tests.factories import make_user

    user = make_user(["treasury"])
    for key, age in (("old-key-123", 31), ("recent-key-1", 29)):
        db.session.add(IdempotencyRecord(user_id=user.id, key=key, operation="POST /x", request_hash="0" * 64,
                                         status_code=201, content_type="application/json", body=b"{}",
                                         created_at=utcnow() - timedelta(days=age)))
    db.session.commit()
    assert jobs.TASKS["expire_idempotency"](app) == 1
    assert db.session.scalars(select(IdempotencyRecord.key)).all() == ["recent-key-1"]
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
