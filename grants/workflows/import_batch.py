"""Uploaded list (import batch) lifecycle.

processing → ready | failed: the rows are read, checked and stored whole, or the reading failed
(the reason is kept). The NGO then confirms a ready list (its valid rows become enrollments or
status changes) or discards it (a ready or failed one). Monitoring validates a confirmed
enrollment list. Confirmed status lists and validated enrollment lists are final.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class BatchState(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"
    VALIDATED = "validated"


class BatchAction(StrEnum):
    FINISH = "finish"
    FAIL = "fail"
    CONFIRM = "confirm"
    DISCARD = "discard"
    VALIDATE = "validate"


class BatchKind(StrEnum):
    ENROLLMENT = "enrollment"
    STATUS = "status"


S, A = BatchState, BatchAction

TRANSITIONS: dict[tuple[BatchState, BatchAction], BatchState] = {
    (S.PROCESSING, A.FINISH): S.READY,
    (S.PROCESSING, A.FAIL): S.FAILED,
    (S.READY, A.CONFIRM): S.CONFIRMED,
    (S.READY, A.DISCARD): S.DISCARDED,
    (S.FAILED, A.DISCARD): S.DISCARDED,
    (S.CONFIRMED, A.VALIDATE): S.VALIDATED,
}

# Until the rows are read, the counts need not add up and the rows cannot be shown.
UNREAD_STATES = frozenset({S.PROCESSING, S.FAILED})

LIFECYCLE = Lifecycle("import_batch", BatchState, BatchAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions


def validatable(state, kind) -> bool:
    """Only an enrollment list is validated by monitoring; a status list is final once confirmed."""
    return BatchKind(kind) == BatchKind.ENROLLMENT and A.VALIDATE in allowed_actions(state)
