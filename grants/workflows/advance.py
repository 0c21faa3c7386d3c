"""Advance (anticipo) lifecycle: requested → approved → prepared → disbursed → liquidated, or rejected.

The NGO requests an advance for a tranche; a financial reviewer approves it (or rejects it with a
reason); treasury prepares the disbursement and a different treasury officer disburses it (bank
reference). The advance is liquidated when accepted receipts plus refunds equal what was
disbursed. Expense statements: submitted → reviewed (every line accepted or rejected).
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class AdvanceState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PREPARED = "prepared"
    DISBURSED = "disbursed"
    LIQUIDATED = "liquidated"


class AdvanceAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    PREPARE = "prepare"
    DISBURSE = "disburse"
    LIQUIDATE = "liquidate"


S, A = AdvanceState, AdvanceAction

TRANSITIONS: dict[tuple[AdvanceState, AdvanceAction], AdvanceState] = {
    (S.REQUESTED, A.APPROVE): S.APPROVED,
    (S.REQUESTED, A.REJECT): S.REJECTED,
    (S.APPROVED, A.PREPARE): S.PREPARED,
    (S.PREPARED, A.DISBURSE): S.DISBURSED,
    (S.DISBURSED, A.LIQUIDATE): S.LIQUIDATED,
}

# Reserved on the agreement but not yet transferred.
COMMITTED_STATES = frozenset({S.APPROVED, S.PREPARED})
# Money transferred to the NGO.
TRANSFERRED_STATES = frozenset({S.DISBURSED, S.LIQUIDATED})

LIFECYCLE = Lifecycle("advance", AdvanceState, AdvanceAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions


class ReceiptState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


RECEIPT_TRANSITIONS = {
    (ReceiptState.PENDING, ReceiptState.ACCEPTED): ReceiptState.ACCEPTED,
    (ReceiptState.PENDING, ReceiptState.REJECTED): ReceiptState.REJECTED,
}
RECEIPT_LIFECYCLE = Lifecycle("receipt", ReceiptState, ReceiptState, RECEIPT_TRANSITIONS)


class StatementState(StrEnum):
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"


class StatementAction(StrEnum):
    REVIEW = "review"


# A statement is reviewed once its last pending receipt is decided.
STATEMENT_TRANSITIONS = {(StatementState.SUBMITTED, StatementAction.REVIEW): StatementState.REVIEWED}
STATEMENT_LIFECYCLE = Lifecycle("expense_statement", StatementState, StatementAction, STATEMENT_TRANSITIONS)
