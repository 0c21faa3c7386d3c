"""Final-liquidation lifecycle: the administrator proposes, the three disciplines sign off.

``proposed → approved | returned``; ``returned`` is answered by a new revision (``revise``),
proposed again. The state is the latest revision's (revisions are append-only: a revision that
was sent back stays ``returned`` and the next one starts ``proposed``).

The outcome of a round is decided by ``round_outcome`` from the sign-offs recorded on one
revision: a send-back returns it at once (its figures or verdict will change, so the other
disciplines' approvals of it would be worth nothing); otherwise it is approved when legal,
financial and monitoring all approved that same revision, and stays open until then.

``recorded`` is a final liquidation recorded by the administrator alone before the three
sign-offs were required (migration 0010): final, never reached by a transition.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle
from grants.workflows.plan import Discipline


class LiquidationState(StrEnum):
    PROPOSED = "proposed"
    RETURNED = "returned"
    APPROVED = "approved"
    RECORDED = "recorded"


class LiquidationAction(StrEnum):
    SIGN_OFF = "sign_off"      # a discipline approved; the round stays open
    APPROVE = "approve"        # the third discipline approved the same revision
    SEND_BACK = "send_back"    # a discipline sent it back with observations
    REVISE = "revise"          # the administrator prepares the next revision


class SignOffDecision(StrEnum):
    APPROVE = "approve"
    SEND_BACK = "send_back"


S, A = LiquidationState, LiquidationAction

TRANSITIONS: dict[tuple[LiquidationState, LiquidationAction], LiquidationState] = {
    (S.PROPOSED, A.SIGN_OFF): S.PROPOSED,
    (S.PROPOSED, A.APPROVE): S.APPROVED,
    (S.PROPOSED, A.SEND_BACK): S.RETURNED,
    (S.RETURNED, A.REVISE): S.PROPOSED,
}

# A final liquidation in these states is the agreement's: the report to the legislature reads it.
FINAL = frozenset({S.APPROVED, S.RECORDED})

LIFECYCLE = Lifecycle("final_liquidation", LiquidationState, LiquidationAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions


def round_outcome(decisions: dict[Discipline, SignOffDecision]) -> LiquidationAction:
    """What the sign-offs recorded so far on one revision mean for it."""
    if SignOffDecision.SEND_BACK in decisions.values():
        return A.SEND_BACK
    if set(decisions) == set(Discipline):
        return A.APPROVE
    return A.SIGN_OFF
