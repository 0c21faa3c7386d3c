"""Outgoing e-mail (the outbox): pending → sent | failed.

A pending message is claimed by one sender at a time (a lease); a failed attempt keeps it pending
with a later next attempt, until the last allowed attempt marks it failed for a person to see.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxAction(StrEnum):
    SEND = "send"
    GIVE_UP = "give_up"


TRANSITIONS: dict[tuple[OutboxState, OutboxAction], OutboxState] = {
    (OutboxState.PENDING, OutboxAction.SEND): OutboxState.SENT,
    (OutboxState.PENDING, OutboxAction.GIVE_UP): OutboxState.FAILED,
}
LIFECYCLE = Lifecycle("outbox_email", OutboxState, OutboxAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
