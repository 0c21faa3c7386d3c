"""Internal audit: a check run (running → finished | failed) and each finding it raises.

A finding is open when a rule raises it; an auditor marks it justified (explained, no harm) or
confirmed (a real problem), a justified one may still be confirmed, and a confirmed one is
resolved before the agreement's final liquidation. Each decision carries a note. A re-run never
reopens a decided finding.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class RunState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class RunAction(StrEnum):
    FINISH = "finish"
    FAIL = "fail"


RUN_TRANSITIONS: dict[tuple[RunState, RunAction], RunState] = {
    (RunState.RUNNING, RunAction.FINISH): RunState.FINISHED,
    (RunState.RUNNING, RunAction.FAIL): RunState.FAILED,
}
RUN_LIFECYCLE = Lifecycle("audit_check_run", RunState, RunAction, RUN_TRANSITIONS)


class FindingState(StrEnum):
    OPEN = "open"
    JUSTIFIED = "justified"
    CONFIRMED = "confirmed"
    RESOLVED = "resolved"


F = FindingState

# The decision is named by the state it leads to (like enrollments).
TRANSITIONS: dict[tuple[FindingState, FindingState], FindingState] = {
    (F.OPEN, F.JUSTIFIED): F.JUSTIFIED,
    (F.OPEN, F.CONFIRMED): F.CONFIRMED,
    (F.JUSTIFIED, F.CONFIRMED): F.CONFIRMED,
    (F.CONFIRMED, F.RESOLVED): F.RESOLVED,
}
# What an auditor may decide at all (never back to open).
DECISIONS = frozenset({F.JUSTIFIED, F.CONFIRMED, F.RESOLVED})

LIFECYCLE = Lifecycle("audit_finding", FindingState, FindingState, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
