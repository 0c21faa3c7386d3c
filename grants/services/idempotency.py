"""Idempotency keys for state-changing money calls (DESIGN.md §5, G7). Flush, never commit.

``claim`` runs first in the request's transaction:

1. it takes a transaction-scoped lock on (user, key): ``pg_try_advisory_xact_lock`` on
   PostgreSQL, so a second request with the same key while the first is still running is told
   409 at once instead of waiting; SQLite runs one writer at a time (``BEGIN IMMEDIATE``);
2. if a response was stored for the key, it is returned to be replayed byte for byte, or 422 if
   the key was used for another request (another operation or another body).

After the operation, ``remember`` stores the response **in the same transaction** as the money
change. Both are committed or neither is: a process that dies between commit and answer leaves
the stored response for the retry; one that dies before the commit leaves nothing, so the retry
runs the operation (once).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import IdempotencyRecord
from grants.domain_errors import Conflict, DomainError

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{8,200}$")


class KeyRequired(DomainError):
    status = 400
    code = "idempotency_key_required"
    title = _l("Esta operación requiere la cabecera Idempotency-Key.")


class KeyInvalid(DomainError):
    status = 400
    code = "idempotency_key_invalid"
    title = _l("La cabecera Idempotency-Key debe tener de 8 a 200 caracteres: letras, dígitos, . _ : -")


class KeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = _l("Esta clave de idempotencia ya se usó con otra solicitud.")


class KeyInProgress(Conflict):
    code = "idempotency_in_progress"
    title = _l("Una solicitud con esta clave de idempotencia aún se está procesando. Reintente en unos segundos.")


@dataclass(frozen=True)
class Claim:
    user_id: int
    key: str
    operation: str
    request_hash: str
    replay: IdempotencyRecord | None = None


def request_hash(operation: str, payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def _lock_id(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim(user_id: int, key: str | None, operation: str, payload) -> Claim:
    """Lock the key for this transaction and return what to do: run, or replay ``claim.replay``."""
    if not key:
        raise KeyRequired()
    if not KEY_PATTERN.match(key):
        raise KeyInvalid()
    digest = request_hash(operation, payload)
    if db.session.get_bind().dialect.name == "postgresql":
        locked = db.session.execute(select(func.pg_try_advisory_xact_lock(_lock_id(user_id, key)))).scalar_one()
        if not locked:
            raise KeyInProgress()
    record = db.session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    ).scalar_one_or_none()
    if record is not None and record.request_hash != digest:
        raise KeyReused()
    return Claim(user_id, key, operation, digest, record)


def remember(claim_: Claim, status_code: int, content_type: str, body: bytes, location: str | None = None) -> None:
    """Store the response of a successful operation, in the operation's own transaction."""
    db.session.add(IdempotencyRecord(
        user_id=claim_.user_id, key=claim_.key, operation=claim_.operation, request_hash=claim_.request_hash,
        status_code=status_code, content_type=content_type, body=body, location=location))
    db.session.flush()


def expire_older_than(age) -> int:
    """Forget the stored responses older than ``age`` (a periodic job: 30 days). A retry that late
    is a new request. Returns how many were deleted."""
    from sqlalchemy import delete

    from grants.models.base import utcnow

    return db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - age)).rowcount
