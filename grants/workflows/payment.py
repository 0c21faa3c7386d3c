"""Direct payment lifecycle: prepared → authorized → executed | cancelled.

Treasury prepares; someone else authorizes (two different people above the dual-authorization
threshold); execution records the bank transfer. A payment still waiting for its second
authorization stays ``prepared``: ``authorization_complete`` says when the table's AUTHORIZE
transition applies.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class PaymentState(StrEnum):
    PREPARED = "prepared"
    AUTHORIZED = "authorized"
    EXECUTED = "executed"
    CANCELLED = "cancelled"


class PaymentAction(StrEnum):
    AUTHORIZE = "authorize"
    EXECUTE = "execute"
    CANCEL = "cancel"


S, A = PaymentState, PaymentAction

TRANSITIONS: dict[tuple[PaymentState, PaymentAction], PaymentState] = {
    (S.PREPARED, A.AUTHORIZE): S.AUTHORIZED,
    (S.AUTHORIZED, A.EXECUTE): S.EXECUTED,
    (S.PREPARED, A.CANCEL): S.CANCELLED,
    (S.AUTHORIZED, A.CANCEL): S.CANCELLED,
}

# States whose amount is reserved on the budget lines and the agreement (not yet paid).
COMMITTED_STATES = frozenset({S.PREPARED, S.AUTHORIZED})

LIFECYCLE = Lifecycle("payment", PaymentState, PaymentAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions


def authorization_complete(authorizations: int, required: int) -> bool:
    """True once enough different people have authorized (1, or 2 above the threshold)."""
    return authorizations >= required


class InvoiceState(StrEnum):
    REGISTERED = "registered"
    CERTIFIED = "certified"
    PAID = "paid"
    VOIDED = "voided"


class InvoiceAction(StrEnum):
    CERTIFY = "certify"
    PAY = "pay"
    VOID = "void"


I, IA = InvoiceState, InvoiceAction

INVOICE_TRANSITIONS: dict[tuple[InvoiceState, InvoiceAction], InvoiceState] = {
    (I.REGISTERED, IA.CERTIFY): I.CERTIFIED,
    (I.CERTIFIED, IA.PAY): I.PAID,
    (I.REGISTERED, IA.VOID): I.VOIDED,
    (I.CERTIFIED, IA.VOID): I.VOIDED,
}

INVOICE_LIFECYCLE = Lifecycle("invoice", InvoiceState, InvoiceAction, INVOICE_TRANSITIONS)
