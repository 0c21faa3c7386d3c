"""Every (state, action) pair of the final-liquidation lifecycle, and the outcome of a round."""
import pytest

from grants.workflows import TransitionRefused
from grants.workflows.final_liquidation import (
    FINAL,
    TRANSITIONS,
    LiquidationAction,
    LiquidationState,
    SignOffDecision,
    allowed_actions,
    next_state,
    round_outcome,
)
from grants.workflows.plan import Discipline

S, A = LiquidationState, LiquidationAction
EXPECTED = {
    (S.PROPOSED, A.SIGN_OFF): S.PROPOSED,
    (S.PROPOSED, A.APPROVE): S.APPROVED,
    (S.PROPOSED, A.SEND_BACK): S.RETURNED,
    (S.RETURNED, A.REVISE): S.PROPOSED,
}
ALL_PAIRS = [(s, a) for s in LiquidationState for a in LiquidationAction]


@pytest.mark.parametrize("state, action", ALL_PAIRS, ids=[f"{s}-{a}" for s, a in ALL_PAIRS])
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(TransitionRefused) as exc:
            next_state(state, action)
        assert (exc.value.state, exc.value.action) == (state, action)


def test_the_table_is_exactly_the_expected_one():
    assert TRANSITIONS == EXPECTED


def test_approved_and_recorded_are_final():
    assert FINAL == {S.APPROVED, S.RECORDED}
    for state in FINAL:
        assert allowed_actions(state) == []


def test_unknown_states_and_actions_are_refused():
    for state, action in (("liquidated", A.APPROVE), (S.PROPOSED, "approve_all")):
        with pytest.raises(TransitionRefused):
            next_state(state, action)


D, X = Discipline, SignOffDecision


@pytest.mark.parametrize("decisions, outcome", [
    ({}, A.SIGN_OFF),
    ({D.LEGAL: X.APPROVE}, A.SIGN_OFF),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.APPROVE}, A.SIGN_OFF),
    ({D.MONITORING: X.SEND_BACK}, A.SEND_BACK),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.SEND_BACK}, A.SEND_BACK),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.APPROVE, D.MONITORING: X.APPROVE}, A.APPROVE),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.APPROVE, D.MONITORING: X.SEND_BACK}, A.SEND_BACK),
])
def test_round_outcome(decisions, outcome):
    assert round_outcome(decisions) == outcome
