"""/api/v1/audit: liquidation check runs, their findings, the auditors' decisions and the
exports (XLSX, PDF). Auditors run and decide; auditors and admins read; nobody else."""
from __future__ import annotations

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants import jobs, models
from grants.api.blueprint import Blueprint
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema, paginate
from grants.api.idempotency import idempotent
from grants.api.schemas import ID_RANGE
from grants.audit.rules import RULES, RULES_BY_CODE
from grants.clock import today
from grants.context import acting_user, current_actor, request_id
from grants.extensions import db
from grants.models import AuditCheckRun, AuditFinding
from grants.models.findings import FINDING_SEVERITIES
from grants.workflows.audit_check import DECISIONS, FindingState, RunState
from grants.permissions import Permission
from grants.security import require
from grants.services import audit_checks as service
from grants.services import signing
from grants.domain_errors import NotFound

blp = Blueprint("audit_checks", __name__, url_prefix="/api/v1/audit",
                description="Revisiones de liquidación (auditoría interna) y hallazgos")

MAX_EXPORT = 5000


@nullable_from(models.AuditCheckRun)
class AuditCheckRunSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(allow_none=True, validate=ID_RANGE, metadata={
        "description": "Only this agreement (omit for all)"})
    fiscal_year = fields.Integer(allow_none=True, validate=validate.Range(min=2000, max=2100), metadata={
        "description": "Only agreements whose allocation is of this fiscal year"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in RunState]})
    started_by_id = fields.Integer(dump_only=True)
    started_at = fields.DateTime(dump_only=True)
    finished_at = fields.DateTime(dump_only=True)
    rules_run = fields.Integer(dump_only=True)
    findings_new = fields.Integer(dump_only=True)
    findings_seen = fields.Integer(dump_only=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True,
                         metadata={"description": "Findings per rule code in this run"})
    failure = fields.String(dump_only=True, metadata={"description": "Why a failed run failed"})


class AuditFindingSchema(Schema):
    id = fields.Integer(dump_only=True)
    rule_code = fields.String(dump_only=True, metadata={"enum": [r.code for r in RULES]})
    rule_title = fields.Function(lambda f: str(RULES_BY_CODE[f.rule_code].title)
                                 if f.rule_code in RULES_BY_CODE else f.rule_code, dump_only=True)
    severity = fields.String(dump_only=True, metadata={"enum": list(FINDING_SEVERITIES)})
    agreement_id = fields.Integer(dump_only=True, allow_none=True)
    agreement_number = fields.Function(lambda f: f.agreement.number if f.agreement else None, dump_only=True)
    organization_id = fields.Integer(dump_only=True, allow_none=True)
    entity_type = fields.String(dump_only=True)
    entity_id = fields.String(dump_only=True)
    summary = fields.String(dump_only=True)
    evidence = fields.Dict(dump_only=True, metadata={"description": "Amounts as strings, dates ISO 8601"})
    amount = MoneyField(dump_only=True, allow_none=True, metadata={"type": "string", "example": "1500.00"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in FindingState]})
    note = fields.String(dump_only=True, allow_none=True)
    decided_by_id = fields.Integer(dump_only=True, allow_none=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    first_run_id = fields.Integer(dump_only=True)
    last_run_id = fields.Integer(dump_only=True)
    first_seen_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True)
    present = fields.Boolean(dump_only=True, metadata={
        "description": "False when the last run covering it no longer found it"})


class AuditFindingFilterSchema(Schema):
    rule_code = fields.String(validate=validate.OneOf([r.code for r in RULES]))
    status = fields.String(validate=validate.OneOf([s.value for s in FindingState]))
    severity = fields.String(validate=validate.OneOf(FINDING_SEVERITIES))
    agreement_id = fields.Integer(validate=ID_RANGE)
    present = fields.Boolean()


class AuditFindingQuerySchema(PageArgsSchema, AuditFindingFilterSchema):
    pass


class FindingDecisionSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in FindingState if s in DECISIONS]), metadata={
        "description": "open → justified | confirmed; justified → confirmed; confirmed → resolved"})
    note = fields.String(required=True, validate=validate.Length(max=5000))


