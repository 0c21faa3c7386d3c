"""/api/v1 closing: an agreement's final liquidation, the yearly report to the Legislative Assembly
(PDF, XLSX, JSON and its JSON Schema) and the year's open data (OCDS-style releases).

The open data (``/open-data/{year}.json``) and the report's schema are public: no token.
"""
from __future__ import annotations

from flask import Response, send_file
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from grants.api.auth import public
from grants.api.blueprint import Blueprint
from grants.api.generated_files import GeneratedFileSchema, request_and_serve
from grants.api.fields import MoneyField
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Agreement, LegislatureReport
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import final_liquidation as closing
from grants.services import final_liquidation_acta
from grants.services import legislature, open_data, signing

blp = Blueprint("closing", __name__, url_prefix="/api/v1",
                description="Liquidación final, informe a la Asamblea Legislativa y datos abiertos")

MIMETYPES = {"pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "json": "application/json"}


class LiquidationIndicatorSchema(Schema):
    name = fields.String()
    unit = fields.String()
    baseline = fields.String(metadata={"description": "Two decimals."})
    target = fields.String()
    achieved = fields.String(allow_none=True, metadata={"description": "Latest follow-up report; null if none."})


class LiquidationFiguresSchema(Schema):
    assigned = MoneyField()
    paid_directly = MoneyField()
    advanced = MoneyField()
    liquidated = MoneyField()
    refunded = MoneyField()
    unspent = MoneyField(metadata={"description": "assigned − paid_directly − liquidated"})
    beneficiaries_target = fields.Integer()
    beneficiaries_validated = fields.Integer()
    beneficiaries_reached = fields.Integer()
    indicators = fields.List(fields.Nested(LiquidationIndicatorSchema))
    findings = fields.Dict(metadata={"description": "{total, open, justified, confirmed, resolved, by_rule}"})


class LiquidationPreviewFiguresSchema(LiquidationFiguresSchema):
    committed = MoneyField()
    outstanding = MoneyField()


class LiquidationBlockerSchema(Schema):
    code = fields.String()
    message = fields.String()
    ids = fields.List(fields.Integer())


class LiquidationPreviewSchema(Schema):
    agreement_id = fields.Integer()
    status = fields.String()
    ready = fields.Boolean()
    blockers = fields.List(fields.Nested(LiquidationBlockerSchema))
    figures = fields.Nested(LiquidationPreviewFiguresSchema)


class SignOffSchema(Schema):
    id = fields.Integer()
    discipline = fields.String(metadata={"description": "legal | financial | monitoring"})
    decision = fields.String(metadata={"description": "approve | send_back"})
    observations = fields.String(allow_none=True)
    reviewer_id = fields.Integer()
    reviewer_name = fields.Function(lambda s: s.reviewer.full_name)
    signed_at = fields.DateTime()


class FinalLiquidationSchema(LiquidationFiguresSchema):
    """One revision of the final liquidation."""

    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    revision = fields.Integer()
    status = fields.String(metadata={"description": "proposed | returned | approved | recorded"})
    verdict = fields.String()
    reasoning = fields.String()
    prepared_by_id = fields.Integer()
    prepared_by_name = fields.Function(lambda r: r.prepared_by.full_name)
    prepared_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True, metadata={"description": "approved or sent back; null while proposed"})
    signoffs = fields.List(fields.Nested(SignOffSchema))


class FinalLiquidationStateSchema(Schema):
    status = fields.String(metadata={"description": "none | proposed | returned | approved | recorded"})
    current = fields.Nested(FinalLiquidationSchema, allow_none=True,
                            metadata={"description": "The latest revision; null until one is prepared."})
    revisions = fields.List(fields.Nested(FinalLiquidationSchema), metadata={"description": "First first."})
    pending = fields.List(fields.String(), metadata={"description": "Disciplines still to sign the latest "
                                                                    "revision (while proposed)."})
    changed = fields.List(fields.String(), metadata={"description": "Money figures that moved in the ledger since "
                                                                    "the proposed revision was prepared."})
    preview = fields.Nested(LiquidationPreviewSchema, allow_none=True,
                            metadata={"description": "Figures as they stand and blockers, until final."})


class LiquidationRequestSchema(Schema):
    verdict = fields.String(required=True, metadata={"description": "cumple | cumple_parcialmente | no_cumple"})
    reasoning = fields.String(required=True, validate=validate.Length(max=20000))


class SignOffRequestSchema(Schema):
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "The revision signed (the latest, proposed)."})
    discipline = fields.String(required=True, metadata={"description": "legal | financial | monitoring"})
    decision = fields.String(required=True, metadata={"description": "approve | send_back"})
    observations = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                                 metadata={"description": "Required to send back."})


