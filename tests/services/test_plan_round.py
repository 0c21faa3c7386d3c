"""A full round through the services: submit → two approve, one requests changes → new version →
all approve → agreement → sign → administrator → in execution; audit events for each step."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.models import AuditEvent, Notification, PlanVersion
from grants.services import agreements, plans
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.pdfs import tiny_pdf
from tests.timeline import day, year


def act(user):
    return Actor.for_user(user)


@pytest.fixture
def people(app):
    org = make_organization()
    allocation = make_allocation(org, amount="100000.00")
    return {
        "org": org, "allocation": allocation,
        "ngo": make_user(["ngo"], organization=org),
        "legal": make_user(["legal_reviewer"]), "financial": make_user(["financial_reviewer"]),
        "monitoring": make_user(["monitoring_reviewer"]), "administrator": make_user(["administrator"]),
    }


def submitted_plan(p):
    plan = plans.create_plan(act(p["ngo"]), p["allocation"].id, "Jóvenes con futuro", plan_content())
    plans.submit_plan(act(p["ngo"]), plan.id)
    return plan


def test_full_round_to_execution_with_audit_and_notifications(people, tmp_path, app):
    p = people
    app.config["UPLOAD_DIR"] = str(tmp_path)
    plan = submitted_plan(p)
    assert plan.status == "submitted"
    plans.record_review(act(p["legal"]), plan.id, 1, "legal", "approve", [])
    plans.record_review(act(p["financial"]), plan.id, 1, "financial", "approve", [])
    assert plan.status == "in_review"
    plans.record_review(act(p["monitoring"]), plan.id, 1, "monitoring", "request_changes",
                        [{"section": "indicators", "text": "Agregue un indicador de permanencia escolar."}])
    assert plan.status == "changes_requested"

    version2 = plans.revise_plan(act(p["ngo"]), plan.id)
    assert (version2.number, plan.status) == (2, "draft")
    content = plan_content()
    content["indicators"].append({"expected_result": "Permanencia", "name": "Jóvenes que siguen estudiando",
                                  "unit": "%", "baseline": "60", "target": "80",
                                  "means_of_verification": "Constancias escolares"})
    plans.save_draft(act(p["ngo"]), plan.id, content)
    plans.submit_plan(act(p["ngo"]), plan.id)
    for discipline in ("legal", "financial", "monitoring"):
        plans.record_review(act(p[discipline]), plan.id, 2, discipline, "approve", [])
    assert plan.status == "approved"

    agreement = agreements.create_agreement(act(p["legal"]), plan.id, {
        "ministry_signatory_name": "Ministro", "ministry_signatory_title": "Ministro de Justicia",
        "ngo_signatory_name": "Representante", "ngo_signatory_title": "Representante legal"})
    assert agreement.number == f"MJSP-CONV-{year()}-0001"
    assert agreement.amount == version2.budget_total
    assert agreement.plan_version_id == version2.id
    agreements.sign_agreement(act(p["legal"]), agreement.id, day("2026-01-20"), tiny_pdf())
    assert (tmp_path / "agreements" / f"{agreement.signed_scan_sha256}.pdf").exists()
    with pytest.raises(Conflict):
        agreements.start_execution(act(p["legal"]), agreement.id)
    agreements.designate_administrator(act(p["legal"]), agreement.id, p["administrator"].id)
    agreements.start_execution(act(p["legal"]), agreement.id)
    assert agreement.status == "in_execution"
    db.session.commit()

    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    for expected in ("plan.created", "plan.submitted", "plan.review_recorded", "plan.revision_started",
                     "plan.draft_saved", "agreement.created", "agreement.signed",
                     "agreement.administrator_designated", "agreement.execution_started"):
        assert expected in actions, expected
    assert actions.count("plan.review_recorded") == 6
    assert verify_chain(db.session).ok
    assert [h.to_status for h in agreement.history] == ["draft", "signed", "in_execution"]
    inbox = db.session.scalars(select(Notification.kind).where(Notification.user_id == p["ngo"].id)).all()
    assert "plan.changes_requested" in inbox and "plan.approved" in inbox and "agreement.signed" in inbox
    reviewer_inbox = db.session.scalars(select(Notification.kind).where(Notification.user_id == p["legal"].id)).all()
    assert reviewer_inbox.count("plan.submitted") == 2


def test_one_person_never_decides_two_disciplines_of_one_version(people):
    p = people
    both = make_user(["legal_reviewer", "financial_reviewer"])
    plan = submitted_plan(p)
    plans.record_review(act(both), plan.id, 1, "legal", "approve", [])
    with pytest.raises(Conflict) as exc:
        plans.record_review(act(both), plan.id, 1, "financial", "approve", [])
    assert exc.value.code == "segregation_of_duties"


def test_the_database_refuses_a_second_discipline_by_the_same_person(people):
    from grants.models import Review

    p = people
    plan = submitted_plan(p)
    plans.record_review(act(p["legal"]), plan.id, 1, "legal", "approve", [])
    version = plan.submitted_version
    db.session.add(Review(version=version, discipline="financial", reviewer_id=p["legal"].id, decision="approve"))
    with pytest.raises(DBAPIError):
        db.session.flush()
    db.session.rollback()


def test_an_ngo_user_cannot_review_and_a_reviewer_only_its_discipline(people):
    p = people
    plan = submitted_plan(p)
    with pytest.raises(Forbidden):
        plans.record_review(act(p["ngo"]), plan.id, 1, "legal", "approve", [])
    with pytest.raises(Forbidden):
        plans.record_review(act(p["financial"]), plan.id, 1, "legal", "approve", [])


def test_reject_needs_a_reason_and_is_final(people):
    p = people
    plan = submitted_plan(p)
    with pytest.raises(ValidationFailed) as exc:
        plans.record_review(act(p["legal"]), plan.id, 1, "legal", "reject", [])
    assert "reason" in exc.value.errors
    plans.record_review(act(p["legal"]), plan.id, 1, "legal", "reject", [], reason="Objeto ajeno a la prevención")
    assert plan.status == "rejected" and plan.rejection_reason == "Objeto ajeno a la prevención"
    with pytest.raises(Conflict):
        plans.record_review(act(p["financial"]), plan.id, 1, "financial", "approve", [])
    with pytest.raises(Conflict):
        plans.revise_plan(act(p["ngo"]), plan.id)


def test_a_submitted_version_is_frozen_in_the_database(people):
    p = people
    plan = submitted_plan(p)
    db.session.commit()
    version_id = plan.submitted_version.id
    for statement in (f"UPDATE plan_versions SET justification = 'x' WHERE id = {version_id}",
                      f"UPDATE plan_budget_lines SET amount = 1 WHERE version_id = {version_id}",
                      f"DELETE FROM plan_tranches WHERE version_id = {version_id}"):
        with pytest.raises(DBAPIError) as exc:
            with db.session.begin_nested():
                db.session.execute(text(statement))
        assert "frozen" in str(exc.value)
    assert db.session.get(PlanVersion, version_id).justification != "x"


def test_the_ngo_cannot_edit_while_in_review_and_other_ngos_cannot_touch_it(people):
    p = people
    plan = submitted_plan(p)
    with pytest.raises(Conflict):
        plans.save_draft(act(p["ngo"]), plan.id, plan_content())
    stranger = make_user(["ngo"], organization=make_organization())
    with pytest.raises(Forbidden):
        plans.submit_plan(act(stranger), plan.id)


def test_administrator_must_not_be_one_of_the_plan_reviewers(people):
    p = people
    both = make_user(["legal_reviewer", "administrator"])
    plan = plans.create_plan(act(p["ngo"]), p["allocation"].id, "Plan", plan_content())
    plans.submit_plan(act(p["ngo"]), plan.id)
    plans.record_review(act(both), plan.id, 1, "legal", "approve", [])
    plans.record_review(act(p["financial"]), plan.id, 1, "financial", "approve", [])
    plans.record_review(act(p["monitoring"]), plan.id, 1, "monitoring", "approve", [])
    agreement = agreements.create_agreement(act(p["legal"]), plan.id, {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T",
        "ngo_signatory_name": "N", "ngo_signatory_title": "R"})
    with pytest.raises(ValidationFailed) as exc:
        agreements.designate_administrator(act(p["legal"]), agreement.id, both.id)
    assert "user_id" in exc.value.errors
    with pytest.raises(ValidationFailed):
        agreements.designate_administrator(act(p["legal"]), agreement.id, p["financial"].id)
