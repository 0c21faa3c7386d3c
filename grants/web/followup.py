"""Follow-up pages of an agreement: the follow-up section (reports, indicator progress, incidents,
«Iniciar cierre»), the administrator's report form (each activity of the plan with a progress
field, each indicator with its target and a value field), the report page, the incident form
(with evidence upload), the incident page with its resolution (and resumption) form. Routes are
thin: the services decide; refusals are shown on the page, in Spanish."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import DateInput

from grants.clock import today
from grants.context import current_actor
from grants.extensions import db
from grants.models import Agreement, FollowUpReport, Incident
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import agreements as agreement_service
from grants.services import followup, incidents
from grants.services.errors import DomainError, Forbidden, NotFound, ValidationFailed
from grants.web.forms import apply_errors

bp = Blueprint("followup_pages", __name__)


def _date(label):
    return StringField(label, widget=DateInput(), validators=[Optional(), Length(max=10)])


class ReportForm(FlaskForm):
    period_start = _date(_l("Inicio del periodo"))
    period_end = _date(_l("Fin del periodo"))
    observations = TextAreaField(_l("Observaciones"), validators=[Optional(), Length(max=10000)])


class IncidentForm(FlaskForm):
    occurred_on = _date(_l("Fecha del incumplimiento"))
    severity = SelectField(_l("Gravedad"), choices=[SelectChoice(k, v) for k, v in incidents.SEVERITY_LABELS.items()])
    description = TextAreaField(_l("Qué ocurrió"), validators=[Optional(), Length(max=10000)])
    measure = SelectField(_l("Medida"), choices=[SelectChoice(k, v) for k, v in incidents.MEASURE_LABELS.items()])
    measure_detail = TextAreaField(_l("Detalle de la medida"), validators=[Optional(), Length(max=10000)])
    evidence = FileField(_l("Evidencia (PDF, JPEG o PNG, opcional)"), render_kw={"accept": ".pdf,.jpg,.jpeg,.png"})


class ResolveForm(FlaskForm):
    resolution = TextAreaField(_l("Resolución"), validators=[Optional(), Length(max=10000)])
    resume = BooleanField(_l("Reanudar el convenio suspendido"))


def _agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.AGREEMENTS_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _incident(incident_id: int) -> Incident:
    require(current_user, Permission.AGREEMENTS_READ)
    return visible(current_user, db.session.get(Incident, incident_id))


def _is_administrator(agreement: Agreement) -> bool:
    return current_user.can(Permission.FOLLOW_UP_WRITE) and current_user.id == agreement.administrator_id


def _refusal(exc: DomainError):
    db.session.rollback()
    if isinstance(exc, NotFound):
        raise exc
    return exc.detail


def labels() -> dict:
    return {"severity_labels": incidents.SEVERITY_LABELS, "measure_labels": incidents.MEASURE_LABELS,
            "incident_state_labels": incidents.INCIDENT_STATE_LABELS}


# --- the follow-up section -------------------------------------------------------------------------

def render_section(agreement: Agreement, status: int = 200, refused=None):
    reports = db.session.scalars(select(FollowUpReport).where(FollowUpReport.agreement_id == agreement.id)
                                 .order_by(FollowUpReport.period_end.desc(), FollowUpReport.id.desc())).all()
    found = db.session.scalars(select(Incident).where(Incident.agreement_id == agreement.id)
                               .order_by(Incident.occurred_on.desc(), Incident.id.desc())).all()
    manager = current_user.can(Permission.AGREEMENTS_MANAGE)
    return render_template(
        "followup/agreement.html", agreement=agreement, reports=reports, incidents=found, refused=refused,
        progress=followup.indicator_progress(agreement),
        can_report=_is_administrator(agreement) and agreement.status in followup.REPORTING_STATES,
        can_record=incidents.may_act(current_user, agreement) and agreement.status in incidents.RECORDING_STATES,
        can_close=(manager or current_user.id == agreement.administrator_id) and agreement.status == "in_execution",
        **labels()), status


@bp.get("/agreements/<int:agreement_id>/follow-up")
@login_required
def agreement_followup(agreement_id):
    return render_section(_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/closing")
@login_required
def begin_closing(agreement_id):
    agreement = _agreement(agreement_id)
    try:
        agreement_service.begin_closing(current_actor(), agreement.id)
    except DomainError as exc:
        detail = _refusal(exc)
        return render_section(db.session.get(Agreement, agreement_id), exc.status, detail)
    flash(_l("Se inició el cierre del convenio: ya no se aceptan pagos ni anticipos nuevos."), "success")
    return redirect(url_for("agreement_pages.agreement_page", agreement_id=agreement.id), 303)


# --- reports ---------------------------------------------------------------------------------------

def _rows(agreement: Agreement):
    version = agreement.plan_version
    return (sorted(version.activities, key=lambda a: a.position), sorted(version.indicators, key=lambda i: i.position))


def _render_report_form(agreement, form, values=None, errors=None, status=200, refused=None):
    activities, indicators = _rows(agreement)
    return render_template("followup/report_form.html", agreement=agreement, form=form, activities=activities,
                           indicators=indicators, values=values or {}, errors=errors or {}, refused=refused,
                           today=today().isoformat()), status


def _report_data(agreement: Agreement, form: ReportForm) -> tuple[dict, dict, dict]:
    """The service's body from the form, the raw values to show again, and index → input names."""
    activities, indicators = _rows(agreement)
    values, names = dict(request.form), {}
    data = {"period_start": form.period_start.data or "", "period_end": form.period_end.data or "",
            "observations": form.observations.data or "", "activities": [], "indicators": []}
    for i, activity in enumerate(activities):
        data["activities"].append({"activity_id": activity.id,
                                   "progress": request.form.get(f"activity-{activity.id}-progress", ""),
                                   "notes": request.form.get(f"activity-{activity.id}-notes", "")})
        names[f"activities.{i}.progress"] = f"activity-{activity.id}-progress"
        names[f"activities.{i}.notes"] = f"activity-{activity.id}-notes"
    for indicator in indicators:
        value = request.form.get(f"indicator-{indicator.id}-value", "").strip()
        if not value:
            continue  # not measured in this period
        i = len(data["indicators"])
        data["indicators"].append({"indicator_id": indicator.id, "value": value,
                                   "notes": request.form.get(f"indicator-{indicator.id}-notes", "")})
        names[f"indicators.{i}.value"] = f"indicator-{indicator.id}-value"
        names[f"indicators.{i}.notes"] = f"indicator-{indicator.id}-notes"
    return data, values, names


