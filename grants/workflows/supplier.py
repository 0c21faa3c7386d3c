"""Supplier lifecycle: proposed → validated | rejected; a changed version supersedes the last one.

The NGO proposes a supplier for an agreement; a financial reviewer validates it (automatic checks
help) or rejects it with a reason. Changing a validated or rejected supplier makes a new version
(proposed again) and the previous one is superseded; a proposed supplier is edited in place, so
it is never superseded. Superseded, like the decisions, is kept for the history of payments.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class SupplierState(StrEnum):
    PROPOSED = "proposed"
    VALIDATED = "validated"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class SupplierAction(StrEnum):
    VALIDATE = "validate"
    REJECT = "reject"
    SUPERSEDE = "supersede"


S, A = SupplierState, SupplierAction

TRANSITIONS: dict[tuple[SupplierState, SupplierAction], SupplierState] = {
    (S.PROPOSED, A.VALIDATE): S.VALIDATED,
    (S.PROPOSED, A.REJECT): S.REJECTED,
    (S.VALIDATED, A.SUPERSEDE): S.SUPERSEDED,
    (S.REJECTED, A.SUPERSEDE): S.SUPERSEDED,
}

# The version that counts for its tax id on the agreement (one at most: a partial unique index).
CURRENT_STATES = frozenset({S.PROPOSED, S.VALIDATED, S.REJECTED})
# Versions the debarment list is checked against.
LIVE_STATES = frozenset({S.PROPOSED, S.VALIDATED})

LIFECYCLE = Lifecycle("supplier", SupplierState, SupplierAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