CheckRunPageSchema = page_schema(AuditCheckRunSchema, "AuditCheckRunPage")
FindingPageSchema = page_schema(AuditFindingSchema, "AuditFindingPage")


def _reader():
    user = acting_user()
    require(user, Permission.AUDIT_READ)
    return user


def _finding(finding_id: int) -> AuditFinding:
    _reader()
    finding = db.session.get(AuditFinding, finding_id)
    if finding is None:
        raise NotFound()
    return finding


@blp.route("/check-runs")
class CheckRuns(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CheckRunPageSchema)
    def get(self, args):
        """Check runs, newest first."""
        _reader()
        return paginate(db.session, select(AuditCheckRun).order_by(AuditCheckRun.id.desc()), args)

    @idempotent(required=False)
    @blp.arguments(AuditCheckRunSchema)
    @blp.response(202, AuditCheckRunSchema, description="Accepted: the run (status ``running``) is recorded and "
                  "a job runs the rules; follow ``Location`` until the status is ``finished`` (or ``failed``).",
                  headers={"Location": {"description": "The run: GET it for its status and counts",
                                        "schema": {"type": "string"}}})
    def post(self, data):
        """Run every liquidation rule over the scope (one agreement, one fiscal year, both, or all), on
        the job queue. Findings are kept by rule + entity: a re-run refreshes them, never duplicates them."""
        require(acting_user(), Permission.CHECKS_RUN)
        run = service.request_run(current_actor(), data.get("agreement_id"), data.get("fiscal_year"))
        jobs.defer("run_check_run", run_id=run.id, user_id=acting_user().id, request_id=request_id())
        return run, 202, {"Location": url_for("audit_checks.get_check_run", run_id=run.id)}


@blp.route("/check-runs/<int:run_id>")
@blp.response(200, AuditCheckRunSchema)
def get_check_run(run_id):
    _reader()
    run = db.session.get(AuditCheckRun, run_id)
    if run is None:
        raise NotFound()
    return run


# What AuditFindingSchema reads beyond the row: the agreement's number, for a whole page in one query.
FINDING_LOAD = (selectinload(AuditFinding.agreement).load_only(models.Agreement.number),)


@blp.route("/findings")
@blp.arguments(AuditFindingQuerySchema, location="query")
@blp.response(200, FindingPageSchema)
def list_findings(args):
    """Findings: present first, then by severity, newest first."""
    _reader()
    return paginate(db.session, service.findings_query(args).options(*FINDING_LOAD), args)


@blp.route("/findings/<int:finding_id>")
@blp.response(200, AuditFindingSchema)
def get_finding(finding_id):
    return _finding(finding_id)


@blp.route("/findings/<int:finding_id>/decision", methods=["POST"])
@blp.arguments(FindingDecisionSchema)
@blp.response(200, AuditFindingSchema)
def decide_finding(data, finding_id):
    """The auditor's decision, with a note (always): justified, confirmed or resolved."""
    _finding(finding_id)
    return service.decide_finding(current_actor(), finding_id, data["status"], data["note"])


def _export(args) -> list[AuditFinding]:
    _reader()
    return db.session.scalars(service.findings_query(args).limit(MAX_EXPORT)).all()


@blp.route("/findings.xlsx")
@blp.arguments(AuditFindingFilterSchema, location="query")
@blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def findings_xlsx(args):
    """The findings with these filters as XLSX (findings and their evidence; at most 5,000)."""
    data = service.findings_xlsx(_export(args))
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": f'attachment; filename="hallazgos-{today().isoformat()}.xlsx"'})


@blp.route("/findings.pdf")
@blp.arguments(AuditFindingFilterSchema, location="query")
@blp.response(200, content_type="application/pdf")
def findings_pdf(args):
    """The findings with these filters as PDF (at most 5,000)."""
    found = _export(args)
    data = signing.issue("findings", ("findings_filter", signing.filter_key(args)),
                         lambda day: service.findings_pdf(found, generated_on=day), actor=current_actor())
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="hallazgos-{today().isoformat()}.pdf"'})
