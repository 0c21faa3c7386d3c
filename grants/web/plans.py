"""Work-plan pages: list, plan page, editor (new / draft), submit and revise for the NGO;
the reviewers' queue and review page. Routes are thin: the services validate and write."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from grants import formats
from grants.context import current_actor
from grants.extensions import db
from grants.labels import DISCIPLINE_LABELS, PLAN_STATE_LABELS, SECTION_LABELS
from grants.models import SECTIONS, Agreement, Allocation, Plan, PlanVersion, Review
from grants.permissions import DISCIPLINE_ROLES, Permission
from grants.security import require, scope_to_user, visible
from grants.services import plans as plan_service
from grants.services import search
from grants.domain_errors import Conflict
from grants.services.plan_content import diff_versions, read_content
from grants.web import meetings as meeting_pages
from grants.web.paging import int_arg, page_of
from grants.web.actions import submit
from grants.web.search import search_args
from grants.web.confirm import unconfirmed
from grants.web.plan_forms import (
    ActivityForm,
    BudgetLineForm,
    IndicatorForm,
    PlanForm,
    ReviewForm,
    TrancheForm,
    apply_plan_errors,
    form_data,
)
from grants.workflows.plan import PlanState

bp = Blueprint("plan_pages", __name__)

REVIEW_STATES = (PlanState.SUBMITTED.value, PlanState.IN_REVIEW.value)

# Where a content path belongs in the submission checklist (same sections as the reviews).
PATH_SECTIONS = {
    "start_date": "general", "end_date": "general", "justification": "justification",
    "objectives": "objectives", "ministry_alignment": "ministry_alignment", "activities": "activities",
    "budget_lines": "budget", "indicators": "indicators", "territory": "territory",
    "beneficiaries": "beneficiaries", "monitoring": "monitoring", "internal_controls": "internal_controls",
    "tranches": "financial_programming",
}
ROW_NAMES = {
    "activities": (lambda n: _l("Actividad %(n)s", n=n), ActivityForm),
    "budget_lines": (lambda n: _l("Línea %(n)s", n=n), BudgetLineForm),
    "indicators": (lambda n: _l("Indicador %(n)s", n=n), IndicatorForm),
    "tranches": (lambda n: _l("Desembolso %(n)s", n=n), TrancheForm),
}
BENEFICIARY_NAMES = {"target": _l("Número de beneficiarios"), "age_min": _l("Edad mínima"),
                     "age_max": _l("Edad máxima"), "profile": _l("Perfil")}


# --- shared queries (also used by the home page) ---------------------------------------------

def user_disciplines(user) -> list[str]:
    return [d for d, role in DISCIPLINE_ROLES.items() if role in user.roles]


def review_queue_query(disciplines: list[str], states=REVIEW_STATES):
    """Plans under review whose latest (submitted) version still lacks a decision of one of
    ``disciplines`` (all of them when empty), oldest submission first."""
    newer = aliased(PlanVersion)
    latest = (select(func.max(newer.number)).where(newer.plan_id == Plan.id)
              .correlate(Plan).scalar_subquery())
    query = (select(Plan).join(PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.number == latest))
             .where(Plan.status.in_(list(states))))
    if disciplines:
        query = query.where(or_(*[
            ~select(Review.id).where(Review.version_id == PlanVersion.id, Review.discipline == d).exists()
            for d in disciplines]))
    return query.order_by(PlanVersion.submitted_at, Plan.id)


def waiting_count(disciplines: list[str]) -> int:
    query = review_queue_query(disciplines).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(query))


def approved_without_agreement():
    has_agreement = select(Agreement.id).where(Agreement.plan_id == Plan.id).exists()
    return db.session.scalars(select(Plan).where(Plan.status == PlanState.APPROVED, ~has_agreement)
                              .order_by(Plan.updated_at, Plan.id)).all()


def allocations_without_plan(user):
    has_plan = select(Plan.id).where(Plan.allocation_id == Allocation.id).exists()
    query = select(Allocation).where(~has_plan).order_by(Allocation.fiscal_year.desc(), Allocation.id)
    return db.session.scalars(scope_to_user(user, query, Allocation.organization_id)).all()


# --- list and plan page ----------------------------------------------------------------------

@bp.get("/plans")
@login_required
def plan_list():
    require(current_user, Permission.PLANS_READ)
    found = search_args(PlanState, year=True)
    items, pager = page_of(search.plans(current_user, found.filters))
    open_allocations = allocations_without_plan(current_user) if current_user.can(Permission.PLANS_EDIT) else []
    return render_template("plans/list.html", plans=items, paging=pager, search=found,
                           open_allocations=open_allocations)


def _checklist(problems: dict) -> list[dict]:
    """``submission_problems`` grouped by section, in the plan's order, with readable places."""
    by_section: dict[str, list[str]] = {s: [] for s in SECTIONS}
    for path, messages in problems.items():
        parts = path.split(".")
        section = PATH_SECTIONS.get(parts[0], "general")
        where = ""
        if parts[0] in ROW_NAMES and len(parts) >= 2 and parts[1].isdigit():
            row_label, row_form = ROW_NAMES[parts[0]]
            where = str(row_label(int(parts[1]) + 1))
            field = row_form()._fields.get(parts[2]) if len(parts) >= 3 else None
            if field is not None:
                where += f" · {field.label.text}"
        elif parts[0] == "beneficiaries" and len(parts) == 2:
            where = str(BENEFICIARY_NAMES.get(parts[1], parts[1]))
        for message in messages:
            by_section[section].append(f"{where}: {message}" if where else str(message))
    return [{"section": s, "label": SECTION_LABELS[s], "ok": not by_section[s], "messages": by_section[s]}
            for s in SECTIONS]


