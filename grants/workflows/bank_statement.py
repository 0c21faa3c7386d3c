"""A line of a bank statement (extracto bancario): matched on upload, or left unmatched with its
reason; treasury resolves an unmatched line by hand, matching it to a payment, a disbursement, a
refund or a fine deposit, or marking it as not Fondos' (ignored). A resolved line is final.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class LineState(StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"


class LineAction(StrEnum):
    MATCH = "match"
    IGNORE = "ignore"


S, A = LineState, LineAction

TRANSITIONS: dict[tuple[LineState, LineAction], LineState] = {
    (S.UNMATCHED, A.MATCH): S.MATCHED,
    (S.UNMATCHED, A.IGNORE): S.IGNORED,
}

LIFECYCLE = Lifecycle("bank_statement_line", LineState, LineAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
