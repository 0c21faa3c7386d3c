"""E-mail notifications: the outbox is written with the change and sent after commit, by SMTP.

A real SMTP server (aiosmtpd) listens on 127.0.0.1 on a free port for each test.
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from grants.db import unit_of_work
from grants.extensions import csrf, db
from grants.models import Notification, OutboxEmail, User
from grants.models.base import utcnow
from grants.services.mail import deliver_pending
from grants.services.notifications import OUTBOX_WRITTEN, notify
from tests.factories import make_user

SUBJECT = "Plan aprobado: educación y prevención — año 2026"
BODY = "Su plan fue aprobado. Señales: ñ, á, é, í, ó, ú, ü, ¿¡ y €."
REFUSED = "rechazado@test.example.org"  # the server answers 550 for this recipient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every accepted message, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="localhost")
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def use_smtp(monkeypatch, app, port, host="127.0.0.1"):
    """SMTP settings for this test only (monkeypatch restores app.config afterwards)."""
    monkeypatch.setitem(app.config, "SMTP_HOST", host)
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    monkeypatch.setitem(app.config, "SMTP_USER", "")


def outbox() -> list[OutboxEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def make_due(row_id: int) -> None:
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == row_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


# --- queueing -------------------------------------------------------------------------------


def test_an_email_is_queued_only_when_smtp_is_configured(app, monkeypatch):
    user = make_user(roles=["auditor"])
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    notify([user], "test.plain", SUBJECT, BODY)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user.id)) == 1
    assert outbox() == []
    assert OUTBOX_WRITTEN not in db.session.info

    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    notify([user], "test.mail", SUBJECT, BODY, link="/plans/7")
    assert db.session.info.pop(OUTBOX_WRITTEN) is True
    db.session.commit()
    [queued] = outbox()
    assert (queued.to_address, queued.subject, queued.status, queued.attempts) == (
        user.email, SUBJECT, "pending", 0)
    assert queued.body.startswith(BODY) and queued.body.endswith("/plans/7")
    assert queued.next_attempt_at <= utcnow()


def test_a_rolled_back_transaction_queues_nothing(live_app, inbox, monkeypatch):
    use_smtp(monkeypatch, live_app, inbox.port)
    with live_app.app_context():
        user = make_user(roles=["auditor"])
        with pytest.raises(RuntimeError), unit_of_work():
            notify([user], "test.mail", SUBJECT, BODY)
            raise RuntimeError("the change fails after notifying")
        assert outbox() == []
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 0}
    assert inbox.messages == []


# --- delivery -------------------------------------------------------------------------------


def test_deliver_pending_sends_with_utf8_and_marks_sent(app, inbox, monkeypatch):
    use_smtp(monkeypatch, app, inbox.port)
    user = make_user(roles=["auditor"])
    notify([user], "test.mail", SUBJECT, BODY)
    db.session.commit()

    assert deliver_pending() == {"sent": 1, "failed": 0, "retried": 0}

    [message] = inbox.messages
    assert message["To"] == user.email
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == BODY
    [sent] = outbox()
    assert sent.status == "sent" and sent.attempts == 0 and sent.last_error is None
    assert sent.sent_at is not None and sent.sent_at <= utcnow()
    assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 0}  # never twice
    assert len(inbox.messages) == 1


def test_a_refused_connection_backs_off_and_fails_after_max_attempts(app, monkeypatch):
    use_smtp(monkeypatch, app, free_port())  # nothing listens there
    max_attempts = app.config["MAIL_MAX_ATTEMPTS"]
    user = make_user(roles=["auditor"])
    notify([user], "test.mail", SUBJECT, BODY)
    db.session.commit()

    for attempt in range(1, max_attempts):
        before = utcnow()
        assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 1}
        [row] = outbox()
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "ConnectionRefused" in row.last_error and len(row.last_error) <= 500
        delay = timedelta(minutes=2 ** (attempt - 1))  # 1, 2, 4, 8… minutes
        assert before + delay <= row.next_attempt_at <= utcnow() + delay
        assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 0}  # not due yet
        make_due(row.id)

    assert deliver_pending() == {"sent": 0, "failed": 1, "retried": 0}
    [row] = outbox()
    assert (row.status, row.attempts, row.sent_at) == ("failed", max_attempts, None)
    make_due(row.id)
    assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 0}  # given up for good


def test_one_refused_message_does_not_hold_back_or_undo_the_others(live_app, inbox, monkeypatch):
    use_smtp(monkeypatch, live_app, inbox.port)
    with live_app.app_context():
        refused = make_user(roles=["auditor"], email=REFUSED)
        fine = [make_user(roles=["auditor"]) for _ in range(2)]
        notify([refused], "test.mail", "primero", BODY)
        notify(fine, "test.mail", SUBJECT, BODY)
        db.session.commit()

        addresses = sorted(u.email for u in fine)

        assert deliver_pending() == {"sent": 2, "failed": 0, "retried": 1}
    assert sorted(m["To"] for m in inbox.messages) == addresses
    with live_app.app_context():  # committed for real, each on its own
        rows = {row.to_address: row for row in outbox()}
        assert rows[REFUSED].status == "pending" and rows[REFUSED].attempts == 1
        assert "SMTPRecipientsRefused" in rows[REFUSED].last_error
        assert [rows[a].status for a in addresses] == ["sent", "sent"]


def test_limit_bounds_one_run(app, inbox, monkeypatch):
    use_smtp(monkeypatch, app, inbox.port)
    db.session.add_all(OutboxEmail(to_address=f"n{i}@test.example.org", subject=f"m{i}", body=BODY)
                       for i in range(3))
    db.session.commit()
    assert deliver_pending(limit=2)["sent"] == 2
    assert deliver_pending(limit=2)["sent"] == 1
    assert [m["Subject"] for m in inbox.messages] == ["m0", "m1", "m2"]


def test_nothing_is_sent_without_smtp_host(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    db.session.add(OutboxEmail(to_address="n@test.example.org", subject="s", body=BODY))
    db.session.commit()
    assert deliver_pending() == {"sent": 0, "failed": 0, "retried": 0}
    assert outbox()[0].status == "pending"


# --- after the response, and from cron ------------------------------------------------------


def _add_notifying_routes(app):
    """Test-only endpoints that notify a user within the request's unit of work."""

    def notify_and_succeed(user_id):
        notify([db.session.get(User, user_id)], "test.request", SUBJECT, BODY)
        return "", 200

    def notify_and_fail(user_id):
        notify([db.session.get(User, user_id)], "test.request", SUBJECT, BODY)
        return "", 409

    for view in (notify_and_succeed, notify_and_fail):
        app.add_url_rule(f"/_test/{view.__name__}/<int:user_id>", view_func=csrf.exempt(view),
                         methods=["POST"])