@bp.get("/plans/<int:plan_id>")
@login_required
def plan_page(plan_id):
    require(current_user, Permission.PLANS_READ)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    wanted = int_arg("version")
    version = next((v for v in plan.versions if v.number == wanted), plan.latest_version)
    checklist = None
    if plan.can_edit(current_user):
        checklist = _checklist(plan_service.submission_problems(plan))
    agreement = db.session.scalar(select(Agreement).where(Agreement.plan_id == plan.id))
    notes_from, notes = review_notes(plan, version)
    return render_template(
        "plans/detail.html", plan=plan, version=version, content=read_content(version),
        checklist=checklist, ready=checklist is not None and all(c["ok"] for c in checklist),
        agreement=agreement, is_owner=_is_owner(plan), notes=notes, notes_from=notes_from,
        meeting_section=meeting_pages.section(plan))


def review_notes(plan: Plan, version: PlanVersion) -> tuple[PlanVersion | None, dict[str, list]]:
    """The reviewers' observations that apply to ``version``, by section: its own, or those of the
    last reviewed version before it (a draft being revised), each with its review and day."""
    reviewed = [v for v in plan.versions if v.number <= version.number and v.reviews]
    notes_from = reviewed[-1] if reviewed else None
    notes: dict[str, list] = {s: [] for s in SECTIONS}
    for review in notes_from.reviews if notes_from else []:
        for note in review.observations:
            notes[note.section].append({"review": review, "text": note.text, "day": formats.day(review.created_at)})
    return notes_from, notes


def _is_owner(plan: Plan) -> bool:
    return current_user.acts_for(plan.organization_id)


# --- editor ----------------------------------------------------------------------------------

def _render_editor(form: PlanForm, allocation: Allocation, plan: Plan | None, status: int = 200, **extra):
    action = (url_for("plan_pages.edit_plan", plan_id=plan.id) if plan is not None
              else url_for("plan_pages.new_plan", allocation_id=allocation.id))
    notes_from, notes = review_notes(plan, plan.latest_version) if plan is not None else (None, {})
    return render_template("plans/edit.html", form=form, allocation=allocation, plan=plan, action=action,
                           budget_total=form.budget_total(), tranche_total=form.tranche_total(),
                           notes_from=notes_from, notes=notes, **extra), status


def _editor_post(form: PlanForm, allocation: Allocation, plan: Plan | None):
    if form.apply_row_action(request.form):
        return _render_editor(form, allocation, plan)  # nothing saved, nothing validated
    allocation_id, plan_id = allocation.id, plan.id if plan is not None else None

    def save():
        if plan_id is None:
            return plan_service.create_plan(current_actor(), allocation_id, form.title.data or "", form.to_content())
        return plan_service.save_draft(current_actor(), plan_id, form.to_content(), title=form.title.data)

    def render(status, refused):  # the stored state, not what the refused call touched
        if refused:
            flash(refused, "error")
        return _render_editor(form, db.session.get(Allocation, allocation_id),
                              db.session.get(Plan, plan_id) if plan_id is not None else None, status)

    return submit(form, save, place_errors=lambda errors: apply_plan_errors(form, errors), render=render,
                  done=_l("Plan de trabajo creado como borrador.") if plan_id is None else _l("Borrador guardado."),
                  then=lambda saved: url_for("plan_pages.plan_page", plan_id=plan_id or saved.id))


@bp.route("/allocations/<int:allocation_id>/plan/new", methods=["GET", "POST"])
@login_required
def new_plan(allocation_id):
    require(current_user, Permission.PLANS_EDIT)
    allocation = visible(current_user, db.session.get(Allocation, allocation_id))
    existing = db.session.scalar(select(Plan).where(Plan.allocation_id == allocation.id))
    if existing is not None:
        flash(_l("Esta asignación ya tiene un plan de trabajo."), "info")
        return redirect(url_for("plan_pages.plan_page", plan_id=existing.id))
    if request.method == "POST":
        return _editor_post(PlanForm(), allocation, None)
    return _render_editor(PlanForm(formdata=None), allocation, None)


def _editable(plan_id: int) -> Plan:
    require(current_user, Permission.PLANS_EDIT)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    if not plan.can_edit(current_user):
        raise Conflict(_l("El plan está en estado «%(state)s»: solo se edita un borrador de la organización titular.",
                          state=PLAN_STATE_LABELS[plan.status]), code="invalid_transition")
    return plan


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def edit_plan(plan_id):
    plan = _editable(plan_id)
    if request.method == "POST":
        return _editor_post(PlanForm(), plan.allocation, plan)
    data = form_data(read_content(plan.latest_version), plan.title, plan.allocation.fiscal_year)
    return _render_editor(PlanForm(formdata=None, data=data), plan.allocation, plan)


