"""Every (state, action) pair of a set of lifecycles, checked against the table each test file
writes out by hand: ``CASES = [(name, lifecycle, states, actions, {(state, action): next})]``.

``every_pair_tests(CASES)`` gives the two tests a file exposes (``test_every_state_action_pair``,
``test_the_table_is_exactly_the_expected_one``): a pair in the expected table leads where it says;
any other pair is refused; and the lifecycle's table has nothing more."""
import pytest

from grants.workflows import TransitionRefused


def every_pair_tests(cases):
    pairs = [(name, lifecycle, expected, s, a)
             for name, lifecycle, states, actions, expected in cases for s in states for a in actions]

    @pytest.mark.parametrize("name, lifecycle, expected, state, action", pairs,
                             ids=[f"{p[0]}-{p[3]}-{p[4]}" for p in pairs])
    def test_every_state_action_pair(name, lifecycle, expected, state, action):
        if (state, action) in expected:
            assert lifecycle.next_state(state, action) == expected[(state, action)]
        else:
            with pytest.raises(TransitionRefused):
                lifecycle.next_state(state, action)

    @pytest.mark.parametrize("name, lifecycle, states, actions, expected", cases, ids=[c[0] for c in cases])
    def test_the_table_is_exactly_the_expected_one(name, lifecycle, states, actions, expected):
        assert lifecycle.transitions == expected

    return test_every_state_action_pair, test_the_table_is_exactly_the_expected_one
