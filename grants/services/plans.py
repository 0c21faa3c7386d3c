"""Work plans: create, edit the draft, submit, review, revise. Flush, never commit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import DECISION_LABELS, DISCIPLINE_LABELS, PLAN_STATE_LABELS
from grants.models import Allocation, Plan, PlanVersion, Review, ReviewObservation, SECTIONS
from grants.models.base import utcnow
from grants.permissions import DISCIPLINE_ROLES, Role
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.services.plan_content import parse_content, read_content, write_content
from grants.validation.plan import check_content
from grants.workflows import TransitionRefused
from grants.workflows.plan import Decision, Discipline, PlanAction, PlanState, next_state, round_outcome


def _allowed(plan: Plan, action: PlanAction) -> PlanState:
    """The state ``action`` leads to, or a Conflict naming the current state."""
    try:
        return next_state(PlanState(plan.status), action)
    except TransitionRefused:
        raise Conflict(_l("El plan está en estado «%(state)s» y no admite esta acción.",
                          state=PLAN_STATE_LABELS[plan.status]), code="invalid_transition") from None


def _transition(plan: Plan, action: PlanAction) -> None:
    plan.status = _allowed(plan, action)


def _audit_view(plan: Plan) -> dict:
    data = snapshot(plan)
    latest = plan.latest_version
    if latest is not None:
        data["version"] = {"number": latest.number, "submitted_at": latest.submitted_at,
                           "budget_total": latest.budget_total, "content": read_content(latest)}
    return data


def _load_plan(plan_id: int, lock: bool = True) -> Plan:
    plan = db.session.get(Plan, plan_id, with_for_update=lock)
    if plan is None:
        raise NotFound()
    return plan


def _own_plan(actor: Actor, plan: Plan) -> None:
    user = actor.user
    if user is None or not user.acts_for(plan.organization_id):
        raise Forbidden(_l("Solo la organización titular edita y envía su plan."))


def _checked_content(raw: dict, allocation: Allocation, *, strict: bool) -> dict:
    errors = FieldErrors()
    content = parse_content(raw, allocation.fiscal_year, errors)
    errors.raise_if_any()
    check_content(content, allocation.fiscal_year, allocation.amount, strict=strict).raise_if_any()
    return content


def create_plan(actor: Actor, allocation_id: int, title: str, raw: dict) -> Plan:
    """The NGO opens the work plan of one of its allocations, with a first draft version."""
    allocation = db.session.get(Allocation, allocation_id)
    user = actor.user
    if allocation is None or user is None or (
            user.organization_id != allocation.organization_id and not user.sees_all_organizations):
        raise ValidationFailed(errors={"allocation_id": [_l("La asignación no existe.")]})
    if not user.acts_for(allocation.organization_id):
        raise Forbidden(_l("Solo la organización titular edita y envía su plan."))
    if db.session.scalar(select(Plan.id).where(Plan.allocation_id == allocation.id)):
        raise ValidationFailed(errors={"allocation_id": [_l("Esta asignación ya tiene un plan de trabajo.")]})
    if not (title or "").strip() or len(title.strip()) > 200:
        raise ValidationFailed(errors={"title": [_l("Indique un título de hasta 200 caracteres.")]})
    content = _checked_content(raw, allocation, strict=False)
    plan = Plan(allocation=allocation, organization_id=allocation.organization_id, title=title.strip(),
                status=PlanState.DRAFT)
    version = PlanVersion(number=1, created_by_id=user.id)
    write_content(version, content)
    plan.versions.append(version)
    db.session.add(plan)
    db.session.flush()
    record_event(db.session, actor, "plan.created", "plan", plan.id, after=_audit_view(plan),
                 organization_id=plan.organization_id)
    return plan


def save_draft(actor: Actor, plan_id: int, raw: dict, title: str | None = None) -> PlanVersion:
    plan = _load_plan(plan_id)
    _own_plan(actor, plan)
    _transition(plan, PlanAction.EDIT)
    version = plan.latest_version
    before = _audit_view(plan)
    content = _checked_content(raw, plan.allocation, strict=False)
    if title is not None and title.strip():
        if len(title.strip()) > 200:
            raise ValidationFailed(errors={"title": [_l("Indique un título de hasta 200 caracteres.")]})
        plan.title = title.strip()
    write_content(version, content)
    db.session.flush()
    after = _audit_view(plan)
    if after != before:
        record_event(db.session, actor, "plan.draft_saved", "plan", plan.id, before=before, after=after,
                     organization_id=plan.organization_id)
    return version


def submission_problems(plan: Plan) -> dict:
    """What still keeps the draft from being submitted ({} when it can be)."""
    version = plan.latest_version
    return check_content(read_content(version), plan.allocation.fiscal_year, plan.allocation.amount,
                         strict=True).errors


def submit_plan(actor: Actor, plan_id: int) -> PlanVersion:
    plan = _load_plan(plan_id)
    _own_plan(actor, plan)
    _allowed(plan, PlanAction.SUBMIT)
    problems = submission_problems(plan)
    if problems:
        raise ValidationFailed(errors=problems)
    _transition(plan, PlanAction.SUBMIT)
    version = plan.latest_version
    version.submitted_at = utcnow()
    version.submitted_by_id = actor.user_id
    db.session.flush()
    record_event(db.session, actor, "plan.submitted", "plan", plan.id,
                 after={"status": plan.status, "version": version.number, "budget_total": version.budget_total},
                 organization_id=plan.organization_id)
    reviewers = [u for role in DISCIPLINE_ROLES.values() for u in users_with_role(role)]
    notify(reviewers, "plan.submitted",
           _l("Plan enviado a revisión: %(title)s (versión %(n)s)", title=plan.title, n=version.number),
           _l("%(org)s envió su plan de trabajo. Registre la decisión de su disciplina.",
              org=plan.organization.legal_name),
           link=f"/plans/{plan.id}/review")
    return version


def revise_plan(actor: Actor, plan_id: int) -> PlanVersion:
    """After changes were requested, the NGO starts a new version from the last one."""
    plan = _load_plan(plan_id)
    _own_plan(actor, plan)
    _transition(plan, PlanAction.REVISE)
    previous = plan.latest_version
    version = PlanVersion(number=previous.number + 1, created_by_id=actor.user_id)
    write_content(version, read_content(previous))
    plan.versions.append(version)
    db.session.flush()
    record_event(db.session, actor, "plan.revision_started", "plan", plan.id,
                 after={"status": plan.status, "version": version.number}, organization_id=plan.organization_id)
    return version


def record_review(actor: Actor, plan_id: int, version_number: int, discipline: str, decision: str,
                  observations: list[dict], reason: str | None = None) -> Review:
    """One discipline decides on the submitted version; the round may then close."""
    plan = _load_plan(plan_id)
    user = actor.user
    errors = FieldErrors()
    try:
        discipline, decision = Discipline(discipline), Decision(decision)
    except ValueError:
        raise ValidationFailed(errors={"decision": [_l("Disciplina o decisión desconocida.")]}) from None
    if user is None or DISCIPLINE_ROLES[discipline] not in user.roles:
        raise Forbidden(_l("Solo un revisor de esa disciplina puede decidir."))
    version = plan.submitted_version
    if version is None or version.number != version_number or plan.status not in (
            PlanState.SUBMITTED, PlanState.IN_REVIEW):
        raise Conflict(_l("Esa versión no está en revisión."), code="version_not_in_review")
    decided = {r.discipline: r for r in version.reviews}
    if discipline in decided:
        raise Conflict(_l("La disciplina %(d)s ya decidió sobre esta versión.", d=DISCIPLINE_LABELS[discipline]),
                       code="discipline_already_decided")
    if any(r.reviewer_id == user.id for r in version.reviews):
        raise Conflict(_l("Una misma persona no puede decidir dos disciplinas de una versión."),
                       code="segregation_of_duties")
    if decision == Decision.REJECT and not (reason or "").strip():
        errors.add("reason", _l("El rechazo necesita un motivo."))
    if decision == Decision.REQUEST_CHANGES and not observations:
        errors.add("observations", _l("Indique qué debe cambiar: al menos una observación."))
    for i, item in enumerate(observations):
        if item.get("section") not in SECTIONS:
            errors.add(f"observations.{i}.section", _l("Sección desconocida."))
        if not (item.get("text") or "").strip():
            errors.add(f"observations.{i}.text", _l("Este campo es obligatorio."))
    errors.raise_if_any()

    if plan.status == PlanState.SUBMITTED:
        _transition(plan, PlanAction.START_REVIEW)
    review = Review(version=version, discipline=discipline, reviewer_id=user.id, decision=decision,
                    reason=(reason or "").strip() or None,
                    observations=[ReviewObservation(section=o["section"], text=o["text"].strip())
                                  for o in observations])
    db.session.add(review)
    db.session.flush()
    outcome = round_outcome(version.decisions())
    _transition(plan, outcome)
    if outcome == PlanAction.REJECT:
        plan.rejection_reason = review.reason
    db.session.flush()
    record_event(db.session, actor, "plan.review_recorded", "plan", plan.id, after={
        "version": version.number, "discipline": discipline, "decision": decision, "reason": review.reason,
        "observations": [{"section": o.section, "text": o.text} for o in review.observations],
        "plan_status": plan.status}, organization_id=plan.organization_id)
    _notify_decision(plan, version, review, outcome)
    return review


def _notify_decision(plan: Plan, version: PlanVersion, review: Review, outcome: PlanAction) -> None:
    ngo_users = users_of_organization(plan.organization_id)
    link = f"/plans/{plan.id}"
    notify(ngo_users, "plan.decision",
           _l("Revisión %(d)s de su plan «%(title)s» (versión %(n)s): %(decision)s",
              d=DISCIPLINE_LABELS[review.discipline], title=plan.title, n=version.number,
              decision=DECISION_LABELS[review.decision]),
           review.reason or "", link=link)
    if outcome == PlanAction.REQUEST_CHANGES:
        notify(ngo_users, "plan.changes_requested",
               _l("Se solicitaron cambios a su plan «%(title)s»", title=plan.title),
               _l("Revise las observaciones y envíe una nueva versión."), link=link)
    elif outcome == PlanAction.APPROVE:
        notify(ngo_users + users_with_role(Role.LEGAL_REVIEWER), "plan.approved",
               _l("Plan aprobado: %(title)s", title=plan.title),
               _l("Las tres disciplinas aprobaron la versión %(n)s.", n=version.number), link=link)
    elif outcome == PlanAction.REJECT:
        notify(ngo_users, "plan.rejected", _l("Plan rechazado: %(title)s", title=plan.title),
               review.reason or "", link=link)
