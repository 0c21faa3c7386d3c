"""Cooperation agreement pages: list, agreement page, its PDF and signed scan, and the legal
team's forms (create from an approved plan, edit the draft, sign, designate the administrator,
start, suspend/resume, terminate). Routes are thin: the services validate and write."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants.clock import today
from grants.context import current_actor
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import Agreement, Plan, User, UserRole
from grants.permissions import Permission, Role
from grants.security import require, visible
from grants.services import agreement_document
from grants.services import agreements as agreement_service
from grants.services import files
from grants.services import search, signing
from grants.domain_errors import Conflict
from grants.web import meetings as meeting_pages
from grants.web.actions import submit
from grants.web.forms import date_field, person_name
from grants.web.paging import db_id, page_of
from grants.web.search import search_args
from grants.web.confirm import unconfirmed
from grants.workflows.agreement import AgreementState
from grants.workflows.plan import PlanState

bp = Blueprint("agreement_pages", __name__)

S = AgreementState
TEXT_MAX = 10_000

ACTION_LABELS = {
    "create": _l("Creación"),
    "edit": _l("Edición"),
    "sign": _l("Firma"),
    "designate_administrator": _l("Designación del administrador"),
    "start_execution": _l("Inicio de la ejecución"),
    "suspend": _l("Suspensión"),
    "resume": _l("Reanudación"),
    "begin_closing": _l("Inicio del cierre"),
    "liquidate": _l("Liquidación"),
    "report": _l("Informe a la Asamblea"),
    "terminate": _l("Terminación"),
}
TERMINABLE = (S.DRAFT, S.SIGNED, S.IN_EXECUTION, S.SUSPENDED, S.CLOSING)
ADMINISTRATOR_STATES = (S.DRAFT, S.SIGNED, S.IN_EXECUTION, S.SUSPENDED)



def _text(label, description=None):
    return TextAreaField(label, validators=[Optional(), Length(max=TEXT_MAX)], description=description)


def _short(label, *checks):
    return StringField(label, validators=[Optional(), Length(max=160), *checks])


class AgreementForm(FlaskForm):
    object = _text(_l("Objeto del convenio"))
    ministry_obligations = _text(_l("Obligaciones del ministerio"), _l("Una por línea."))
    ngo_obligations = _text(_l("Obligaciones de la organización"), _l("Una por línea."))
    control_mechanisms = _text(_l("Mecanismos de control"))
    liquidation_terms = _text(_l("Condiciones de liquidación"))
    liquidation_threshold = StringField(
        _l("Umbral de liquidación (%)"), validators=[Optional(), Length(max=8)], render_kw={"inputmode": "decimal"},
        description=_l("Parte del anticipo anterior que debe estar liquidada antes de pagar el siguiente."))
    prefinancing_days = StringField(
        _l("Prefinanciamiento (días)"), validators=[Optional(), Length(max=3)], render_kw={"inputmode": "numeric"},
        description=_l("Vacío: no se aceptan gastos anteriores al desembolso de cada anticipo. Con un número, los "
                       "comprobantes pueden ser de hasta esos días antes del desembolso."))
    start_date = date_field(_l("Inicio del plazo"))
    end_date = date_field(_l("Fin del plazo"))
    ministry_signatory_name = _short(_l("Firma por el ministerio: nombre"), person_name)
    ministry_signatory_title = _short(_l("Firma por el ministerio: cargo"))
    ngo_signatory_name = _short(_l("Firma por la organización: nombre"), person_name)
    ngo_signatory_title = _short(_l("Firma por la organización: cargo"))

    def to_data(self) -> dict:
        return {name: (field.data or "") for name, field in self._fields.items() if name != "csrf_token"}


class SignForm(FlaskForm):
    signed_on = date_field(_l("Fecha de firma"))
    scan = FileField(_l("Convenio firmado escaneado (PDF)"), render_kw={"accept": "application/pdf,.pdf"},
                     description=_l("PDF de hasta 10 MB."))


class AdministratorForm(FlaskForm):
    user_id = SelectField(_l("Administrador del convenio"), coerce=db_id, validate_choice=False)


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Motivo"), validators=[Optional(), Length(max=TEXT_MAX)])


def _reason_form(kind: str, formdata=None) -> ReasonForm:
    """Suspend, resume and terminate share one form; distinct ids keep the labels apart on one page."""
    form = ReasonForm(formdata=formdata) if formdata is not None else ReasonForm(formdata=None)
    form.reason.id = form.reason.label.field_id = f"{kind}-reason"  # the label points at its own box
    return form


def _administrator_choices():
    users = db.session.scalars(select(User).join(UserRole).where(
        UserRole.role == Role.ADMINISTRATOR.value, User.active).order_by(User.full_name))
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, f"{u.full_name} ({u.email})") for u in users]


def _load(agreement_id: int) -> Agreement:
    require(current_user, Permission.AGREEMENTS_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _may_suspend(agreement: Agreement) -> bool:
    return current_user.can(Permission.AGREEMENTS_MANAGE) or current_user.id == agreement.administrator_id


def _render_page(agreement: Agreement, status: int = 200, **forms):
    admin_form = forms.pop("admin_form", None) or AdministratorForm(
        formdata=None, data={"user_id": agreement.administrator_id or 0})
    admin_form.user_id.choices = _administrator_choices()
    context = {
        "sign_form": forms.pop("sign_form", None) or SignForm(formdata=None),
        "admin_form": admin_form,
        "suspend_form": forms.pop("suspend_form", None) or _reason_form("suspend"),
        "resume_form": forms.pop("resume_form", None) or _reason_form("resume"),
        "terminate_form": forms.pop("terminate_form", None) or _reason_form("terminate"),
    }
    return render_template(
        "agreements/detail.html", agreement=agreement, version=agreement.plan_version,
        action_labels=ACTION_LABELS, can_manage=current_user.can(Permission.AGREEMENTS_MANAGE),
        may_suspend=_may_suspend(agreement), terminable=agreement.status in TERMINABLE,
        administrator_states=agreement.status in ADMINISTRATOR_STATES,
        meeting_section=meeting_pages.section(agreement), today=today().isoformat(), **context), status


# --- list, page, documents -------------------------------------------------------------------

@bp.get("/agreements")
@login_required
def agreement_list():
    require(current_user, Permission.AGREEMENTS_READ)
    found = search_args(AgreementState, year=True)
    items, pager = page_of(search.agreements(current_user, found.filters))
    return render_template("agreements/list.html", agreements=items, paging=pager, search=found)


@bp.get("/agreements/<int:agreement_id>")
@login_required
def agreement_page(agreement_id):
    return _render_page(_load(agreement_id))


@bp.get("/agreements/<int:agreement_id>/document.pdf")
@login_required
def agreement_pdf(agreement_id):
    agreement = _load(agreement_id)
    pdf = signing.issue("agreement", agreement, lambda day: agreement_document.agreement_pdf(agreement, day), actor=current_actor())
    response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{agreement.number}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/agreements/<int:agreement_id>/signed.pdf")
@login_required
def signed_scan(agreement_id):
    agreement = _load(agreement_id)
    if not current_user.sees_all_organizations:
        abort(403)  # the stored scan is for ministry staff
    if not agreement.signed_scan_sha256:
        abort(404)
    path = files.stored_path(agreement_service.SCAN_FOLDER, agreement.signed_scan_sha256, ".pdf")
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{agreement.number}-firmado.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- create and edit -------------------------------------------------------------------------

def _render_form(form, plan: Plan, agreement: Agreement | None, status: int):
    return render_template("agreements/form.html", form=form, plan=plan, agreement=agreement), status


@bp.route("/plans/<int:plan_id>/agreement/new", methods=["GET", "POST"])
@login_required
def new_agreement(plan_id):
    require(current_user, Permission.AGREEMENTS_MANAGE)
    plan = visible(current_user, db.session.get(Plan, plan_id))
    existing = db.session.scalar(select(Agreement).where(Agreement.plan_id == plan.id))
    if existing is not None:
        flash(_l("Este plan ya tiene un convenio."), "info")
        return redirect(url_for("agreement_pages.agreement_page", agreement_id=existing.id))
    if request.method == "GET":
        if plan.status != PlanState.APPROVED:  # the same refusal the service gives on POST
            raise Conflict(_l("Solo un plan aprobado por las tres disciplinas da lugar a un convenio."),
                           code="plan_not_approved")
        version = plan.submitted_version
        form = AgreementForm(formdata=None, data={
            "object": plan.title, **agreement_service.DEFAULT_TEXTS, "liquidation_threshold": "100.00",
            "start_date": version.start_date.isoformat() if version else "",
            "end_date": version.end_date.isoformat() if version else "",
            "ministry_signatory_title": str(_l("Ministro de Justicia y Seguridad Pública")),
            "ngo_signatory_name": plan.organization.legal_rep_name,
            "ngo_signatory_title": str(_l("Representante legal")),
        })
        return _render_form(form, plan, None, 200)
    form = AgreementForm()

    def render(status, refused):
        if refused:
            flash(refused, "error")
        return _render_form(form, db.session.get(Plan, plan_id), None, status)

    return submit(form, lambda: agreement_service.create_agreement(current_actor(), plan.id, form.to_data()),
                  done=lambda agreement: _l("Convenio %(number)s creado como borrador.", number=agreement.number),
                  then=lambda agreement: url_for("agreement_pages.agreement_page", agreement_id=agreement.id),
                  render=render)


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@login_required
def edit_agreement(agreement_id):
    agreement = _load(agreement_id)
    require(current_user, Permission.AGREEMENTS_MANAGE)
    if agreement.status != S.DRAFT:
        raise Conflict(_l("Solo se edita un convenio en borrador; este está «%(state)s».",
                          state=AGREEMENT_STATE_LABELS[agreement.status]), code="invalid_transition")
    if request.method == "GET":
        data = {name: getattr(agreement, name) for name in agreement_service.TEXT_FIELDS}
        data.update(liquidation_threshold=f"{agreement.liquidation_threshold:.2f}",
                    prefinancing_days=str(agreement.prefinancing_days or ""),
                    start_date=agreement.start_date.isoformat(), end_date=agreement.end_date.isoformat())
        return _render_form(AgreementForm(formdata=None, data=data), agreement.plan, agreement, 200)
    form = AgreementForm()

    def render(status, refused):
        if refused:
            flash(refused, "error")
        stored = db.session.get(Agreement, agreement_id)
        return _render_form(form, stored.plan, stored, status)

    return submit(form, lambda: agreement_service.update_agreement(current_actor(), agreement.id, form.to_data()),
                  done=_l("Convenio actualizado."), render=render,
                  then=url_for("agreement_pages.agreement_page", agreement_id=agreement.id))


# --- state changes ---------------------------------------------------------------------------

def _act(agreement_id: int, form_name: str, form, call, done):
    """Run a state change from the agreement page; field errors go back next to the fields (422, or
    413 for a file over its limit)."""
    def render(status, refused):
        if refused:
            flash(refused, "error")
        return _render_page(db.session.get(Agreement, agreement_id), status, **{form_name: form})

    return submit(form, call, done=done, then=url_for("agreement_pages.agreement_page", agreement_id=agreement_id),
                  render=render)


@bp.post("/agreements/<int:agreement_id>/sign")
@login_required
def sign(agreement_id):
    agreement = _load(agreement_id)
    require(current_user, Permission.AGREEMENTS_MANAGE)
    form = SignForm()
    upload = request.files.get("scan")
    scan = upload.read() if upload else b""
    return _act(agreement.id, "sign_form", form,
                lambda: agreement_service.sign_agreement(current_actor(), agreement.id, form.signed_on.data, scan),
                _l("Firma registrada."))


@bp.post("/agreements/<int:agreement_id>/administrator")
@login_required
def designate_administrator(agreement_id):
    agreement = _load(agreement_id)
    require(current_user, Permission.AGREEMENTS_MANAGE)
    form = AdministratorForm()
    form.user_id.choices = _administrator_choices()
    return _act(agreement.id, "admin_form", form,
                lambda: agreement_service.designate_administrator(current_actor(), agreement.id, form.user_id.data),
                _l("Administrador del convenio designado."))


@bp.post("/agreements/<int:agreement_id>/start")
@login_required
def start_execution(agreement_id):
    agreement = _load(agreement_id)
    require(current_user, Permission.AGREEMENTS_MANAGE)
    if (refused := unconfirmed(url_for("agreement_pages.agreement_page", agreement_id=agreement.id))) is not None:
        return refused
    agreement_service.start_execution(current_actor(), agreement.id)
    flash(_l("El convenio está en ejecución."), "success")
    return redirect(url_for("agreement_pages.agreement_page", agreement_id=agreement.id))


def _reason_action(agreement_id: int, kind: str, service_call, done):
    agreement = _load(agreement_id)
    if kind == "terminate":
        require(current_user, Permission.AGREEMENTS_MANAGE)
    elif not _may_suspend(agreement):
        abort(403)
    form = _reason_form(kind, request.form)
    return _act(agreement.id, f"{kind}_form", form,
                lambda: service_call(current_actor(), agreement.id, form.reason.data or ""), done)


@bp.post("/agreements/<int:agreement_id>/suspend")
@login_required
def suspend(agreement_id):
    return _reason_action(agreement_id, "suspend", agreement_service.suspend_agreement,
                          _l("Convenio suspendido: se detienen pagos y anticipos."))


@bp.post("/agreements/<int:agreement_id>/resume")
@login_required
def resume(agreement_id):
    return _reason_action(agreement_id, "resume", agreement_service.resume_agreement, _l("Convenio reanudado."))


@bp.post("/agreements/<int:agreement_id>/terminate")
@login_required
def terminate(agreement_id):
    return _reason_action(agreement_id, "terminate", agreement_service.terminate_agreement,
                          _l("Convenio terminado."))