@bp.post("/plans/<int:plan_id>/submit")
@login_required
def submit_plan(plan_id):
    require(current_user, Permission.PLANS_EDIT)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    if (refused := unconfirmed(url_for("plan_pages.plan_page", plan_id=plan.id))) is not None:
        return refused
    errors: dict = {}

    def render(status, refused):  # the stored draft (submit_plan moved the status before it checked)
        stored = db.session.get(Plan, plan_id)
        form = PlanForm(formdata=None, data=form_data(read_content(stored.latest_version), stored.title,
                                                      stored.allocation.fiscal_year))
        apply_plan_errors(form, errors)
        if refused:
            flash(refused, "error")
        return _render_editor(form, stored.allocation, stored, status, submit_failed=True)

    return submit(None, lambda: plan_service.submit_plan(current_actor(), plan.id), place_errors=errors.update,
                  done=lambda version: _l("Versión %(n)s enviada a revisión.", n=version.number),
                  then=url_for("plan_pages.plan_page", plan_id=plan.id), render=render)


@bp.post("/plans/<int:plan_id>/revise")
@login_required
def revise_plan(plan_id):
    require(current_user, Permission.PLANS_EDIT)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    version = plan_service.revise_plan(current_actor(), plan.id)
    flash(_l("Versión %(n)s creada a partir de la anterior: atienda las observaciones y envíela.",
             n=version.number), "success")
    return redirect(url_for("plan_pages.edit_plan", plan_id=plan.id))


# --- reviews ---------------------------------------------------------------------------------

@bp.get("/reviews")
@login_required
def review_queue():
    require(current_user, Permission.PLANS_REVIEW)
    mine = user_disciplines(current_user)
    discipline = request.args.get("discipline") or ""
    if discipline == "all":
        disciplines: list[str] = []
    elif discipline in DISCIPLINE_LABELS:
        disciplines = [discipline]
    else:
        discipline, disciplines = "", mine
    state = request.args.get("state") or ""
    if state not in REVIEW_STATES:
        state = ""
    query = review_queue_query(disciplines, [state] if state else REVIEW_STATES)
    items, pager = page_of(query)
    rows = []
    for plan in items:
        version = plan.submitted_version
        decided = {r.discipline: r for r in version.reviews} if version else {}
        rows.append({"plan": plan, "version": version, "decided": decided})
    return render_template("plans/reviews.html", rows=rows, paging=pager, discipline=discipline,
                           state=state, mine=mine)


def _open_disciplines(version: PlanVersion) -> list[str]:
    decided = {r.discipline for r in version.reviews}
    return [d for d in user_disciplines(current_user) if d not in decided]


def _review_context(plan: Plan, version: PlanVersion) -> dict:
    versions = list(plan.versions)
    index = versions.index(version)
    previous = versions[index - 1] if index > 0 else None
    current = read_content(version)
    before = read_content(previous) if previous is not None else None
    earlier_notes: dict[str, list] = {s: [] for s in SECTIONS}
    for old in versions[:index]:
        for review in old.reviews:
            for note in review.observations:
                earlier_notes[note.section].append({"version": old.number, "review": review, "text": note.text})
    return {
        "plan": plan, "version": version, "previous": previous, "content": current, "before": before,
        "diff": diff_versions(before, current), "earlier_notes": earlier_notes,
        "earlier_versions": [v for v in versions[:index] if v.reviews],
        "decided_by_me": [r for r in version.reviews if r.reviewer_id == current_user.id],
        "in_review": plan.status in REVIEW_STATES,
    }


@bp.route("/plans/<int:plan_id>/review", methods=["GET", "POST"])
@login_required
def review_plan(plan_id):
    require(current_user, Permission.PLANS_REVIEW)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    version = plan.submitted_version
    if version is None:
        raise Conflict(_l("Este plan todavía no fue enviado a revisión."), code="version_not_in_review")
    form = ReviewForm()
    open_disciplines = _open_disciplines(version)
    form.discipline.choices = [SelectChoice(d, DISCIPLINE_LABELS[d]) for d in open_disciplines]
    def render(status, conflict):
        stored = db.session.get(Plan, plan_id)
        return render_template("plans/review.html", form=form, conflict=conflict,
                               can_decide=stored.status in REVIEW_STATES and bool(open_disciplines),
                               **_review_context(stored, stored.submitted_version)), status

    if request.method == "GET":
        form.version.data = str(version.number)
        return render(200, None)
    number = form.version.data or ""
    return submit(form, lambda: plan_service.record_review(
        current_actor(), plan.id, int(number) if number.isdigit() else 0, form.discipline.data,
        form.decision.data, form.observation_items(), reason=form.reason.data),
        done=_l("Decisión registrada."), then=url_for("plan_pages.plan_page", plan_id=plan.id),
        place_errors=form.apply_errors, render=render)