class SignOffResultSchema(SignOffSchema):
    revision = fields.Function(lambda s: s.liquidation.revision)
    liquidation_status = fields.Function(lambda s: s.liquidation.status)
    agreement_status = fields.Function(lambda s: s.liquidation.agreement.status)


class LegislatureReportSchema(Schema):
    id = fields.Integer()
    fiscal_year = fields.Integer()
    status = fields.String()
    agreements = fields.Integer()
    totals = fields.Dict()
    pdf_sha256 = fields.String()
    xlsx_sha256 = fields.String()
    json_sha256 = fields.String()
    generated_by_id = fields.Integer(allow_none=True)
    generated_at = fields.DateTime()
    sent_by_id = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)


# --- final liquidation -------------------------------------------------------------------------

def _agreement(agreement_id: int) -> Agreement:
    user = acting_user()
    require(user, Permission.AGREEMENTS_READ)
    require(user, Permission.MONEY_READ)
    return visible(user, db.session.get(Agreement, agreement_id))


def _state(agreement: Agreement) -> dict:
    state = closing.liquidation_state(agreement)
    if state["preview"] is not None:
        preview = state["preview"]
        preview["blockers"] = [{**b, "message": str(b["message"])} for b in preview["blockers"]]
    return state


@blp.route("/agreements/<int:agreement_id>/final-liquidation")
class FinalLiquidationView(MethodView):
    @blp.response(200, FinalLiquidationStateSchema)
    def get(self, agreement_id):
        """The final liquidation: its status, the latest revision with the three disciplines'
        sign-offs, every revision, the disciplines still to sign, and (until it is final) the
        figures as they stand with the blockers (``advance_not_liquidated``, ``payment_pending``,
        ``finding_unresolved``, ``agreement_not_closing``)."""
        return _state(_agreement(agreement_id))

    @blp.arguments(LiquidationRequestSchema)
    @blp.response(201, FinalLiquidationSchema)
    def post(self, data, agreement_id):
        """The agreement's administrator prepares the final liquidation (revision 1), or its next
        revision after a discipline sent it back: figures from the ledger, the proposed verdict
        and its reasoning. The agreement stays in closing until legal, financial and monitoring
        approve the same revision. 409 with the blocker's code while something is pending,
        ``liquidation_in_review`` while a revision waits for sign-offs, ``already_liquidated``."""
        _agreement(agreement_id)
        return closing.prepare_liquidation(current_actor(), agreement_id, data["verdict"], data["reasoning"])


@blp.route("/agreements/<int:agreement_id>/final-liquidation/sign-offs", methods=["POST"])
@blp.arguments(SignOffRequestSchema)
@blp.response(201, SignOffResultSchema)
def sign_off(data, agreement_id):
    """A reviewer signs the proposed revision for their discipline: ``approve``, or ``send_back``
    with observations (the revision is returned to the administrator at once). With the three
    disciplines' approvals of the same revision the agreement becomes ``liquidated``. One person
    signs one discipline of an agreement's final liquidation, never one they prepared (409
    ``segregation_of_duties``); 409 ``revision_not_in_review``, ``discipline_already_signed``,
    ``figures_changed`` or a blocker's code."""
    _agreement(agreement_id)
    return closing.sign_off(current_actor(), agreement_id, data["revision"], data["discipline"], data["decision"],
                            data["observations"])


@blp.route("/agreements/<int:agreement_id>/final-liquidation.pdf")
@blp.response(200, content_type="application/pdf")
def acta_pdf(agreement_id):
    """The acta de liquidación final (PDF) of the latest revision: figures, verdict, reasoning and
    the three sign-offs with names and dates; «NO APROBADA» on every page until the three
    disciplines approved it. 404 while nothing was prepared."""
    agreement = _agreement(agreement_id)
    pdf = signing.issue("final_liquidation_acta", agreement, lambda day: final_liquidation_acta.acta_pdf(agreement, day), actor=current_actor())
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="acta-liquidacion-final-{agreement.number}.pdf"',
        "Cache-Control": "private, no-store"})


# --- report to the legislature ------------------------------------------------------------------

def _reporter():
    user = acting_user()
    require(user, Permission.LEGISLATURE_REPORTS)
    return user


@blp.route("/legislature-reports")
@blp.response(200, LegislatureReportSchema(many=True))
def list_reports():
    """Reports generated and sent, newest first (auditors and admins)."""
    _reporter()
    return db.session.scalars(select(LegislatureReport).order_by(LegislatureReport.id.desc()).limit(200)).all()


@blp.route("/legislature-reports/<int:year>", methods=["POST"])
@blp.response(201, LegislatureReportSchema)
def generate(year):
    """Build the year's PDF, XLSX and JSON, store them by SHA-256 and record their hashes."""
    _reporter()
    return legislature.generate_report(current_actor(), year)


