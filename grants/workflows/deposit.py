"""Bank deposits the NGO declares (a refund of an advance, a fine paid by deposit):
declared → confirmed | rejected.

A declaration counts for nothing until a treasury officer confirms it against the bank (G10); a
rejection says why, and the NGO declares again with the right data. The confirmer is never the
person who declared.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class DepositState(StrEnum):
    DECLARED = "declared"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class DepositAction(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


S, A = DepositState, DepositAction

TRANSITIONS: dict[tuple[DepositState, DepositAction], DepositState] = {
    (S.DECLARED, A.CONFIRM): S.CONFIRMED,
    (S.DECLARED, A.REJECT): S.REJECTED,
}

LIFECYCLE = Lifecycle("deposit", DepositState, DepositAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
