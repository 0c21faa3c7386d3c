"""Work-plan lifecycle: draft → submitted → in_review → approved | changes_requested | rejected.

``changes_requested`` is answered by a new version (``revise``), then submitted again.
The outcome of a review round is decided by ``round_outcome`` from the three disciplines'
decisions on one version: any reject ends it at once; otherwise the round closes when all
three have decided, approved only if all three approved.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class PlanState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"


class PlanAction(StrEnum):
    EDIT = "edit"                      # change the unsubmitted draft version
    SUBMIT = "submit"                  # the NGO sends the latest version for review
    START_REVIEW = "start_review"      # the first reviewer's decision opens the round
    RECORD_DECISION = "record_decision"  # a discipline decides; the round stays open
    APPROVE = "approve"                # all three approved the same version
    REQUEST_CHANGES = "request_changes"  # all three decided, at least one asked for changes
    REJECT = "reject"                  # a discipline rejected (final)
    REVISE = "revise"                  # the NGO starts a new version after changes were requested


class Discipline(StrEnum):
    LEGAL = "legal"
    FINANCIAL = "financial"
    MONITORING = "monitoring"


class Decision(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


S, A = PlanState, PlanAction

TRANSITIONS: dict[tuple[PlanState, PlanAction], PlanState] = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.START_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, A.RECORD_DECISION): S.IN_REVIEW,
    (S.IN_REVIEW, A.APPROVE): S.APPROVED,
    (S.IN_REVIEW, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, A.REJECT): S.REJECTED,
    (S.CHANGES_REQUESTED, A.REVISE): S.DRAFT,
}

TERMINAL = frozenset({S.APPROVED, S.REJECTED})


LIFECYCLE = Lifecycle("plan", PlanState, PlanAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions


def round_outcome(decisions: dict[Discipline, Decision]) -> PlanAction:
    """What the decisions recorded so far on one version mean for the plan."""
    if Decision.REJECT in decisions.values():
        return A.REJECT
    if set(decisions) != set(Discipline):
        return A.RECORD_DECISION
    if all(d == Decision.APPROVE for d in decisions.values()):
        return A.APPROVE
    return A.REQUEST_CHANGES
