"""G6: a change without its audit event rolls back.

After each flush we note which audited aggregates changed; ``record_event`` notes which were
audited. At commit, a changed aggregate with no event aborts the commit.
Models opt in with ``__audit_type__`` (an aggregate root) or ``__audit_parent__`` (the
relationship leading to the root); ``__audit_ignore__`` names bookkeeping columns.

What it sees: entities changed through the session (its flushes). What it does not see: bulk SQL
run with ``session.execute(insert(...)/update(...))`` — the set-based writes of a whole list
(``beneficiary_imports.confirm_batch`` and ``validate_batch`` enroll or validate thousands of people
in one statement) and the generated files' state. Those callers record their event themselves (one
per batch, with the counts), and their tests check the event is there.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from grants.audit.chain import AUDITED_KEYS

CHANGED_KEYS = "fondos.changed"


class UnauditedChange(RuntimeError):
    """Raised at commit when an audited entity changed without an audit event."""


def _root_key(obj):
    parent_attr = getattr(obj, "__audit_parent__", None)
    if parent_attr is not None:
        parent = getattr(obj, parent_attr, None)
        return _root_key(parent) if parent is not None else None
    audit_type = getattr(obj, "__audit_type__", None)
    if audit_type is None:
        return None
    identity = inspect(obj).identity
    if identity is None:
        return None
    return (audit_type, str(identity[0]))


def _really_modified(session: Session, obj) -> bool:
    if not session.is_modified(obj, include_collections=False):
        return False
    ignored = getattr(obj, "__audit_ignore__", frozenset())
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in ignored:
            continue
        if state.attrs[attr.key].history.has_changes():
            return True
    return False


def _after_flush(session: Session, flush_context) -> None:
    changed = session.info.setdefault(CHANGED_KEYS, set())
    for obj in list(session.new) + list(session.deleted):
        key = _root_key(obj)
        if key:
            changed.add(key)
    for obj in session.dirty:
        if _really_modified(session, obj):
            key = _root_key(obj)
            if key:
                changed.add(key)


def _before_commit(session: Session) -> None:
    session.flush()
    changed = session.info.get(CHANGED_KEYS, set())
    audited = session.info.get(AUDITED_KEYS, set())
    missing = sorted(changed - audited)
    if missing:
        raise UnauditedChange(f"changed without an audit event: {missing}")


def _forget(session: Session, *args) -> None:
    session.info.pop(CHANGED_KEYS, None)
    session.info.pop(AUDITED_KEYS, None)


def install(session_class: type[Session]) -> None:
    if getattr(session_class, "_fondos_audit_guard", False):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_commit", _forget)
    event.listen(session_class, "after_soft_rollback", _forget)
    session_class._fondos_audit_guard = True
