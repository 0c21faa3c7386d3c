"""Notifications: an in-app inbox row per user, and an outbox e-mail when SMTP is configured.

Both are written in the caller's transaction, so a rolled-back change notifies nobody; e-mails
are sent after commit by ``grants.services.mail.deliver_pending``.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from flask_babel import force_locale

from grants.extensions import db
from grants.models import Notification, OutboxEmail, User

OUTBOX_WRITTEN = "fondos.outbox_written"


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def notify(users: Iterable[User], kind: str, title, body="", link: str | None = None) -> list[Notification]:
    """``title`` and ``body`` are lazy strings (``_l``), rendered in each recipient's language."""
    made = []
    for user in {u.id: u for u in users if u is not None and u.active}.values():
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject, text = str(title), str(body) if body else ""
        note = Notification(user_id=user.id, kind=kind, title=subject, body=text, link=link)
        db.session.add(note)
        made.append(note)
        if smtp_configured():
            db.session.flush()  # the e-mail points at its notification
            base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
            url = f"{base}{link}" if link and base else (link or "")
            db.session.add(OutboxEmail(notification_id=note.id, to_address=user.email, subject=subject,
                                       body=f"{text}\n\n{url}".strip()))
            db.session.info[OUTBOX_WRITTEN] = True
    db.session.flush()
    return made


def users_with_role(role) -> list[User]:
    from sqlalchemy import select

    from grants.models import UserRole

    return list(db.session.scalars(
        select(User).join(UserRole).where(UserRole.role == str(role), User.active).order_by(User.id)))


def users_of_organization(organization_id: int) -> list[User]:
    from sqlalchemy import select

    return list(db.session.scalars(
        select(User).where(User.organization_id == organization_id, User.active).order_by(User.id)))




def mark_read(user: User, notification_id: int) -> Notification:
    """A user marks one of their own notifications read (another's is not found)."""
    from grants.models.base import utcnow
    from grants.domain_errors import NotFound

    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound()
    if note.read_at is None:
        note.read_at = utcnow()
    return note


def mark_all_read(user: User) -> int:
    from sqlalchemy import update

    from grants.models.base import utcnow

    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0
