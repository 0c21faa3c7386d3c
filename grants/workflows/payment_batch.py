"""Payment batch (lote de pago) lifecycle: open → issued | cancelled; issued → cancelled.

Treasury groups authorized payments and prepared advances into a batch for one debtor account and
execution date. The first download of its pain.001 file issues it: the file's bytes and SHA-256 are
kept and the batch no longer changes. A batch is cancelled with a reason (an issued one only when
the bank did not take the file); cancelling frees its payments and advances for another batch.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class PaymentBatchState(StrEnum):
    OPEN = "open"
    ISSUED = "issued"
    CANCELLED = "cancelled"


class PaymentBatchAction(StrEnum):
    ISSUE = "issue"
    CANCEL = "cancel"


class PaymentBatchItemKind(StrEnum):
    PAYMENT = "payment"
    ADVANCE = "advance"


S, A = PaymentBatchState, PaymentBatchAction

TRANSITIONS: dict[tuple[PaymentBatchState, PaymentBatchAction], PaymentBatchState] = {
    (S.OPEN, A.ISSUE): S.ISSUED,
    (S.OPEN, A.CANCEL): S.CANCELLED,
    (S.ISSUED, A.CANCEL): S.CANCELLED,
}

# A batch whose items are still held (no other batch may take them).
LIVE_STATES = frozenset({S.OPEN, S.ISSUED})

LIFECYCLE = Lifecycle("payment_batch", PaymentBatchState, PaymentBatchAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
