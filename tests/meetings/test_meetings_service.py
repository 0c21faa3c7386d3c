"""Technical meetings through the service: where a meeting goes, who records it, its dates and
participants, commitments (owner, due date, done/cancel and who may), audit, notifications, the
overdue query — each rule with a case that passes and one that is refused."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.models import Notification
from grants.services import meetings, plans
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.helpers import audit_actions
from tests.meetings.helpers import act, commitment, meeting_data, recorded
from tests.timeline import day, iso, today, year


def errors_of(excinfo) -> set[str]:
    return set(excinfo.value.errors)


def notes_of(user) -> list[Notification]:
    """The user's notifications about commitments (the agreement's own steps notify them too)."""
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind.like("commitment.%"))
                              .order_by(Notification.id)).all()


# --- recording -----------------------------------------------------------------------------------

def test_the_administrator_records_a_meeting_with_participants_and_commitments(ctx):
    ngo, administrator = ctx["ngo"], ctx["administrator"]
    meeting = recorded(ctx, commitments=[commitment(ngo, iso("2026-06-30")),
                                         commitment(administrator, iso("2026-07-15"), "Visitar los talleres.")])
    assert (meeting.agreement_id, meeting.plan_id, meeting.allocation_id) == (ctx["agreement"].id, None, None)
    assert meeting.organization_id == ctx["organization"].id and meeting.held_on == day("2026-06-15")
    assert [(p.number, p.institution, p.name) for p in meeting.participants] == [
        (1, "ministry", "Licda. Karla Mejía"), (2, "ngo", "Carlos Menjívar")]
    assert [(c.owner_id, c.due_on, c.status) for c in meeting.commitments] == [
        (ngo.id, day("2026-06-30"), "open"), (administrator.id, day("2026-07-15"), "open")]
    assert audit_actions("meeting", meeting.id) == ["meeting.recorded"]
    assert audit_actions("commitment", meeting.commitments[0].id) == ["commitment.added"]
    # the NGO's owner is told; the administrator assigned their own commitment: no note to themselves
    assert [n.link for n in notes_of(ngo)] == [f"/meetings/{meeting.id}"]
    assert notes_of(administrator) == []


@pytest.mark.parametrize("who", ["monitoring", "legal"])
def test_monitoring_and_the_legal_team_record_meetings_too(ctx, who):
    assert recorded(ctx, by=who).recorded_by_id == ctx[who].id


@pytest.mark.parametrize("who", ["ngo", "financial", "other_administrator", "auditor"])
def test_others_do_not_record_meetings(ctx, who):
    ctx = {**ctx, "other_administrator": make_user(["administrator"]), "auditor": make_user(["auditor"])}
    with pytest.raises(Forbidden):
        meetings.record_meeting(act(ctx[who]), "agreement", ctx["agreement"].id, meeting_data())


def test_another_organizations_user_gets_not_found(ctx):
    meeting = recorded(ctx)
    outsider = agreement_in_execution()["ngo"]
    with pytest.raises(NotFound):
        meetings.record_meeting(act(outsider), "agreement", ctx["agreement"].id, meeting_data())
    with pytest.raises(NotFound):
        meetings.load_meeting(outsider, meeting.id)
    assert meetings.load_meeting(ctx["ngo"], meeting.id) == meeting


def test_a_held_meeting_is_not_in_the_future(ctx):
    assert recorded(ctx, held_on=today().isoformat()).held_on == today()
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, held_on=(today() + timedelta(days=1)).isoformat())
    assert errors_of(refused) == {"held_on"}


def test_a_meeting_is_not_before_the_year_before_the_allocations_fiscal_year(ctx):
    earliest = date(year() - 1, 1, 1)
    assert recorded(ctx, held_on=earliest.isoformat()).held_on == earliest
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, held_on=(earliest - timedelta(days=1)).isoformat())
    assert errors_of(refused) == {"held_on"}


def test_both_parties_take_part_and_each_participant_is_named(ctx):
    ministry_only = [{"name": "Licda. Karla Mejía", "institution": "ministry", "position": ""}]
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, participants=ministry_only)
    assert errors_of(refused) == {"participants"}
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, participants=ministry_only + [{"name": " ", "institution": "ngo"},
                                                    {"name": "Ana", "institution": "church"}])
    assert errors_of(refused) == {"participants.1.name", "participants.2.institution"}
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, place="", minutes="  ")
    assert errors_of(refused) == {"place", "minutes"}


# --- where a meeting goes ------------------------------------------------------------------------

def test_a_meeting_goes_on_the_cases_current_record_and_every_page_lists_the_whole_case(app):
    organization = make_organization()
    allocation = make_allocation(organization)
    ngo, monitoring = make_user(["ngo"], organization=organization), make_user(["monitoring_reviewer"])
    people = {"monitoring": monitoring}
    before_plan = recorded(people, by="monitoring", stage="allocation", record=allocation, held_on=iso("2026-01-10"))
    plan = plans.create_plan(act(ngo), allocation.id, "Plan", plan_content())
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        recorded(people, by="monitoring", stage="allocation", record=allocation)
    assert refused.value.code == "meeting_stage"
    on_plan = recorded(people, by="monitoring", stage="plan", record=plan, held_on=iso("2026-01-25"))
    assert (before_plan.allocation_id, on_plan.plan_id) == (allocation.id, plan.id)
    assert meetings.case_meetings(plan) == meetings.case_meetings(allocation) == [before_plan, on_plan]


def test_once_the_plan_has_an_agreement_meetings_go_on_the_agreement(ctx):
    with pytest.raises(Conflict) as refused:
        recorded(ctx, by="monitoring", stage="plan", record=ctx["agreement"].plan)
    assert refused.value.code == "meeting_stage"
    meeting = recorded(ctx)
    assert meetings.case_meetings(ctx["agreement"].plan) == [meeting]


# --- commitments ---------------------------------------------------------------------------------

def test_a_commitment_is_due_on_or_after_the_meeting_and_within_a_year(ctx):
    ngo = ctx["ngo"]
    meeting = recorded(ctx, commitments=[commitment(ngo, iso("2026-06-15"))])
    assert meeting.commitments[0].due_on == meeting.held_on
    for due in (iso("2026-06-14"), (day("2026-06-15") + timedelta(days=367)).isoformat()):
        with pytest.raises(ValidationFailed) as refused:
            meetings.add_commitment(act(ctx["administrator"]), meeting.id, commitment(ngo, due))
        assert errors_of(refused) == {"due_on"}
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, commitments=[commitment(ngo, iso("2026-06-01"))])
    assert errors_of(refused) == {"commitments.0.due_on"}


def test_the_owner_is_ministry_staff_or_the_meetings_ngo(ctx):
    meeting = recorded(ctx)
    administrator = act(ctx["administrator"])
    assert meetings.add_commitment(administrator, meeting.id, commitment(ctx["monitoring"], iso("2026-07-01")))
    outsider = agreement_in_execution()["ngo"]
    inactive = make_user(["ngo"], organization=ctx["organization"], active=False)
    for owner in (outsider, inactive):
        with pytest.raises(ValidationFailed) as refused:
            meetings.add_commitment(administrator, meeting.id, commitment(owner, iso("2026-07-01")))
        assert errors_of(refused) == {"owner_id"}
    with pytest.raises(Forbidden):
        meetings.add_commitment(act(ctx["ngo"]), meeting.id, commitment(ctx["ngo"], iso("2026-07-01")))


def test_the_owner_marks_their_own_commitment_done_and_the_recorder_is_told(ctx):
    ngo = ctx["ngo"]
    colleague = make_user(["ngo"], organization=ctx["organization"])
    meeting = recorded(ctx, commitments=[commitment(ngo, iso("2026-06-30"))])
    item = meeting.commitments[0]
    with pytest.raises(Forbidden):
        meetings.complete_commitment(act(colleague), item.id)
    done = meetings.complete_commitment(act(ngo), item.id, "Listas entregadas el 28/06.")
    assert (done.status, done.closed_by_id, done.close_note) == ("done", ngo.id, "Listas entregadas el 28/06.")
    assert audit_actions("commitment", item.id) == ["commitment.added", "commitment.done"]
    assert [n.kind for n in notes_of(ctx["administrator"])] == ["commitment.done"]
    with pytest.raises(Conflict) as refused:
        meetings.complete_commitment(act(ngo), item.id)
    assert refused.value.code == "commitment_closed"


def test_the_recorder_marks_done_or_cancels_with_a_reason_and_the_owner_cannot_cancel(ctx):
    ngo = ctx["ngo"]
    meeting = recorded(ctx, commitments=[commitment(ngo, iso("2026-06-30")), commitment(ngo, iso("2026-07-30"))])
    first, second = meeting.commitments
    with pytest.raises(Forbidden):
        meetings.cancel_commitment(act(ngo), first.id, "Ya no aplica.")
    with pytest.raises(ValidationFailed) as refused:
        meetings.cancel_commitment(act(ctx["administrator"]), first.id, " ")
    assert errors_of(refused) == {"note"}
    cancelled = meetings.cancel_commitment(act(ctx["administrator"]), first.id, "La actividad se reprogramó.")
    assert (cancelled.status, cancelled.close_note) == ("cancelled", "La actividad se reprogramó.")
    assert meetings.complete_commitment(act(ctx["administrator"]), second.id).status == "done"
    assert [n.kind for n in notes_of(ngo)] == ["commitment.assigned"] * 2 + ["commitment.cancelled", "commitment.done"]
    outsider = agreement_in_execution()["ngo"]
    with pytest.raises(NotFound):
        meetings.complete_commitment(act(outsider), second.id)


def test_overdue_commitments_are_the_owners_open_ones_due_before_today(ctx):
    ngo, administrator = ctx["ngo"], ctx["administrator"]
    yesterday, now = (today() - timedelta(days=1)).isoformat(), today().isoformat()
    meeting = recorded(ctx, held_on=iso("2026-10-01"), commitments=[
        commitment(administrator, yesterday, "Visitar los talleres."),
        commitment(administrator, now, "Revisar la lista de octubre."),
        commitment(ngo, yesterday, "Entregar las listas."),
        commitment(ngo, yesterday, "Entregar las facturas.")])
    done = next(c for c in meeting.commitments if c.description == "Entregar las facturas.")
    meetings.complete_commitment(act(ngo), done.id)
    db.session.commit()
    assert [c.description for c in meetings.overdue_commitments(administrator)] == ["Visitar los talleres."]
    assert [c.description for c in meetings.overdue_commitments(ngo)] == ["Entregar las listas."]
    assert meetings.overdue_commitments(ctx["monitoring"]) == []
