"""Logging in and out, and API bearer tokens (stored hashed, with expiry, revocable)."""
from __future__ import annotations

from datetime import timedelta

import logging

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from grants.audit import Actor, record_event
from grants.db import side_engine
from grants.extensions import db
from grants.models import ApiToken, User
from grants.models.base import utcnow
from grants.security import hash_password, needs_rehash, new_token, token_digest, verify_password
from grants.domain_errors import NotFound, Unauthorized, ValidationFailed

security_log = logging.getLogger("fondos.security")


def find_user_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    return db.session.scalar(select(User).where(User.email == email))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work either way).

    Failures go to the security log (the request rolls back, so not to the audit chain).
    """
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        security_log.warning(
            "failed login for %r from %s (known account: %s)",
            (email or "")[:254], request.remote_addr if has_request_context() else "cli", user is not None,
        )
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_login(actor: Actor, user: User, channel: str) -> None:
    user.last_login_at = utcnow()
    record_event(db.session, actor, "user.login", "user", user.id,
                 after={"channel": channel}, organization_id=user.organization_id)


def logout(actor: Actor, user: User) -> None:
    """Bump the session version: this cookie, and any copy of it, stops working."""
    user.session_version += 1
    db.session.flush()
    record_event(db.session, actor, "user.logout", "user", user.id,
                 after={"session_version": user.session_version}, organization_id=user.organization_id)


def issue_token(actor: Actor, user: User, name: str | None = None,
                ttl: timedelta | None = None) -> tuple[ApiToken, str]:
    max_ttl = current_app.config["API_TOKEN_MAX_TTL"]
    ttl = ttl or current_app.config["API_TOKEN_TTL"]
    if ttl <= timedelta(0) or ttl > max_ttl:
        raise ValidationFailed(errors={"expires_in": [_l("Vigencia no permitida.")]})
    raw, digest = new_token()
    now = utcnow()
    token = ApiToken(user=user, token_hash=digest, prefix=raw[:12], name=name,
                     created_at=now, expires_at=now + ttl)
    db.session.add(token)
    db.session.flush()
    record_event(db.session, actor, "api_token.issued", "api_token", token.id,
                 after={"user_id": user.id, "prefix": token.prefix, "name": name,
                        "expires_at": token.expires_at},
                 organization_id=user.organization_id)
    return token, raw


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    if not raw:
        return None
    # One query: the token, its user and the user's roles (every view asks for them).
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(raw))
                              .options(joinedload(ApiToken.user).joinedload(User.role_rows)))
    now = utcnow()
    if token is None or not token.is_usable(now):
        return None
    record_token_use(token, now)
    return token.user, token


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def record_token_use(token: ApiToken, now) -> None:
    """Note the token's last use, at most once a minute, never waiting for a lock.

    PostgreSQL: one autocommit statement on a connection of its own, which skips the row if any
    transaction holds it (``FOR NO KEY UPDATE SKIP LOCKED``): a request with this token running a
    long transaction never makes another request with it wait, and this request never holds the
    token's row. A skipped update is tried again by the next request.
    SQLite is one writer: the request already holds the one write lock from its first statement
    (``BEGIN IMMEDIATE``), so the update goes into its own transaction, where nothing can wait.
    """
    cutoff = now - TOKEN_USE_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    if db.engine.dialect.name == "sqlite":
        token.last_used_at = now
        return
    free = (select(ApiToken.id)
            .where(ApiToken.id == token.id,
                   or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= cutoff))
            .with_for_update(key_share=True, skip_locked=True))
    with side_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        done = conn.execute(update(ApiToken).where(ApiToken.id.in_(free)).values(last_used_at=now)).rowcount
    if done:
        set_committed_value(token, "last_used_at", now)  # what this request shows, without writing it again


def revoke_token(actor: Actor, user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is not None:
        return token
    token.revoked_at = utcnow()
    db.session.flush()
    record_event(db.session, actor, "api_token.revoked", "api_token", token.id,
                 after={"revoked_at": token.revoked_at}, organization_id=user.organization_id)
    return token


def require_token(raw: str) -> tuple[User, ApiToken]:
    found = user_for_token(raw)
    if found is None:
        raise Unauthorized(_l("El token no es válido, expiró o fue revocado."), code="invalid_token")
    return found
