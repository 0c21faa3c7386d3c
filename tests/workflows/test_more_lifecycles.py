"""Every (state, action) pair of the lifecycles that issue 13 made tables of: suppliers, uploaded
lists, audit runs and findings, incidents and their measures, the e-mail outbox, generated files,
expense statements and the report to the Assembly."""
import pytest

from grants.workflows import TransitionRefused
from grants.workflows import advance, assembly_report, audit_check, generated_file, import_batch, incident, outbox
from grants.workflows import supplier
from tests.workflows.pairs import every_pair_tests

Su, SuA = supplier.SupplierState, supplier.SupplierAction
B, BA = import_batch.BatchState, import_batch.BatchAction
R, RA = audit_check.RunState, audit_check.RunAction
F = audit_check.FindingState
I, IA = incident.IncidentState, incident.IncidentAction
M, MA = incident.MeasureState, incident.MeasureAction
O, OA = outbox.OutboxState, outbox.OutboxAction
G, GA = generated_file.FileState, generated_file.FileAction
St, StA = advance.StatementState, advance.StatementAction
Re, ReA = assembly_report.ReportState, assembly_report.ReportAction

CASES = [
    ("supplier", supplier.LIFECYCLE, Su, SuA, {
        (Su.PROPOSED, SuA.VALIDATE): Su.VALIDATED,
        (Su.PROPOSED, SuA.REJECT): Su.REJECTED,
        (Su.VALIDATED, SuA.SUPERSEDE): Su.SUPERSEDED,
        (Su.REJECTED, SuA.SUPERSEDE): Su.SUPERSEDED,
    }),
    ("import_batch", import_batch.LIFECYCLE, B, BA, {
        (B.PROCESSING, BA.FINISH): B.READY,
        (B.PROCESSING, BA.FAIL): B.FAILED,
        (B.READY, BA.CONFIRM): B.CONFIRMED,
        (B.READY, BA.DISCARD): B.DISCARDED,
        (B.FAILED, BA.DISCARD): B.DISCARDED,
        (B.CONFIRMED, BA.VALIDATE): B.VALIDATED,
    }),
    ("audit_check_run", audit_check.RUN_LIFECYCLE, R, RA, {
        (R.RUNNING, RA.FINISH): R.FINISHED,
        (R.RUNNING, RA.FAIL): R.FAILED,
    }),
    ("audit_finding", audit_check.LIFECYCLE, F, F, {
        (F.OPEN, F.JUSTIFIED): F.JUSTIFIED,
        (F.OPEN, F.CONFIRMED): F.CONFIRMED,
        (F.JUSTIFIED, F.CONFIRMED): F.CONFIRMED,
        (F.CONFIRMED, F.RESOLVED): F.RESOLVED,
    }),
    ("incident", incident.LIFECYCLE, I, IA, {(I.OPEN, IA.RESOLVE): I.RESOLVED}),
    ("incident_measure", incident.MEASURE_LIFECYCLE, M, MA, {
        (M.PENDING_REPLY, MA.APPLY): M.IN_EFFECT,
        (M.PENDING_REPLY, MA.WITHDRAW): M.WITHDRAWN,
    }),
    ("outbox_email", outbox.LIFECYCLE, O, OA, {
        (O.PENDING, OA.SEND): O.SENT,
        (O.PENDING, OA.GIVE_UP): O.FAILED,
    }),
    ("generated_file", generated_file.LIFECYCLE, G, GA, {
        (G.PENDING, GA.FINISH): G.READY,
        (G.PENDING, GA.FAIL): G.FAILED,
        (G.READY, GA.EXPIRE): G.EXPIRED,
        (G.FAILED, GA.EXPIRE): G.EXPIRED,
    }),
    ("expense_statement", advance.STATEMENT_LIFECYCLE, St, StA, {(St.SUBMITTED, StA.REVIEW): St.REVIEWED}),
    ("legislature_report", assembly_report.LIFECYCLE, Re, ReA, {(Re.GENERATED, ReA.SEND): Re.SENT}),
]
test_every_state_action_pair, test_the_table_is_exactly_the_expected_one = every_pair_tests(CASES)


def test_a_state_the_table_does_not_know_is_refused_not_guessed():
    with pytest.raises(TransitionRefused):
        supplier.next_state("approved", SuA.VALIDATE)   # a plan's state, not a supplier's
    with pytest.raises(TransitionRefused):
        import_batch.next_state(B.READY, "activate")


def test_a_proposed_supplier_is_edited_in_place_never_superseded():
    assert SuA.SUPERSEDE not in supplier.allowed_actions(Su.PROPOSED)
    assert supplier.allowed_actions(Su.SUPERSEDED) == []
    assert supplier.CURRENT_STATES == {Su.PROPOSED, Su.VALIDATED, Su.REJECTED}


def test_only_a_confirmed_enrollment_list_is_validated():
    assert import_batch.validatable(B.CONFIRMED, "enrollment")
    assert not import_batch.validatable(B.CONFIRMED, "status")
    assert not import_batch.validatable(B.READY, "enrollment")
    # a confirmed status list is final too, but the table cannot tell kinds apart: ``validatable`` does
    assert {s for s in B if not import_batch.allowed_actions(s)} == {B.DISCARDED, B.VALIDATED}


def test_a_finding_is_never_decided_back_to_open():
    assert F.OPEN not in audit_check.DECISIONS
    assert all(target != F.OPEN for target in audit_check.TRANSITIONS.values())


@pytest.mark.parametrize("waits, state", [(True, M.PENDING_REPLY), (False, M.IN_EFFECT)])
def test_a_measure_starts_waiting_for_the_reply_unless_it_takes_effect_at_once(waits, state):
    assert incident.first_measure_state(waits) == state
