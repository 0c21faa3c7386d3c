"""Commitment (compromiso) of a technical meeting: open → done | cancelled.

A commitment is agreed at a meeting, with an owner and a due date. It stays open until it is
marked done (its owner or the meeting's recorder says it was fulfilled) or cancelled (the ministry
says it no longer applies, always with the reason). Both ends are final: a commitment that comes
back is a new commitment at a new meeting, so the record of what was agreed and what happened to
it is never rewritten. Who may take each action is the service's business
(``grants.services.meetings``); this table only says which moves exist.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class CommitmentState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class CommitmentAction(StrEnum):
    COMPLETE = "complete"
    CANCEL = "cancel"


S, A = CommitmentState, CommitmentAction

TRANSITIONS: dict[tuple[CommitmentState, CommitmentAction], CommitmentState] = {
    (S.OPEN, A.COMPLETE): S.DONE,
    (S.OPEN, A.CANCEL): S.CANCELLED,
}

# Closing actions that need a written note (why it no longer applies).
NEEDS_NOTE = frozenset({A.CANCEL})

LIFECYCLE = Lifecycle("commitment", CommitmentState, CommitmentAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