@bp.route("/agreements/<int:agreement_id>/follow-up-reports/new", methods=["GET", "POST"])
@login_required
def new_report(agreement_id):
    agreement = _agreement(agreement_id)
    require(current_user, Permission.FOLLOW_UP_WRITE)
    if request.method == "GET":
        return _render_report_form(agreement, ReportForm(formdata=None))
    form = ReportForm()
    if not form.validate_on_submit():
        return _render_report_form(agreement, form, dict(request.form), status=422)
    data, values, names = _report_data(agreement, form)
    try:
        report = followup.create_report(current_actor(), agreement.id, data)
    except ValidationFailed as exc:
        db.session.rollback()
        rows = {names[k]: [str(m) for m in v] for k, v in exc.errors.items() if k in names}
        apply_errors(form, {k: v for k, v in exc.errors.items() if k not in names})
        return _render_report_form(db.session.get(Agreement, agreement_id), form, values, rows, 422)
    except DomainError as exc:
        detail = _refusal(exc)
        return _render_report_form(db.session.get(Agreement, agreement_id), form, values, status=exc.status,
                                   refused=detail)
    flash(_l("Informe de seguimiento registrado."), "success")
    return redirect(url_for("followup_pages.report_page", report_id=report.id), 303)


@bp.get("/follow-up-reports/<int:report_id>")
@login_required
def report_page(report_id):
    require(current_user, Permission.AGREEMENTS_READ)
    report = visible(current_user, db.session.get(FollowUpReport, report_id))
    return render_template("followup/report.html", report=report, agreement=report.agreement)


# --- incidents -------------------------------------------------------------------------------------

def _render_incident_form(agreement, form, status=200, refused=None):
    return render_template("followup/incident_form.html", agreement=agreement, form=form, refused=refused,
                           manager=current_user.can(Permission.AGREEMENTS_MANAGE), today=today().isoformat(),
                           **labels()), status


@bp.route("/agreements/<int:agreement_id>/incidents/new", methods=["GET", "POST"])
@login_required
def new_incident(agreement_id):
    agreement = _agreement(agreement_id)
    if not incidents.may_act(current_user, agreement):
        raise Forbidden()
    if request.method == "GET":
        return _render_incident_form(agreement, IncidentForm(formdata=None, data={"occurred_on": today().isoformat()}))
    form = IncidentForm()
    if form.validate_on_submit():
        upload = request.files.get("evidence")
        evidence = upload.stream.read(incidents.evidence_limit() + 1) if upload and upload.filename else None
        data = {name: getattr(form, name).data for name in ("occurred_on", "severity", "description", "measure",
                                                             "measure_detail")}
        try:
            incident = incidents.record_incident(current_actor(), agreement.id, data, evidence,
                                                 upload.filename if evidence else None)
            flash(_l("Incumplimiento registrado."), "success")
            return redirect(url_for("followup_pages.incident_page", incident_id=incident.id), 303)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        except DomainError as exc:
            detail = _refusal(exc)
            return _render_incident_form(db.session.get(Agreement, agreement_id), form, exc.status, detail)
    return _render_incident_form(db.session.get(Agreement, agreement_id), form, 422)


def render_incident(incident: Incident, form=None, status: int = 200, refused=None):
    agreement = incident.agreement
    return render_template(
        "followup/incident.html", incident=incident, agreement=agreement, refused=refused,
        form=form or ResolveForm(formdata=None),
        can_resolve=incident.status == "open" and incidents.may_act(current_user, agreement),
        **labels()), status


@bp.get("/incidents/<int:incident_id>")
@login_required
def incident_page(incident_id):
    return render_incident(_incident(incident_id))


@bp.get("/incidents/<int:incident_id>/evidence")
@login_required
def incident_evidence(incident_id):
    incident = _incident(incident_id)
    path = incidents.evidence_path(incident)
    if path is None:
        raise NotFound()
    return send_file(path, mimetype=incidents.evidence_mimetype(incident), as_attachment=True,
                     download_name=incident.evidence_filename or path.name)


@bp.post("/incidents/<int:incident_id>/resolve")
@login_required
def resolve_incident(incident_id):
    incident = _incident(incident_id)
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            incidents.resolve_incident(current_actor(), incident.id, form.resolution.data or "", bool(form.resume.data))
            flash(_l("Incumplimiento resuelto; el convenio se reanudó.") if form.resume.data
                  else _l("Incumplimiento resuelto."), "success")
            return redirect(url_for("followup_pages.incident_page", incident_id=incident.id), 303)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        except DomainError as exc:
            detail = _refusal(exc)
            return render_incident(db.session.get(Incident, incident_id), form, exc.status, detail)
    return render_incident(db.session.get(Incident, incident_id), form, 422)
