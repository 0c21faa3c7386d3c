"""E-mail delivery from the outbox (``email_outbox``), after commit and from cron.

``notify()`` writes the rows in the caller's transaction; ``deliver_pending`` sends the due ones.
It is called once a request that queued e-mails has sent its response (``grants/__init__.py``)
and by ``flask notifications send`` (cron), which retries failures.

One message at a time, in short transactions of its own (this function commits):

1. claim: select one due row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a concurrent
   deliverer skips it; SQLite is one writer thanks to ``BEGIN IMMEDIATE``) and push its
   ``next_attempt_at`` forward by a lease, so nobody else picks it up; commit.
2. send it by SMTP, outside any transaction (no lock is held during network I/O).
3. record the outcome and commit: ``sent``, or a retry with exponential backoff (1, 2, 4, 8…
   minutes), or ``failed`` after ``MAIL_MAX_ATTEMPTS`` failures.

A deliverer that dies between 1 and 3 leaves the row due again when the lease ends: delivery is
at least once, never twice by two live deliverers.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select

from grants.extensions import db
from grants.models import OutboxEmail
from grants.models.base import utcnow
from grants.workflows import outbox as lifecycle
from grants.workflows.outbox import OutboxAction, OutboxState

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 10  # seconds: connecting and each SMTP command
LEASE = timedelta(minutes=5)  # a claimed message is not due for anyone else meanwhile
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8… minutes
ERROR_MAX_CHARS = 500

# Errors that concern one message only: the connection stays usable for the next one.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPNotSupportedError,
                  ValueError)


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_address: str
    subject: str
    body: str


def deliver_pending(limit: int = 50) -> dict[str, int]:
    """Send up to ``limit`` due e-mails; return ``{"sent", "failed", "retried"}`` counts.

    SMTP errors never propagate: they are recorded on the message. When the server cannot be
    reached (or drops the connection) the batch stops there; the rest stays due for the next run.
    """
    counts = {"sent": 0, "failed": 0, "retried": 0}
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return counts
    smtp = None
    try:
        for _ in range(limit):
            email = _claim_next()
            if email is None:
                break
            try:
                if smtp is None:
                    smtp = _connect(config)
                smtp.send_message(_message(email, config))
            except Exception as exc:  # recorded on the message, never raised
                counts[_record_failure(email, exc, config["MAIL_MAX_ATTEMPTS"])] += 1
                if not isinstance(exc, MESSAGE_ERRORS):
                    break  # server unreachable or connection lost
            else:
                _record_sent(email)
                counts["sent"] += 1
    finally:
        if smtp is not None:
            _close(smtp)
    if any(counts.values()):
        log.info("e-mail outbox: %(sent)d sent, %(retried)d to retry, %(failed)d failed", counts)
    return counts


def _claim_next() -> _Claimed | None:
    now = utcnow()
    row = db.session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.status == OutboxState.PENDING, OutboxEmail.next_attempt_at <= now)
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders no FOR UPDATE (one writer)
    ).first()
    claimed = None
    if row is not None:
        row.next_attempt_at = now + LEASE
        # Copied before commit: reading the expired row afterwards would open a transaction
        # (on SQLite, the write lock) for the whole SMTP conversation.
        claimed = _Claimed(row.id, row.to_address, row.subject, row.body)
    db.session.commit()
    return claimed


def _record_sent(email: _Claimed) -> None:
    row = db.session.get(OutboxEmail, email.id)
    row.status = lifecycle.next_state(row.status, OutboxAction.SEND)
    row.sent_at = utcnow()
    db.session.commit()


def _record_failure(email: _Claimed, exc: Exception, max_attempts: int) -> str:
    row = db.session.get(OutboxEmail, email.id)
    row.attempts += 1
    row.last_error = " ".join(f"{type(exc).__name__}: {exc}".split())[:ERROR_MAX_CHARS]
    if row.attempts >= max_attempts:
        row.status = lifecycle.next_state(row.status, OutboxAction.GIVE_UP)
        outcome = "failed"
    else:
        row.next_attempt_at = utcnow() + FIRST_RETRY * 2 ** (row.attempts - 1)
        outcome = "retried"
    db.session.commit()
    log.warning("e-mail %s to %s: attempt %d %s: %s", email.id, email.to_address, row.attempts,
                outcome, row.last_error)
    return outcome


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=SMTP_TIMEOUT)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        smtp.close()


def _message(email: _Claimed, config) -> EmailMessage:
    sender = config["MAIL_FROM"]
    message = EmailMessage()  # default policy: RFC 2047 headers, UTF-8 body
    message["From"] = sender
    message["To"] = email.to_address
    if email.subject.isascii():
        message["Subject"] = email.subject
    else:  # CPython < 3.15 may drop the space where it folds between two encoded words
        # (gh-144156: "educación — año" arrives as "educación —año"); Header() folds correctly.
        message.set_raw("Subject", Header(email.subject, "utf-8", header_name="Subject").encode())
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "fondos.invalid")
    message.set_content(email.body)
    return message
