"""/api/v1 follow-up of agreements: the administrator's follow-up reports, indicator progress,
incidents (with evidence and their measure), and the start of an agreement's closing.

Reading needs ``AGREEMENTS_READ``; an NGO user sees only its own organization's reports and
incidents (another's: 404). The services decide who writes.
"""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.followup_schemas import (
    DepositDecisionSchema,
    EvidenceUploadSchema,
    FinePaymentSchema,
    MeasureDecisionSchema,
    ReplySchema,
    FollowUpReportPageSchema,
    FollowUpReportSchema,
    IncidentPageSchema,
    IncidentQuerySchema,
    IncidentSchema,
    IndicatorProgressListSchema,
    ResolveSchema,
)
from grants.api.plan_schemas import AgreementSchema
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Agreement, FinePayment, FollowUpActivity, FollowUpIndicator, FollowUpReport, Incident
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import agreements, due_process, fines, followup, incidents
from grants.services import attachments as attachment_service
from grants.services.attachments import prefetch_attachments
from grants.domain_errors import NotFound, ValidationFailed

blp = Blueprint("followup", __name__, url_prefix="/api/v1", description="Seguimiento: informes, incumplimientos y cierre")


def _reader():
    user = acting_user()
    require(user, Permission.AGREEMENTS_READ)
    return user


def _agreement(agreement_id: int) -> Agreement:
    return visible(_reader(), db.session.get(Agreement, agreement_id))


# What the schemas dump, loaded in a fixed number of queries for a whole page.
REPORT_LOAD = (joinedload(FollowUpReport.agreement), joinedload(FollowUpReport.author),
               selectinload(FollowUpReport.activities).joinedload(FollowUpActivity.activity),
               selectinload(FollowUpReport.indicators).joinedload(FollowUpIndicator.indicator))
INCIDENT_LOAD = (joinedload(Incident.agreement), joinedload(Incident.reply))


def _prefetch_incident_files(incidents) -> None:
    replies = [i.reply for i in incidents if i.reply is not None]
    prefetch_attachments(incidents, "incident_evidence", more=((replies, "incident_reply"),))


def _incident(incident_id: int) -> Incident:
    return visible(_reader(), db.session.get(Incident, incident_id))


@blp.route("/agreements/<int:agreement_id>/follow-up-reports")
class AgreementReports(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, FollowUpReportPageSchema)
    def get(self, args, agreement_id):
        """The agreement's follow-up reports, latest period first."""
        agreement = _agreement(agreement_id)
        query = select(FollowUpReport).where(FollowUpReport.agreement_id == agreement.id).order_by(
            FollowUpReport.period_end.desc(), FollowUpReport.id.desc())
        return paginate(db.session, query.options(*REPORT_LOAD), args)

    @blp.arguments(FollowUpReportSchema)
    @blp.response(201, FollowUpReportSchema)
    def post(self, data, agreement_id):
        """The agreement's administrator reports a period: every activity's progress, the indicators
        measured, observations. ``active_beneficiaries`` is counted (active on ``period_end``).
        403 for anyone else; 409 ``agreement_not_in_follow_up`` unless in execution, suspended or
        closing; 422 for a period outside the term, in the future or overlapping another report."""
        _agreement(agreement_id)
        return followup.create_report(current_actor(), agreement_id, data)


@blp.route("/follow-up-reports/<int:report_id>")
@blp.response(200, FollowUpReportSchema)
def get_report(report_id):
    return visible(_reader(), db.session.get(FollowUpReport, report_id, options=REPORT_LOAD))


@blp.route("/agreements/<int:agreement_id>/indicator-progress")
@blp.response(200, IndicatorProgressListSchema)
def indicator_progress(agreement_id):
    """Per indicator of the plan: baseline, target, the latest value reported and % of the target."""
    return {"items": followup.indicator_progress(_agreement(agreement_id))}


@blp.route("/agreements/<int:agreement_id>/incidents")
class AgreementIncidents(MethodView):
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentPageSchema)
    def get(self, args, agreement_id):
        """The agreement's incidents, latest first."""
        agreement = _agreement(agreement_id)
        query = select(Incident).where(Incident.agreement_id == agreement.id)
        if args.get("status"):
            query = query.where(Incident.status == args["status"])
        page = paginate(db.session, query.order_by(Incident.occurred_on.desc(), Incident.id.desc())
                        .options(*INCIDENT_LOAD), args)
        _prefetch_incident_files(page["items"])
        return page

    @blp.arguments(IncidentSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data, agreement_id):
        """The administrator (or the legal team / system administration) records an incident. A sanction,
        suspension or termination waits for the NGO's reply (``reply_due``) unless ``urgent`` (with its
        reason): then it takes effect at once. ``termination`` is refused (403 ``termination_not_allowed``)
        to the administrator. Evidence: ``POST /incidents/{id}/evidence``."""
        _agreement(agreement_id)
        return incidents.record_incident(current_actor(), agreement_id, data)


@blp.route("/incidents/<int:incident_id>")
@blp.response(200, IncidentSchema)
def get_incident(incident_id):
    incident = visible(_reader(), db.session.get(Incident, incident_id, options=INCIDENT_LOAD))
    _prefetch_incident_files([incident])
    return incident