def test_a_request_that_notifies_sends_the_email_after_its_response(live_app, inbox, monkeypatch):
    use_smtp(monkeypatch, live_app, inbox.port)
    _add_notifying_routes(live_app)
    with live_app.app_context():
        user_id, address = (user := make_user(roles=["auditor"])).id, user.email
    client = live_app.test_client()

    failed = client.post(f"/_test/notify_and_fail/{user_id}")
    assert failed.status_code == 409
    failed.close()
    with live_app.app_context():
        assert outbox() == []  # rolled back: no row, nothing to send

    response = client.post(f"/_test/notify_and_succeed/{user_id}", buffered=False)  # the test plays the WSGI server
    assert response.status_code == 200
    assert inbox.messages == []  # the response is complete before anything is sent
    response.close()  # what the WSGI server does once the body is out
    [message] = inbox.messages
    assert (message["To"], message["Subject"]) == (address, SUBJECT)
    with live_app.app_context():
        [row] = outbox()
        assert row.status == "sent"


def test_delivery_after_the_response_never_breaks_the_request(live_app, monkeypatch):
    use_smtp(monkeypatch, live_app, free_port())  # nothing listens there
    _add_notifying_routes(live_app)
    with live_app.app_context():
        user_id = make_user(roles=["auditor"]).id
    response = live_app.test_client().post(f"/_test/notify_and_succeed/{user_id}")
    assert response.status_code == 200
    response.close()
    with live_app.app_context():
        [row] = outbox()
        assert (row.status, row.attempts) == ("pending", 1)


def test_the_cli_sends_due_emails(live_app, inbox, monkeypatch):
    use_smtp(monkeypatch, live_app, inbox.port)
    with live_app.app_context():
        db.session.add(OutboxEmail(to_address="cron@test.example.org", subject=SUBJECT, body=BODY))
        db.session.commit()
    result = live_app.test_cli_runner().invoke(args=["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "1 enviados, 0 por reintentar, 0 fallidos" in result.output
    assert [m["To"] for m in inbox.messages] == ["cron@test.example.org"]


# --- concurrency ----------------------------------------------------------------------------


def test_two_deliverers_at_once_send_each_message_exactly_once(live_app, inbox, monkeypatch):
    """FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite, BEGIN IMMEDIATE serializes the claims."""
    use_smtp(monkeypatch, live_app, inbox.port)
    with live_app.app_context():
        db.session.add_all(OutboxEmail(to_address=f"n{i}@test.example.org", subject=f"m{i}", body=BODY)
                           for i in range(20))
        db.session.commit()

    start = threading.Barrier(2)
    results, errors = [], []

    def deliverer():
        try:
            with live_app.app_context():
                start.wait()
                results.append(deliver_pending())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r["sent"] for r in results) == 20
    subjects = [m["Subject"] for m in inbox.messages]
    assert len(subjects) == 20 and set(subjects) == {f"m{i}" for i in range(20)}
    with live_app.app_context():
        assert {row.status for row in outbox()} == {"sent"}


def test_a_message_being_claimed_elsewhere_is_skipped_not_waited_for(live_app, backend, inbox, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: BEGIN IMMEDIATE serializes the deliverers")
    use_smtp(monkeypatch, live_app, inbox.port)
    with live_app.app_context():
        db.session.add_all([OutboxEmail(to_address="a@test.example.org", subject="locked", body=BODY),
                            OutboxEmail(to_address="b@test.example.org", subject="free", body=BODY)])
        db.session.commit()
        results = []
        with db.engine.connect() as other:  # another deliverer, in the middle of its claim
            claim = other.begin()
            other.execute(select(OutboxEmail.id).where(OutboxEmail.subject == "locked").with_for_update())

            def deliverer():
                with live_app.app_context():
                    results.append(deliver_pending())

            thread = threading.Thread(target=deliverer)
            thread.start()
            thread.join(timeout=5)
            blocked = thread.is_alive()
            claim.rollback()
            thread.join()
        assert not blocked, "deliver_pending waited for a row another deliverer had locked"
        assert results == [{"sent": 1, "failed": 0, "retried": 0}]
        assert [m["Subject"] for m in inbox.messages] == ["free"]
