"""Login throttling: one counter per account and one per client address, shared by the web form
and the API's token endpoint, by every worker process and every machine (they are rows in the
database every process already uses: table ``login_throttle``).

How an attempt is counted (fixed windows, like ``LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"``):

1. Before the password is checked, :func:`begin_login` takes a slot on both counters in one short
   transaction of its own (``grants.db.own_transaction``): ``INSERT … ON CONFLICT DO UPDATE SET
   failures = failures + 1 WHERE failures < limit RETURNING failures``. No row back means the
   window is full: nothing is taken (the transaction rolls back) and the attempt is refused with
   429 and ``Retry-After`` before any password is hashed. Taking the slot first is what makes the
   limit exact when attempts arrive at once on several workers: the 11th never reaches Argon2.
2. The slot is committed at once, so a wrong password stays counted although its request rolls
   back (401), and no login ever waits on another request's long transaction.
3. A right password gives its own slot back (:meth:`Attempt.succeeded`): successes never count,
   and a success never wipes the failures others made from the same address.

Counters of windows that have ended are deleted as attempts come in (a bounded batch per
attempt, skipping rows another process is touching). Keys are SHA-256 digests: the table holds
no e-mail address or IP in clear.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from grants import clock
from grants.db import own_transaction
from grants.extensions import db
from grants.models import LoginThrottle
from grants.domain_errors import TooManyAttempts

CLEANUP_BATCH = 200
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.I)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """``"10 per 15 minutes"``, ``"30 per minute"``, ``"5/hour"``."""
        found = _LIMIT.match(str(text))
        if not found or int(found.group(1)) < 1:
            raise ValueError(f"not a login limit: {text!r} (write e.g. '10 per 15 minutes')")
        return cls(int(found.group(1)), int(found.group(2) or 1) * _UNITS[found.group(3).lower()])


@dataclass
class Counter:
    key: str
    limit: Limit
    window_start: int = 0

    def window_end(self) -> datetime:
        return datetime.fromtimestamp(self.window_start + self.limit.seconds, timezone.utc)


@dataclass
class Attempt:
    """A login attempt holding one slot on each of its counters until it proves right."""

    counters: list[Counter] = field(default_factory=list)

    def succeeded(self) -> None:
        """Give the slots back: a right password is not a failure (and resets nobody else's)."""
        if not self.counters:
            return
        statement = (update(LoginThrottle)
                     .where(tuple_(LoginThrottle.key, LoginThrottle.window_start)
                            .in_([(c.key, c.window_start) for c in self.counters]),
                            LoginThrottle.failures > 0)
                     .values(failures=LoginThrottle.failures - 1))
        self.counters = []
        if db.engine.dialect.name == "sqlite":
            # One writer: the login's own transaction already holds the lock; it commits with it.
            db.session.execute(statement)
            return
        with own_transaction() as conn:
            _relaxed(conn)
            conn.execute(statement)


def check_settings(config) -> None:
    for setting in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS", "VERIFY_LIMIT_PER_ADDRESS"):
        Limit.parse(config[setting])


def digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8")).hexdigest()


def client_address() -> str:
    """The address the request came from (behind a proxy, configure ProxyFix so this is the client's)."""
    return request.remote_addr or "unknown"


def counters_for(email: str | None) -> list[Counter]:
    config = current_app.config
    email = str(email or "").strip().lower()[:254]
    return [Counter(digest("account", email), Limit.parse(config["LOGIN_LIMIT_PER_ACCOUNT"])),
            Counter(digest("address", client_address()), Limit.parse(config["LOGIN_LIMIT_PER_ADDRESS"]))]


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(LoginThrottle)


def _take(conn, counter: Counter, now: datetime) -> int | None:
    """One more failure on this counter's current window, unless it is full: the count, or None."""
    epoch = int(now.timestamp())
    counter.window_start = epoch - epoch % counter.limit.seconds
    statement = _insert(conn.dialect.name).values(
        key=counter.key, window_start=counter.window_start, failures=1, expires_at=counter.window_end())
    statement = statement.on_conflict_do_update(
        index_elements=[LoginThrottle.key, LoginThrottle.window_start],
        set_={"failures": LoginThrottle.failures + 1},
        where=LoginThrottle.failures < counter.limit.count,
    ).returning(LoginThrottle.failures)
    return conn.execute(statement).scalar()


def _relaxed(conn) -> None:
    """Counters are bookkeeping: their commit need not wait for the disk (PostgreSQL). A database
    crash may forget the last fraction of a second of failures; the wait saved is most of the cost."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit = off"))


def _clean(conn, now: datetime) -> None:
    """Delete a batch of ended windows, skipping rows another process holds (never waits)."""
    ended = (select(LoginThrottle.key, LoginThrottle.window_start)
             .where(LoginThrottle.expires_at <= now).limit(CLEANUP_BATCH)
             .with_for_update(skip_locked=True))
    conn.execute(delete(LoginThrottle).where(
        tuple_(LoginThrottle.key, LoginThrottle.window_start).in_(ended)))


class _Full(Exception):
    def __init__(self, counter: Counter):
        self.counter = counter


def begin_login(email: str | None) -> Attempt:
    """Take a slot for one login attempt on ``email`` from this request's address, or refuse
    (``TooManyAttempts``: 429 with ``Retry-After``) when either window is full. Call before the
    password is checked; call ``succeeded()`` on the result when it was right."""
    if not current_app.config.get("LOGIN_THROTTLE_ENABLED", True):
        return Attempt()
    counters = counters_for(email)
    now = clock.utcnow()
    try:
        with own_transaction() as conn:
            _relaxed(conn)
            _clean(conn, now)
            for counter in counters:  # always account, then address: one lock order, no deadlock
                if _take(conn, counter, now) is None:
                    raise _Full(counter)  # rolls back: a refused attempt takes no slot anywhere
    except _Full as full:
        raise _refusal(full.counter, now, lambda minutes: _l(
            "Demasiados intentos fallidos de inicio de sesión. Vuelva a intentarlo en %(minutes)s min.",
            minutes=minutes)) from None
    return Attempt(counters)


def _refusal(counter: Counter, now: datetime, message) -> TooManyAttempts:
    wait = max(1, math.ceil((counter.window_end() - now).total_seconds()))
    return TooManyAttempts(message(math.ceil(wait / 60)), retry_after=wait)


def take_slot(kind: str, setting: str, message) -> None:
    """One use of a costly public action from this request's address — verifying a PDF
    (``VERIFY_LIMIT_PER_ADDRESS``) — counted like failed logins (same table, its own key, every
    process and machine): refused with ``TooManyAttempts`` (429, ``Retry-After``) once the window is
    full. ``message(minutes)`` says so to people."""
    if not current_app.config.get("LOGIN_THROTTLE_ENABLED", True):
        return
    counter = Counter(digest(kind, client_address()), Limit.parse(current_app.config[setting]))
    now = clock.utcnow()
    try:
        with own_transaction() as conn:
            _relaxed(conn)
            _clean(conn, now)
            if _take(conn, counter, now) is None:
                raise _Full(counter)
    except _Full as full:
        raise _refusal(full.counter, now, message) from None


def failures(email: str | None = None, address: str | None = None, at: datetime | None = None) -> int:
    """The failures counted in the current window for an account or an address (operators, tests)."""
    config = current_app.config
    kind, value, setting = (("account", str(email).strip().lower(), "LOGIN_LIMIT_PER_ACCOUNT") if email is not None
                            else ("address", address, "LOGIN_LIMIT_PER_ADDRESS"))
    limit = Limit.parse(config[setting])
    epoch = int((at or clock.utcnow()).timestamp())
    found = db.session.scalar(select(LoginThrottle.failures).where(
        LoginThrottle.key == digest(kind, value), LoginThrottle.window_start == epoch - epoch % limit.seconds))
    return found or 0


def forget(email: str | None = None, address: str | None = None) -> int:
    """Delete the counters of an account, of an address, or (neither given) all of them: an
    operator lets a blocked person in before the window ends. Returns the rows deleted."""
    statement = delete(LoginThrottle)
    keys = ([digest("account", email.strip().lower())] if email else []) + (
        [digest("address", address.strip())] if address else [])
    if keys:
        statement = statement.where(LoginThrottle.key.in_(keys))
    with db.engine.connect() as conn:
        deleted = conn.execute(statement).rowcount
        conn.commit()
    return deleted


def forget_all() -> None:
    """Delete every counter (tests)."""
    forget()
