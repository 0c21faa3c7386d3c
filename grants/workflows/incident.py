"""An incident and the measure it carries.

The incident: open → resolved (with a resolution; a suspension is lifted first).
The measure (due process): an observation, or an urgent measure, is in effect at once; any other
sanction, suspension or termination waits for the NGO's reply (pending_reply, until its
deadline), then the ministry applies it (in effect) or withdraws it. Both decisions are final.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentAction(StrEnum):
    RESOLVE = "resolve"


TRANSITIONS: dict[tuple[IncidentState, IncidentAction], IncidentState] = {
    (IncidentState.OPEN, IncidentAction.RESOLVE): IncidentState.RESOLVED,
}
LIFECYCLE = Lifecycle("incident", IncidentState, IncidentAction, TRANSITIONS)
next_state = LIFECYCLE.next_state


class MeasureState(StrEnum):
    PENDING_REPLY = "pending_reply"
    IN_EFFECT = "in_effect"
    WITHDRAWN = "withdrawn"


class MeasureAction(StrEnum):
    APPLY = "apply"
    WITHDRAW = "withdraw"


M, MA = MeasureState, MeasureAction

MEASURE_TRANSITIONS: dict[tuple[MeasureState, MeasureAction], MeasureState] = {
    (M.PENDING_REPLY, MA.APPLY): M.IN_EFFECT,
    (M.PENDING_REPLY, MA.WITHDRAW): M.WITHDRAWN,
}
MEASURE_LIFECYCLE = Lifecycle("incident_measure", MeasureState, MeasureAction, MEASURE_TRANSITIONS)


def first_measure_state(waits_for_reply: bool) -> MeasureState:
    """Where a new incident's measure starts: waiting for the NGO's reply, or in effect at once."""
    return M.PENDING_REPLY if waits_for_reply else M.IN_EFFECT
