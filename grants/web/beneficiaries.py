"""Beneficiary pages: an agreement's enrollments (filters, masking, status changes, revealing
personal data with a reason) and monitoring's queue of double enrollments.

Defines the ``beneficiary_pages`` blueprint; the upload of lists, their report and the queue of
lists are its routes in :mod:`grants.web.beneficiary_imports` (``register_web`` imports both).
Routes are thin: the services validate and write.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice, SelectField

from grants import formats
from grants.context import current_actor
from grants.extensions import db
from grants.labels import BATCH_STATE_LABELS, ENROLLMENT_STATE_LABELS
from grants.models import Agreement, Enrollment, EnrollmentPeriod, ImportBatch
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import beneficiary_imports as imports
from grants.services import enrollments as enrollment_service
from grants.services import search
from grants.domain_errors import ValidationFailed
from grants.web.actions import submit
from grants.validation.identity import IdentityError, normalize_dui
from grants.web.paging import page_of
from grants.web.search import search_args
from grants.web.forms import BAD_DAY
from grants.workflows.enrollment import NGO_REPORTABLE, EnrollmentState, allowed

bp = Blueprint("beneficiary_pages", __name__)

ENROLLMENT_PAGE = 25
BATCH_PAGE = 10

KIND_LABELS = {"enrollment": _l("Inscripción"), "status": _l("Cambios de estado")}
DOCUMENT_LABELS = {"dui": "DUI", "partida_nacimiento": _l("Partida de nacimiento"),
                   "carne_minoridad": _l("Carné de minoridad"), "pasaporte": _l("Pasaporte"), "otro": _l("Otro")}
REVEALED = "revealed_beneficiaries"  # session key: ids only, never the data itself


class UploadForm(FlaskForm):
    file = FileField(_l("Archivo (CSV o XLSX)"), render_kw={
        "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    kind = SelectField(_l("Tipo de lista"), default="enrollment", choices=[
        SelectChoice(k, v) for k, v in KIND_LABELS.items()])


# --- helpers ---------------------------------------------------------------------------------

def is_owner_ngo(organization_id: int) -> bool:
    return current_user.acts_for(organization_id)


def load_agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.BENEFICIARIES_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _load_enrollment(enrollment_id: int) -> Enrollment:
    require(current_user, Permission.BENEFICIARIES_READ)
    return visible(current_user, db.session.get(Enrollment, enrollment_id))


def private(response):
    """Pages and files with personal data are never cached."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _parse_day(value: str | None) -> date | None:
    try:
        return formats.parse_day(value)
    except ValueError:
        return None


# --- an agreement's beneficiaries ------------------------------------------------------------

def _status_targets(enrollment: Enrollment) -> list[str]:
    """The states this user may move this enrollment to, from the list."""
    targets = []
    if is_owner_ngo(enrollment.organization_id):
        targets += [s.value for s in EnrollmentState if s in NGO_REPORTABLE]
    if current_user.can(Permission.BENEFICIARIES_VALIDATE):
        targets.append(EnrollmentState.VALIDATED.value)
    return [t for t in targets if allowed(enrollment.status, t)]