@blp.route("/incidents/<int:incident_id>/evidence", methods=["POST"])
@blp.arguments(EvidenceUploadSchema, location="files")
@blp.response(200, IncidentSchema)
def attach_evidence(files, incident_id):
    """multipart/form-data ``file``: the evidence (PDF, JPEG or PNG) of an open incident."""
    _incident(incident_id)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(errors={"file": ["Adjunte el archivo."]})
    data = upload.stream.read(incidents.evidence_limit() + 1)  # over the limit: the service says so
    try:
        return incidents.attach_evidence(current_actor(), incident_id, data, upload.filename)
    except ValidationFailed as exc:
        raise type(exc)(errors={"file" if k == "evidence" else k: v for k, v in exc.errors.items()}) from None



@blp.route("/incidents/<int:incident_id>/reply", methods=["POST"])
@blp.arguments(ReplySchema, location="form")
@blp.response(201, IncidentSchema)
def reply(data, incident_id):
    """multipart/form-data: the NGO's descargo (``text``) and its proofs (``files``, PDF/JPEG/PNG, any number up
    to 10), once, by ``reply_due``. 409 ``no_reply_expected``, ``reply_exists``, ``reply_overdue``."""
    _incident(incident_id)
    limit = attachment_service.kind_limit("incident_reply") + 1
    uploads = [(f.filename, f.stream.read(limit)) for f in request.files.getlist("files") if f and f.filename]
    due_process.reply_to_incident(current_actor(), incident_id, data["text"], uploads)
    return db.session.get(Incident, incident_id)


@blp.route("/incidents/<int:incident_id>/measure", methods=["POST"])
@blp.arguments(MeasureDecisionSchema)
@blp.response(200, IncidentSchema)
def decide_measure(data, incident_id):
    """After the reply or its deadline: apply the measure (it takes effect) or withdraw it (``note`` required).
    409 ``reply_period_open`` while the NGO may still reply."""
    _incident(incident_id)
    return due_process.decide_measure(current_actor(), incident_id, data["apply"], data.get("note"))


@blp.route("/incidents/<int:incident_id>/fine-deposits", methods=["POST"])
@blp.arguments(FinePaymentSchema)
@blp.response(201, FinePaymentSchema)
def declare_fine_deposit(data, incident_id):
    """The NGO declares the deposit of (part of) a fine in effect; it counts once treasury confirms it.
    The slip follows with ``POST /fine-payments/{id}/slip``."""
    _incident(incident_id)
    return fines.declare_fine_deposit(current_actor(), incident_id, data)


@blp.route("/incidents/<int:incident_id>/fine-deduction", methods=["POST"])
@blp.response(200, IncidentSchema)
def accept_fine_deduction(incident_id):
    """The NGO accepts in writing that what it owes of the fine is withheld from its next advance."""
    _incident(incident_id)
    return fines.accept_deduction(current_actor(), incident_id)


def _fine_payment(payment_id: int) -> FinePayment:
    payment = db.session.get(FinePayment, payment_id)
    if payment is None or not payment.is_visible_to(_reader()):
        raise NotFound()
    return payment


@blp.route("/fine-payments/<int:payment_id>/slip", methods=["POST"])
@blp.arguments(EvidenceUploadSchema, location="files")
@blp.response(201, FinePaymentSchema)
def attach_fine_slip(files, payment_id):
    """multipart/form-data ``file``: the deposit slip (PDF, JPEG or PNG, by content)."""
    _fine_payment(payment_id)
    upload = request.files.get("file")
    data = upload.stream.read(attachment_service.kind_limit("deposit_slip") + 1) if upload else b""
    return fines.attach_slip(current_actor(), payment_id, upload.filename if upload else None, data)


@blp.route("/fine-payments/<int:payment_id>/decision", methods=["POST"])
@blp.arguments(DepositDecisionSchema)
@blp.response(200, FinePaymentSchema)
def decide_fine_deposit(data, payment_id):
    """Treasury confirms the deposit against the bank (the fine is collected) or rejects it (``reason``)."""
    _fine_payment(payment_id)
    return fines.decide_fine_deposit(current_actor(), payment_id, data["confirm"], data.get("reason"))


@blp.route("/incidents/<int:incident_id>/resolve", methods=["POST"])
@blp.arguments(ResolveSchema)
@blp.response(200, IncidentSchema)
def resolve(data, incident_id):
    """Record the resolution; ``resume: true`` also resumes the suspended agreement (409
    ``agreement_not_suspended``, ``open_suspensions``)."""
    _incident(incident_id)
    return incidents.resolve_incident(current_actor(), incident_id, data["resolution"], data["resume"])


@blp.route("/agreements/<int:agreement_id>/closing", methods=["POST"])
@blp.response(200, AgreementSchema)
def begin_closing(agreement_id):
    """The administrator starts the agreement's closing (in execution → closing); 409
    ``money_in_flight`` while payments are prepared or authorized or advances requested,
    approved or prepared (each listed in the message)."""
    _agreement(agreement_id)
    return agreements.begin_closing(current_actor(), agreement_id)
