"""The audit chain: every change appends one event whose hash covers the previous one.

Writers lock the single ``audit_chain_head`` row (``SELECT … FOR UPDATE``; SQLite runs every
transaction as ``BEGIN IMMEDIATE``), so concurrent writers queue instead of forking the chain,
and ``UNIQUE(prev_hash)`` makes a fork impossible even if a writer forgot the lock.
The event is written in the caller's transaction: if it fails, the change rolls back.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from grants.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent
from grants.models.base import utcnow

AUDITED_KEYS = "fondos.audited"


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where. ``user`` is None for the system (CLI, migrations)."""

    user: object | None
    label: str = "system"
    request_id: str | None = None
    remote_addr: str | None = None
    roles: tuple[str, ...] = field(default=())

    @classmethod
    def for_user(cls, user, request_id=None, remote_addr=None) -> Actor:
        return cls(
            user=user,
            label=user.email,
            request_id=request_id,
            remote_addr=remote_addr,
            roles=tuple(sorted(str(r) for r in user.roles)),
        )

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, label=label, roles=("system",))

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "id", None)


def to_jsonable(value):
    """Plain JSON values; the stored form is exactly the hashed form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not audited values; use Decimal")
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v) for v in value)
    raise TypeError(f"cannot audit a value of type {type(value).__name__}")


def canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def snapshot(obj) -> dict:
    """Column values of an entity plus its declared child collections, secrets left out."""
    mapper = inspect(obj).mapper
    exclude = getattr(obj, "__audit_exclude__", frozenset())
    data = {
        attr.key: to_jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in exclude
    }
    for name in getattr(obj, "__audit_children__", ()):
        data[name] = [snapshot(child) for child in getattr(obj, name)]
    return data


def event_hash(event: AuditEvent) -> str:
    payload = {
        "seq": int(event.seq),
        "occurred_at": canonical_time(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "actor_roles": event.actor_roles,
        "organization_id": event.organization_id,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "remote_addr": event.remote_addr,
        "prev_hash": event.prev_hash,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id,
    *,
    before: dict | None = None,
    after: dict | None = None,
    organization_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (flushes, never commits)."""
    session.flush()  # ids of new entities, and the change itself, before the event
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=utcnow(),
        actor_id=actor.user_id,
        actor_email=actor.label,
        actor_roles=",".join(actor.roles),
        organization_id=organization_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=to_jsonable(before) if before is not None else None,
        after=to_jsonable(after) if after is not None else None,
        request_id=actor.request_id,
        remote_addr=actor.remote_addr,
        prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    session.info.setdefault(AUDITED_KEYS, set()).add((entity_type, str(entity_id)))
    return event


@dataclass
class ChainReport:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 2000) -> ChainReport:
    """Walk the chain in order; name the first sequence number that does not verify."""
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    rows: Iterable[AuditEvent] = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    ).scalars()
    for event in rows:
        if event.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return ChainReport(False, count, event.seq, "previous hash does not match")
        if event_hash(event) != event.hash:
            return ChainReport(False, count, event.seq, "content does not match its hash")
        prev = event.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainReport(
            False, count, count + 1, f"chain head says {head.seq} events; {count} found"
        )
    return ChainReport(True, count)
