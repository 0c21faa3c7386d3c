"""/api/v1 follow-up of agreements: the administrator's follow-up reports, indicator progress,
incidents (with evidence and their measure), and the start of an agreement's closing.

Reading needs ``AGREEMENTS_READ``; an NGO user sees only its own organization's reports and
incidents (another's: 404). The services decide who writes.
"""
from __future__ import annotations

from flask import request, send_file
from flask.views import MethodView
from sqlalchemy import select

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.followup_schemas import (
    EvidenceUploadSchema,
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
from grants.models import Agreement, FollowUpReport, Incident
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import agreements, followup, incidents
from grants.services.errors import NotFound, ValidationFailed

blp = Blueprint("followup", __name__, url_prefix="/api/v1", description="Seguimiento: informes, incumplimientos y cierre")


def _reader():
    user = acting_user()
    require(user, Permission.AGREEMENTS_READ)
    return user


def _agreement(agreement_id: int) -> Agreement:
    return visible(_reader(), db.session.get(Agreement, agreement_id))


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
        return paginate(db.session, query, args)

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
    return visible(_reader(), db.session.get(FollowUpReport, report_id))


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
        return paginate(db.session, query.order_by(Incident.occurred_on.desc(), Incident.id.desc()), args)

    @blp.arguments(IncidentSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data, agreement_id):
        """The administrator (or the legal team / system administration) records an incident.
        ``suspension`` suspends the agreement at once; ``termination`` terminates it and is refused
        (403 ``termination_not_allowed``) to the administrator. Evidence: ``POST /incidents/{id}/evidence``."""
        _agreement(agreement_id)
        return incidents.record_incident(current_actor(), agreement_id, data)


@blp.route("/incidents/<int:incident_id>")
@blp.response(200, IncidentSchema)
def get_incident(incident_id):
    return _incident(incident_id)


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
        raise ValidationFailed(errors={"file" if k == "evidence" else k: v for k, v in exc.errors.items()}) from None


@blp.route("/incidents/<int:incident_id>/evidence", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def get_evidence(incident_id):
    """The evidence file as uploaded (PDF, JPEG or PNG)."""
    incident = _incident(incident_id)
    path = incidents.evidence_path(incident)
    if path is None:
        raise NotFound()
    return send_file(path, mimetype=incidents.evidence_mimetype(incident), as_attachment=True,
                     download_name=incident.evidence_filename or path.name)


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
