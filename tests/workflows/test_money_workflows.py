"""Every (state, action) pair of the payment, invoice, advance and receipt lifecycles."""
import pytest

from grants.workflows import advance as adv
from grants.workflows import payment as pay
from tests.workflows.pairs import every_pair_tests

P, PA = pay.PaymentState, pay.PaymentAction
I, IA = pay.InvoiceState, pay.InvoiceAction
D, DA = adv.AdvanceState, adv.AdvanceAction
R = adv.ReceiptState

CASES = [
    ("payment", pay.LIFECYCLE, P, PA, {
        (P.PREPARED, PA.AUTHORIZE): P.AUTHORIZED,
        (P.AUTHORIZED, PA.EXECUTE): P.EXECUTED,
        (P.PREPARED, PA.CANCEL): P.CANCELLED,
        (P.AUTHORIZED, PA.CANCEL): P.CANCELLED,
    }),
    ("invoice", pay.INVOICE_LIFECYCLE, I, IA, {
        (I.REGISTERED, IA.CERTIFY): I.CERTIFIED,
        (I.CERTIFIED, IA.PAY): I.PAID,
        (I.REGISTERED, IA.VOID): I.VOIDED,
        (I.CERTIFIED, IA.VOID): I.VOIDED,
    }),
    ("advance", adv.LIFECYCLE, D, DA, {
        (D.REQUESTED, DA.APPROVE): D.APPROVED,
        (D.REQUESTED, DA.REJECT): D.REJECTED,
        (D.APPROVED, DA.PREPARE): D.PREPARED,
        (D.PREPARED, DA.DISBURSE): D.DISBURSED,
        (D.DISBURSED, DA.LIQUIDATE): D.LIQUIDATED,
    }),
    ("receipt", adv.RECEIPT_LIFECYCLE, R, R, {
        (R.PENDING, R.ACCEPTED): R.ACCEPTED,
        (R.PENDING, R.REJECTED): R.REJECTED,
    }),
]
test_every_state_action_pair, test_the_table_is_exactly_the_expected_one = every_pair_tests(CASES)


def test_final_states_allow_nothing():
    assert pay.allowed_actions(P.EXECUTED) == [] and pay.allowed_actions(P.CANCELLED) == []
    assert adv.allowed_actions(D.LIQUIDATED) == [] and adv.allowed_actions(D.REJECTED) == []


@pytest.mark.parametrize("count, required, complete", [(0, 1, False), (1, 1, True), (1, 2, False), (2, 2, True)])
def test_a_payment_is_authorized_once_enough_people_signed(count, required, complete):
    assert pay.authorization_complete(count, required) is complete


def test_committed_states_are_the_ones_waiting_for_money():
    assert pay.COMMITTED_STATES == {P.PREPARED, P.AUTHORIZED}
    assert adv.COMMITTED_STATES == {D.APPROVED, D.PREPARED}
    assert adv.TRANSFERRED_STATES == {D.DISBURSED, D.LIQUIDATED}