def render_beneficiaries(agreement: Agreement, status: int = 200, upload_form: UploadForm | None = None,
                         row_errors: dict | None = None, activation_errors: list | None = None,
                         dui: str | None = None, dui_error: str | None = None):
    """The agreement's people with the query string's filters (name ``q``, ``status``,
    ``active_on``), or the one person of a DUI searched for (``dui``: the search was logged)."""
    found = search_args(EnrollmentState, state_arg="status")
    state = found.state
    day_text = (request.args.get("active_on") or "").strip()
    day = _parse_day(day_text) if day_text else None
    filter_errors = {"active_on": [BAD_DAY]} if day_text and day is None else {}
    day_text = day.isoformat() if day else day_text  # a date input shows only ISO (typed dd/mm/yyyy comes back so)
    if dui_error:
        filter_errors["dui"] = [dui_error]
    if day:
        found.filters["active_on"] = day
        found.args["active_on"] = day_text
    filters = {**found.filters, "dui": dui} if dui else found.filters
    people, paging = page_of(search.enrollments(agreement.id, filters), ENROLLMENT_PAGE)
    if dui:
        search.record_dui_search(current_actor(), agreement, dui, paging["total"])
    counts = dict(db.session.execute(select(Enrollment.status, func.count()).where(
        Enrollment.agreement_id == agreement.id).group_by(Enrollment.status)).all())
    batches, batch_paging = page_of(select(ImportBatch).where(ImportBatch.agreement_id == agreement.id)
                                   .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()),
                                   BATCH_PAGE, "batches_page")

    since = search.current_since([e.id for e in people])
    revealed = set(session.pop(REVEALED, []) or [])  # shown in full on this render only
    sees_all = enrollment_service.sees_personal_data(current_user, agreement.organization_id)
    rows = []
    for enrollment in people:
        person = enrollment.beneficiary
        full = sees_all or person.id in revealed
        rows.append({
            "enrollment": enrollment, "person": person, "full": full, "revealed": person.id in revealed,
            "document": person.document_number if full else enrollment_service.mask_document(person.document_number),
            "birth": formats.day(person.birth_date) if full
            else enrollment_service.mask_birth_date(person.birth_date),
            "since": since.get(enrollment.id, enrollment.enrolled_on),
            "targets": _status_targets(enrollment),
        })
    may_upload = is_owner_ngo(agreement.organization_id) and current_user.can(Permission.BENEFICIARIES_IMPORT)
    response = render_template(
        "beneficiaries/agreement.html", agreement=agreement, rows=rows, paging=paging, counts=counts,
        state=state, day_text=day_text, day=day, filter_errors=filter_errors, batches=batches,
        batch_paging=batch_paging, batch_state_labels=BATCH_STATE_LABELS, kind_labels=KIND_LABELS,
        enrollment_state_labels=ENROLLMENT_STATE_LABELS, document_labels=DOCUMENT_LABELS,
        may_upload=may_upload, importable=agreement.status in imports.IMPORTABLE_STATES,
        upload_form=upload_form or UploadForm(formdata=None),
        may_reveal=current_user.can(Permission.PERSONAL_DATA_UNMASK) and not sees_all,
        may_activate=current_user.can(Permission.BENEFICIARIES_VALIDATE) or may_upload,
        activation_errors=activation_errors or [],
        row_errors=row_errors or {}, today=_default_day(agreement).isoformat(), search=found, dui_searched=bool(dui),
        filters={k: v for k, v in (("status", state), ("active_on", day_text), ("q", found.q),
                                   ("page", paging["page"])) if v},
        max_mb=imports.max_upload_bytes() // (1024 * 1024))
    return private(current_app.make_response((response, status)))


def _default_day(agreement: Agreement) -> date:
    return min(max(imports.today(), agreement.start_date), agreement.end_date)


@bp.get("/agreements/<int:agreement_id>/beneficiaries")
@login_required
def agreement_beneficiaries(agreement_id):
    return render_beneficiaries(load_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/beneficiaries/dui")
@login_required
def search_by_dui(agreement_id):
    """The agreement's person with this DUI (exact, normalized as the lists store it), shown as the
    list shows everyone (masked for the ministry). A POST: the number stays out of addresses and
    access logs; the search is written in the audit log (the DUI as its hash), found or not."""
    agreement = load_agreement(agreement_id)
    dui, error = typed_dui()
    if error:
        return render_beneficiaries(agreement, 422, dui_error=error)
    return render_beneficiaries(agreement, dui=dui)


def typed_dui() -> tuple[str | None, str | None]:
    """The DUI of a search form, normalized as the lists store it; or the message saying why not."""
    raw = (request.form.get("dui") or "").strip()[:30]
    try:
        return normalize_dui(raw), None
    except IdentityError as exc:
        return None, str(exc.message) if raw else str(_l("Escriba el DUI (00000000-0)."))


# --- one enrollment: status, personal data ---------------------------------------------------

def _list_url(agreement_id: int, anchor: str = "") -> str:
    """The agreement's list, on the page and filter it was acted from."""
    keep = {k: v for k, v in request.args.items() if k in ("status", "active_on", "q", "page") and v}
    return url_for("beneficiary_pages.agreement_beneficiaries", agreement_id=agreement_id, **keep) + anchor


def _row_action(enrollment: Enrollment, form_name: str, call, done, field: str):
    """An action from one row of the list: done → back to that row; refused → the list again, the
    refusal on that row (``field``: where a refusal that names no field is shown)."""
    errors: dict = {}
    return submit(None, call, done=done, place_errors=errors.update,
                  then=_list_url(enrollment.agreement_id, f"#inscripcion-{enrollment.id}"),
                  render=lambda status, refused: render_beneficiaries(
                      db.session.get(Agreement, enrollment.agreement_id), status,
                      row_errors={enrollment.id: {"form": form_name, **(errors or {field: [refused]})}}))


@bp.post("/enrollments/<int:enrollment_id>/status")
@login_required
def change_status(enrollment_id):
    enrollment = _load_enrollment(enrollment_id)
    target = request.form.get("status") or ""
    effective = _parse_day(request.form.get("effective_date"))
    reason = (request.form.get("reason") or "").strip()[:2000]
    def change():
        if effective is None:
            raise ValidationFailed(errors={"effective_date": [_l("Indique la fecha efectiva (dd/mm/aaaa).")]})
        enrollment_service.change_status(current_actor(), enrollment.id, target, effective, reason or None)

    return _row_action(enrollment, "status", change, field="status",
                       done=lambda _: _l("Estado actualizado: %(state)s.", state=ENROLLMENT_STATE_LABELS[target]))


@bp.post("/agreements/<int:agreement_id>/enrollments/activate")
@login_required
def activate_selected(agreement_id):
    """The validated people ticked on the list, active from a day (monitoring, or the NGO)."""
    agreement = load_agreement(agreement_id)
    ids = [int(i) for i in request.form.getlist("enrollment_ids") if i.isdigit() and len(i) < 11]
    since = _parse_day(request.form.get("since"))
    def activate():
        if since is None:
            raise ValidationFailed(errors={"since": [_l("Indique desde qué día (dd/mm/aaaa).")]})
        if not ids:
            raise ValidationFailed(errors={"enrollment_ids": [_l("Seleccione al menos una persona validada.")]})
        return enrollment_service.activate_validated(current_actor(), agreement.id, since,
                                                     request.form.get("reason"), enrollment_ids=ids)

    messages: list[str] = []
    return submit(None, activate, then=_list_url(agreement.id),
                  place_errors=lambda errors: messages.extend(str(m) for ms in errors.values() for m in ms),
                  done=lambda result: lazy_ngettext("%(num)s persona activa desde el %(day)s.",
                                                    "%(num)s personas activas desde el %(day)s.", result["activated"],
                                                    day=formats.day(since)),
                  render=lambda status, refused: render_beneficiaries(  # the activation box: 422 whatever refused it
                      db.session.get(Agreement, agreement_id), 422, activation_errors=messages or [str(refused)]))


@bp.post("/enrollments/<int:enrollment_id>/reveal")
@login_required
def reveal(enrollment_id):
    enrollment = _load_enrollment(enrollment_id)
    def reveal_once():
        enrollment_service.reveal_beneficiary(current_actor(), enrollment.beneficiary_id,
                                              (request.form.get("reason") or "")[:2000])
        session[REVEALED] = [enrollment.beneficiary_id]

    return _row_action(enrollment, "reveal", reveal_once, field="reason", done=(
        _l("Datos completos mostrados una sola vez; la consulta quedó registrada en la bitácora."), "info"))


# --- monitoring: double enrollments ----------------------------------------------------------

def _render_double(status: int = 200, errors: dict | None = None):
    require(current_user, Permission.BENEFICIARIES_VALIDATE)
    query = (select(Enrollment).where(Enrollment.double_enrollment == "pending")
             .options(selectinload(Enrollment.beneficiary), selectinload(Enrollment.agreement))
             .order_by(Enrollment.created_at, Enrollment.id))
    items, paging = page_of(query, 25)
    elsewhere = {}
    if items:
        other = (select(Enrollment.beneficiary_id, Agreement)
                 .join(Agreement, Agreement.id == Enrollment.agreement_id)
                 .join(EnrollmentPeriod, (EnrollmentPeriod.enrollment_id == Enrollment.id)
                       & EnrollmentPeriod.valid_to.is_(None))
                 .where(EnrollmentPeriod.status == EnrollmentState.ACTIVE.value,
                        Enrollment.beneficiary_id.in_([e.beneficiary_id for e in items])))
        for beneficiary_id, agreement in db.session.execute(other).all():
            elsewhere.setdefault(beneficiary_id, []).append(agreement)
    rows = [{"enrollment": e, "person": e.beneficiary,
             "document": enrollment_service.mask_document(e.beneficiary.document_number),
             "birth": enrollment_service.mask_birth_date(e.beneficiary.birth_date),
             "elsewhere": [a for a in elsewhere.get(e.beneficiary_id, []) if a.id != e.agreement_id]}
            for e in items]
    response = render_template("beneficiaries/double.html", rows=rows, paging=paging, errors=errors or {},
                               document_labels=DOCUMENT_LABELS)
    return private(current_app.make_response((response, status)))


@bp.get("/double-enrollments")
@login_required
def double_enrollments():
    return _render_double()


@bp.post("/enrollments/<int:enrollment_id>/double-enrollment")
@login_required
def decide_double(enrollment_id):
    require(current_user, Permission.BENEFICIARIES_VALIDATE)
    enrollment = _load_enrollment(enrollment_id)
    decision = request.form.get("decision")
    reason = (request.form.get("reason") or "")[:2000]
    def decide():
        if decision not in ("allow", "refuse"):
            raise ValidationFailed(errors={"decision": [_l("Elija permitir o rechazar.")]})
        enrollment_service.decide_double_enrollment(current_actor(), enrollment.id, decision == "allow", reason)

    errors: dict = {}
    return submit(None, decide, place_errors=errors.update, then=url_for("beneficiary_pages.double_enrollments"),
                  done=_l("Inscripción doble permitida.") if decision == "allow"
                  else _l("Inscripción doble rechazada: la persona queda retirada de este convenio."),
                  render=lambda status, refused: _render_double(status, {enrollment_id: errors or {"decision": [refused]}}))
