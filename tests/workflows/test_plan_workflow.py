"""Every (state, action) pair of the plan lifecycle: allowed with its next state, or refused."""
import pytest

from grants.workflows import TransitionRefused
from grants.workflows.plan import (
    TRANSITIONS,
    Decision,
    Discipline,
    PlanAction,
    PlanState,
    next_state,
    round_outcome,
)

S, A = PlanState, PlanAction
EXPECTED = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.START_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, A.RECORD_DECISION): S.IN_REVIEW,
    (S.IN_REVIEW, A.APPROVE): S.APPROVED,
    (S.IN_REVIEW, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, A.REJECT): S.REJECTED,
    (S.CHANGES_REQUESTED, A.REVISE): S.DRAFT,
}
ALL_PAIRS = [(s, a) for s in PlanState for a in PlanAction]


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


def test_approved_and_rejected_are_final():
    for state in (S.APPROVED, S.REJECTED):
        assert not [a for a in PlanAction if (state, a) in TRANSITIONS]


D, X = Discipline, Decision


@pytest.mark.parametrize("decisions, outcome", [
    ({}, A.RECORD_DECISION),
    ({D.LEGAL: X.APPROVE}, A.RECORD_DECISION),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.REQUEST_CHANGES}, A.RECORD_DECISION),
    ({D.LEGAL: X.REJECT}, A.REJECT),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.APPROVE, D.MONITORING: X.APPROVE}, A.APPROVE),
    ({D.LEGAL: X.APPROVE, D.FINANCIAL: X.APPROVE, D.MONITORING: X.REQUEST_CHANGES}, A.REQUEST_CHANGES),
    ({D.LEGAL: X.REQUEST_CHANGES, D.FINANCIAL: X.APPROVE, D.MONITORING: X.REJECT}, A.REJECT),
])
def test_round_outcome(decisions, outcome):
    assert round_outcome(decisions) == outcome