@blp.route("/legislature-reports/<int:year>/send", methods=["POST"])
@blp.response(200, LegislatureReportSchema)
def send(year):
    """Send the year's report: its files are generated and kept, and the year's liquidated
    agreements become ``reported``. A year is sent once (409 ``report_already_sent``)."""
    _reporter()
    return legislature.send_report(current_actor(), year)


def _download(year: int, kind: str):
    _reporter()
    year = legislature.check_year(year)
    sent = legislature.sent_report(year)
    name = f"informe-asamblea-{year}.{kind}"
    headers = {"Cache-Control": "private, no-store"}
    if sent is not None:  # once sent, the files as they were sent
        path = legislature.stored_file(sent, kind)
        response = send_file(path, mimetype=MIMETYPES[kind], as_attachment=kind != "json", download_name=name)
        response.headers.update(headers)
        return response
    if kind != "json":  # the draft's PDF and workbook take long to build for a whole year: a job builds them
        return request_and_serve(f"legislature_{kind}", {"year": year})
    content = legislature.build_file(legislature.report_data(year), kind)
    return Response(content, mimetype=MIMETYPES[kind],
                    headers={**headers, "Content-Disposition": f'inline; filename="{name}"'})


def _download_route(kind: str):
    def view(year):
        return _download(year, kind)

    if kind == "json":
        view.__doc__ = ("The year's report as JSON (auditors and admins): built from the data as it stands, "
                        "or the stored file once the report was sent.")
    else:
        view.__doc__ = (f"The year's report as {kind.upper()} (auditors and admins). Once sent, the stored file. "
                        "Before, a draft built by a job from the data as it stands: 200 with the file when built, "
                        "else 202 with the file's record (Location, Retry-After); any audited change makes the "
                        "next request build a new draft.")
        view = blp.alt_response(202, schema=GeneratedFileSchema, description="Being built: see Location")(view)
    view = blp.response(200, content_type=MIMETYPES[kind])(view)
    return blp.route(f"/legislature-reports/<int:year>.{kind}", endpoint=f"report_{kind}")(view)


report_pdf = _download_route("pdf")
report_xlsx = _download_route("xlsx")
report_json = _download_route("json")


@blp.route("/legislature-reports/schema.json")
@blp.response(200, content_type="application/schema+json", description="JSON Schema (draft 2020-12)")
@blp.doc(security=[])
@public
def report_schema():
    """The JSON Schema (draft 2020-12) that every report's JSON follows. Public."""
    return Response(legislature.SCHEMA_PATH.read_bytes(), mimetype="application/schema+json")


# --- open data ----------------------------------------------------------------------------------

_OBJECT = {"type": "object"}
OPEN_DATA_SCHEMA = {  # the release package as ocds_package builds it (OCDS 1.1 release package)
    "type": "object",
    "required": ["uri", "version", "publishedDate", "publisher", "license", "publicationPolicy", "releases"],
    "properties": {
        "uri": {"type": "string"},
        "version": {"type": "string", "enum": ["1.1"]},
        "publishedDate": {"type": "string", "format": "date-time"},
        "publisher": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "scheme": {"type": "string"}, "uid": {"type": "string"}}},
        "license": {"type": "string"},
        "publicationPolicy": {"type": "string"},
        "releases": {"type": "array", "items": {
            "type": "object",
            "required": ["ocid", "id", "date", "tag", "initiationType", "parties", "buyer"],
            "properties": {
                "ocid": {"type": "string"}, "id": {"type": "string"}, "date": {"type": "string", "format": "date-time"},
                "tag": {"type": "array", "items": {"type": "string"}},
                "initiationType": {"type": "string", "enum": ["tender"]}, "language": {"type": "string"},
                "parties": {"type": "array", "items": _OBJECT}, "buyer": _OBJECT, "planning": _OBJECT,
                "tender": _OBJECT, "awards": {"type": "array", "items": _OBJECT},
                "contracts": {"type": "array", "items": _OBJECT},
            }}},
    },
}


@blp.route("/open-data/<int:year>.json")
@blp.doc(security=[], responses={"200": {"description": "OCDS release package of the fiscal year",
                                         "content": {"application/json": {"schema": OPEN_DATA_SCHEMA}}}})
@public
def open_data_year(year):
    """Open data, public (no token): the year's agreements as an OCDS-style release package —
    parties (ministry, NGO, suppliers paid directly), tranches and follow-up reports as milestones,
    and ``contracts[].implementation.transactions`` (advances, direct payments, refunds). Amounts
    are JSON numbers in USD. No personal data of beneficiaries."""
    package = open_data.ocds_package(year)
    return Response(open_data.dumps(package), mimetype="application/json",
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"})
