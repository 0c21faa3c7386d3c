"""Agreement lifecycle: draft → signed → in_execution ⇄ suspended → closing → liquidated →
reported, or terminated (with a reason) from any state before liquidation."""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class AgreementState(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    IN_EXECUTION = "in_execution"
    SUSPENDED = "suspended"
    CLOSING = "closing"
    LIQUIDATED = "liquidated"
    REPORTED = "reported"
    TERMINATED = "terminated"


class AgreementAction(StrEnum):
    EDIT = "edit"
    SIGN = "sign"
    DESIGNATE_ADMINISTRATOR = "designate_administrator"
    START_EXECUTION = "start_execution"
    SUSPEND = "suspend"
    RESUME = "resume"
    BEGIN_CLOSING = "begin_closing"
    LIQUIDATE = "liquidate"
    REPORT = "report"
    TERMINATE = "terminate"


S, A = AgreementState, AgreementAction

TRANSITIONS: dict[tuple[AgreementState, AgreementAction], AgreementState] = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SIGN): S.SIGNED,
    (S.DRAFT, A.DESIGNATE_ADMINISTRATOR): S.DRAFT,
    (S.SIGNED, A.DESIGNATE_ADMINISTRATOR): S.SIGNED,
    (S.IN_EXECUTION, A.DESIGNATE_ADMINISTRATOR): S.IN_EXECUTION,
    (S.SUSPENDED, A.DESIGNATE_ADMINISTRATOR): S.SUSPENDED,
    (S.SIGNED, A.START_EXECUTION): S.IN_EXECUTION,
    (S.IN_EXECUTION, A.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, A.RESUME): S.IN_EXECUTION,
    (S.IN_EXECUTION, A.BEGIN_CLOSING): S.CLOSING,
    (S.CLOSING, A.LIQUIDATE): S.LIQUIDATED,
    (S.LIQUIDATED, A.REPORT): S.REPORTED,
    **{(s, A.TERMINATE): S.TERMINATED
       for s in (S.DRAFT, S.SIGNED, S.IN_EXECUTION, S.SUSPENDED, S.CLOSING)},
}

# Actions that need a written reason.
NEEDS_REASON = frozenset({A.SUSPEND, A.RESUME, A.TERMINATE})


LIFECYCLE = Lifecycle("agreement", AgreementState, AgreementAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
