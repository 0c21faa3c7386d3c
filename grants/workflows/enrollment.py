"""Enrollment lifecycle: pending → validated → active ⇄ inactive → withdrawn.

A beneficiary may leave (withdrawn) from any state; withdrawn is final.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class EnrollmentState(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    ACTIVE = "active"
    INACTIVE = "inactive"
    WITHDRAWN = "withdrawn"


S = EnrollmentState

# The action is named by the state it leads to.
TRANSITIONS: dict[tuple[EnrollmentState, EnrollmentState], EnrollmentState] = {
    (S.PENDING, S.VALIDATED): S.VALIDATED,
    (S.VALIDATED, S.ACTIVE): S.ACTIVE,
    (S.ACTIVE, S.INACTIVE): S.INACTIVE,
    (S.INACTIVE, S.ACTIVE): S.ACTIVE,
    **{(s, S.WITHDRAWN): S.WITHDRAWN for s in (S.PENDING, S.VALIDATED, S.ACTIVE, S.INACTIVE)},
}

LIFECYCLE = Lifecycle("enrollment", EnrollmentState, EnrollmentState, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions

# What the NGO may report in a status list; validation is monitoring's.
NGO_REPORTABLE = frozenset({S.ACTIVE, S.INACTIVE, S.WITHDRAWN})


def allowed(current: str, target: str) -> bool:
    return (S(current), S(target)) in TRANSITIONS
