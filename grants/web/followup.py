"""Follow-up pages of an agreement: the follow-up section (reports, indicator progress, incidents,
«Iniciar cierre»), the administrator's report form (each activity of the plan with a progress
field, each indicator with its target and a value field), the report page, the incident form
(with evidence upload, urgency and sanction), the incident page with the NGO's reply (descargo), the
ministry's decision on the measure, the fine's deposits and deduction, and the resolution (and
resumption) form. Routes are thin: the services decide; refusals are shown on the page, in Spanish."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants.clock import today
from grants.context import current_actor
from grants.extensions import db
from grants.models import Agreement, FinePayment, FollowUpReport, Incident
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import agreements as agreement_service
from grants.services import attachments, due_process, fines, followup, incidents
from grants.services import refunds as refund_service
from grants.domain_errors import Forbidden, NotFound, ValidationFailed
from grants.web.actions import submit
from grants.web.forms import DepositForm, apply_errors, date_field
from grants.web.confirm import unconfirmed
from grants.workflows.agreement import AgreementState
from grants.workflows.incident import MeasureState

bp = Blueprint("followup_pages", __name__)



class ReportForm(FlaskForm):
    period_start = date_field(_l("Inicio del periodo"))
    period_end = date_field(_l("Fin del periodo"))
    observations = TextAreaField(_l("Observaciones"), validators=[Optional(), Length(max=10000)])


class IncidentForm(FlaskForm):
    occurred_on = date_field(_l("Fecha del incumplimiento"))
    severity = SelectField(_l("Gravedad"), choices=[SelectChoice(k, v) for k, v in incidents.SEVERITY_LABELS.items()])
    description = TextAreaField(_l("Qué ocurrió"), validators=[Optional(), Length(max=10000)])
    measure = SelectField(_l("Medida"), choices=[SelectChoice(k, v) for k, v in incidents.MEASURE_LABELS.items()])
    measure_detail = TextAreaField(_l("Detalle de la medida"), validators=[Optional(), Length(max=10000)])
    sanction_type = SelectField(_l("Tipo de sanción"), choices=[SelectChoice("", "—")] + [
        SelectChoice(k, v) for k, v in incidents.SANCTION_LABELS.items()], validate_choice=False)
    fine_amount = StringField(_l("Monto de la multa (US$)"), validators=[Optional(), Length(max=20)],
                              render_kw={"inputmode": "decimal"})
    urgent = BooleanField(_l("Urgente: la medida se aplica de inmediato, sin esperar el descargo"))
    urgent_reason = TextAreaField(_l("Por qué es urgente"), validators=[Optional(), Length(max=10000)])
    evidence = FileField(_l("Evidencia (PDF, JPEG o PNG, opcional)"), render_kw={"accept": ".pdf,.jpg,.jpeg,.png"})


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Descargo de la organización"), validators=[Optional(), Length(max=10000)])
    files = MultipleFileField(_l("Pruebas (PDF, JPEG o PNG)"), render_kw={"accept": ".pdf,.jpg,.jpeg,.png"})


class MeasureForm(FlaskForm):
    note = TextAreaField(_l("Fundamento de la decisión (obligatorio para retirar la medida)"),
                         validators=[Optional(), Length(max=10000)])


class FineDepositForm(DepositForm):
    deposited_on = date_field(_l("Fecha del depósito"))


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
        can_record=agreement.overseen_by(current_user) and agreement.status in incidents.RECORDING_STATES,
        can_close=(manager or current_user.id == agreement.administrator_id) and agreement.status == AgreementState.IN_EXECUTION,
        **labels()), status


@bp.get("/agreements/<int:agreement_id>/follow-up")
@login_required
def agreement_followup(agreement_id):
    return render_section(_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/closing")
@login_required
def begin_closing(agreement_id):
    agreement = _agreement(agreement_id)
    if (refused := unconfirmed(url_for("followup_pages.agreement_followup", agreement_id=agreement.id))) is not None:
        return refused
    return submit(None, lambda: agreement_service.begin_closing(current_actor(), agreement.id),
                  done=_l("Se inició el cierre del convenio: ya no se aceptan pagos ni anticipos nuevos."),
                  then=url_for("agreement_pages.agreement_page", agreement_id=agreement.id),
                  render=lambda status, refused: render_section(db.session.get(Agreement, agreement_id), status, refused))


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
    rows: dict = {}

    def place(errors):  # an indicator's or activity's error goes on its row of the table
        rows.update({names[k]: [str(m) for m in v] for k, v in errors.items() if k in names})
        apply_errors(form, {k: v for k, v in errors.items() if k not in names})

    return submit(None, lambda: followup.create_report(current_actor(), agreement.id, data),
                  done=_l("Informe de seguimiento registrado."), place_errors=place,
                  then=lambda report: url_for("followup_pages.report_page", report_id=report.id),
                  render=lambda status, refused: _render_report_form(
                      db.session.get(Agreement, agreement_id), form, values, rows, status, refused))


@bp.get("/follow-up-reports/<int:report_id>")
@login_required
def report_page(report_id):
    require(current_user, Permission.AGREEMENTS_READ)
    report = visible(current_user, db.session.get(FollowUpReport, report_id))
    return render_template("followup/report.html", report=report, agreement=report.agreement,
                           annexes=attachments.attachments_of(report), may_attach=_is_administrator(report.agreement))


# --- incidents -------------------------------------------------------------------------------------

def _render_incident_form(agreement, form, status=200, refused=None):
    return render_template("followup/incident_form.html", agreement=agreement, form=form, refused=refused,
                           manager=current_user.can(Permission.AGREEMENTS_MANAGE), today=today().isoformat(),
                           reply_days=current_app.config["INCIDENT_REPLY_WORKING_DAYS"], **labels()), status


@bp.route("/agreements/<int:agreement_id>/incidents/new", methods=["GET", "POST"])
@login_required
def new_incident(agreement_id):
    agreement = _agreement(agreement_id)
    if not agreement.overseen_by(current_user):
        raise Forbidden()
    if request.method == "GET":
        return _render_incident_form(agreement, IncidentForm(formdata=None, data={"occurred_on": today().isoformat()}))
    form = IncidentForm()

    def record():
        upload = request.files.get("evidence")
        evidence = upload.stream.read(incidents.evidence_limit() + 1) if upload and upload.filename else None
        data = {name: getattr(form, name).data for name in ("occurred_on", "severity", "description", "measure",
                                                             "measure_detail", "urgent_reason")}
        data["urgent"] = bool(form.urgent.data)
        if data["measure"] == "sanction":
            data["sanction_type"] = form.sanction_type.data or None
            data["fine_amount"] = (form.fine_amount.data or "").strip() or None
        return incidents.record_incident(current_actor(), agreement.id, data, evidence,
                                         upload.filename if evidence else None)

    return submit(form, record, done=_l("Incumplimiento registrado."),
                  then=lambda incident: url_for("followup_pages.incident_page", incident_id=incident.id),
                  render=lambda status, refused: _render_incident_form(
                      db.session.get(Agreement, agreement_id), form, status, refused))


def render_incident(incident: Incident, form=None, status: int = 200, refused=None, **forms):
    agreement = incident.agreement
    user = current_user
    own_ngo = user.acts_for(incident.organization_id)
    deciding = incident.refusal_for(user, "decide_measure")
    fine_in_effect = incident.sanction_type == "fine" and incident.measure_status == MeasureState.IN_EFFECT
    return render_template(
        "followup/incident.html", incident=incident, agreement=agreement, refused=refused,
        form=form or ResolveForm(formdata=None),
        reply_form=forms.get("reply_form") or ReplyForm(formdata=None),
        measure_form=forms.get("measure_form") or MeasureForm(formdata=None),
        deposit_form=forms.get("deposit_form") or FineDepositForm(formdata=None,
                                                                  data={"deposited_on": today().isoformat()}),
        evidence=attachments.attachments_of(incident, "incident_evidence"),
        reply_files=attachments.attachments_of(incident.reply, "incident_reply") if incident.reply else [],
        can_reply=incident.can(user, "reply"), can_decide_measure=deciding is None,
        measure_waits=deciding == "reply_period_open", can_resolve=incident.can(user, "resolve"),
        fine=fine_in_effect, fine_owed=fines.owed(incident) if fine_in_effect else None,
        fine_collected=fines.collected(incident) if fine_in_effect else None,
        fine_payments=fines.payments_of(incident) if fine_in_effect else [],
        fine_slips={p.id: attachments.attachments_of(p, "deposit_slip") for p in fines.payments_of(incident)}
        if fine_in_effect else {},
        can_pay_fine=own_ngo and fine_in_effect, can_confirm=user.can(Permission.DEPOSITS_CONFIRM),
        measure_state_labels=incidents.MEASURE_STATE_LABELS, sanction_labels=incidents.SANCTION_LABELS,
        deposit_state_labels=refund_service.DEPOSIT_STATE_LABELS, **labels()), status


@bp.get("/incidents/<int:incident_id>")
@login_required
def incident_page(incident_id):
    return render_incident(_incident(incident_id))


def _incident_action(incident_id: int, call, done, form=None, form_name=None):
    """Run a service call for the incident page: flash and redirect, or show the refusal on the page."""
    return submit(form, call, done=done, then=url_for("followup_pages.incident_page", incident_id=incident_id),
                  render=lambda status, refused: render_incident(
                      _incident(incident_id), status=status, refused=refused,
                      **({form_name: form} if form is not None else {})))


@bp.post("/incidents/<int:incident_id>/reply")
@login_required
def reply(incident_id):
    incident = _incident(incident_id)
    form = ReplyForm()
    uploads = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    return _incident_action(incident.id, lambda: due_process.reply_to_incident(
        current_actor(), incident.id, form.text.data or "", uploads),
        _l("Descargo presentado: el ministerio lo considerará antes de decidir la medida."), form, "reply_form")


@bp.post("/incidents/<int:incident_id>/measure")
@login_required
def decide_measure(incident_id):
    incident = _incident(incident_id)
    form = MeasureForm()
    apply = request.form.get("decision") == "apply"
    return _incident_action(incident.id, lambda: due_process.decide_measure(
        current_actor(), incident.id, apply, form.note.data or ""),
        _l("Medida aplicada.") if apply else _l("Medida retirada."), form, "measure_form")


@bp.post("/incidents/<int:incident_id>/fine-deposits")
@login_required
def declare_fine_deposit(incident_id):
    incident = _incident(incident_id)
    form = FineDepositForm()
    slip = request.files.get("slip")

    def declare():
        if slip is None or not slip.filename:
            raise ValidationFailed(errors={"slip": [_l("Adjunte la boleta de depósito.")]})
        fines.declare_fine_deposit(current_actor(), incident.id, {
            "amount": form.amount.data or "", "bank_name": form.bank_name.data or "",
            "bank_reference": form.bank_reference.data or "", "deposited_on": form.deposited_on.data or ""},
            slip=(slip.filename, slip.read()))

    return _incident_action(incident.id, declare, _l("Depósito declarado: tesorería lo confirmará contra el banco."),
                            form, "deposit_form")


@bp.post("/incidents/<int:incident_id>/fine-deduction")
@login_required
def accept_fine_deduction(incident_id):
    incident = _incident(incident_id)
    return _incident_action(incident.id, lambda: fines.accept_deduction(current_actor(), incident.id),
                            _l("Aceptó que la multa se descuente del próximo anticipo."))


@bp.post("/fine-payments/<int:payment_id>/decision")
@login_required
def decide_fine_deposit(payment_id):
    require(current_user, Permission.DEPOSITS_CONFIRM)
    payment = db.session.get(FinePayment, payment_id)
    if payment is None:
        raise NotFound()
    confirm = request.form.get("decision") == "confirm"
    return _incident_action(payment.incident_id, lambda: fines.decide_fine_deposit(
        current_actor(), payment.id, confirm, request.form.get("reason")),
        _l("Depósito confirmado: la multa queda cobrada por ese monto.") if confirm else _l("Depósito rechazado."))


@bp.post("/incidents/<int:incident_id>/resolve")
@login_required
def resolve_incident(incident_id):
    incident = _incident(incident_id)
    form = ResolveForm()
    return submit(form, lambda: incidents.resolve_incident(current_actor(), incident.id, form.resolution.data or "",
                                                           bool(form.resume.data)),
                  done=lambda _: _l("Incumplimiento resuelto; el convenio se reanudó.") if form.resume.data
                  else _l("Incumplimiento resuelto."),
                  then=url_for("followup_pages.incident_page", incident_id=incident.id),
                  render=lambda status, refused: render_incident(db.session.get(Incident, incident_id), form,
                                                                 status, refused))
