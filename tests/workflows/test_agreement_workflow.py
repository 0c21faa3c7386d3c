"""Every (state, action) pair of the agreement lifecycle."""
import pytest

from grants.workflows import TransitionRefused
from grants.workflows.agreement import TRANSITIONS, AgreementAction, AgreementState, next_state

S, A = AgreementState, AgreementAction
EXPECTED = {
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
    (S.DRAFT, A.TERMINATE): S.TERMINATED,
    (S.SIGNED, A.TERMINATE): S.TERMINATED,
    (S.IN_EXECUTION, A.TERMINATE): S.TERMINATED,
    (S.SUSPENDED, A.TERMINATE): S.TERMINATED,
    (S.CLOSING, A.TERMINATE): S.TERMINATED,
}
ALL_PAIRS = [(s, a) for s in AgreementState for a in AgreementAction]


@pytest.mark.parametrize("state, action", ALL_PAIRS, ids=[f"{s}-{a}" for s, a in ALL_PAIRS])
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(TransitionRefused):
            next_state(state, action)


def test_the_table_is_exactly_the_expected_one():
    assert TRANSITIONS == EXPECTED


def test_terminated_and_reported_are_final():
    for state in (S.TERMINATED, S.REPORTED):
        assert not [a for a in AgreementAction if (state, a) in TRANSITIONS]
