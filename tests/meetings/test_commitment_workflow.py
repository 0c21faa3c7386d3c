"""Every (state, action) pair of the commitment lifecycle: open → done | cancelled, both final."""
import pytest

from grants.workflows import TransitionRefused
from grants.workflows import commitment as lifecycle

S, A = lifecycle.CommitmentState, lifecycle.CommitmentAction
EXPECTED = {(S.OPEN, A.COMPLETE): S.DONE, (S.OPEN, A.CANCEL): S.CANCELLED}
PAIRS = [(s, a) for s in S for a in A]


@pytest.mark.parametrize("state, action", PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert lifecycle.next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(TransitionRefused):
            lifecycle.next_state(state, action)


def test_only_an_open_commitment_can_be_closed_and_cancelling_needs_a_note():
    assert lifecycle.allowed_actions(S.OPEN) == [A.COMPLETE, A.CANCEL]
    assert lifecycle.allowed_actions(S.DONE) == lifecycle.allowed_actions(S.CANCELLED) == []
    assert lifecycle.NEEDS_NOTE == {A.CANCEL}
