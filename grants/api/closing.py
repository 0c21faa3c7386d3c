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
from grants.api.fields import MoneyField
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Agreement, LegislatureReport
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import final_liquidation as closing
from grants.services import legislature, open_data

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


class FinalLiquidationSchema(LiquidationFiguresSchema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    verdict = fields.String()
    reasoning = fields.String()
    decided_by_id = fields.Integer()
    decided_at = fields.DateTime()


class FinalLiquidationStateSchema(Schema):
    recorded = fields.Nested(FinalLiquidationSchema, allow_none=True)
    preview = fields.Nested(LiquidationPreviewSchema, allow_none=True)


class LiquidationRequestSchema(Schema):
    verdict = fields.String(required=True, metadata={"description": "cumple | cumple_parcialmente | no_cumple"})
    reasoning = fields.String(required=True, validate=validate.Length(max=20000))


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


def _preview(agreement: Agreement) -> dict:
    preview = closing.liquidation_preview(agreement)
    preview["blockers"] = [{**b, "message": str(b["message"])} for b in preview["blockers"]]
    return preview


@blp.route("/agreements/<int:agreement_id>/final-liquidation")
class FinalLiquidationView(MethodView):
    @blp.response(200, FinalLiquidationStateSchema)
    def get(self, agreement_id):
        """The recorded final liquidation, or (until there is one) the figures as they stand and the
        blockers (``advance_not_liquidated``, ``payment_pending``, ``finding_unresolved``,
        ``agreement_not_closing``)."""
        agreement = _agreement(agreement_id)
        done = closing.recorded(agreement.id)
        return {"recorded": done, "preview": None if done else _preview(agreement)}

    @blp.arguments(LiquidationRequestSchema)
    @blp.response(201, FinalLiquidationSchema)
    def post(self, data, agreement_id):
        """The agreement's administrator records the verdict with its reasoning; the agreement
        becomes ``liquidated``. 409 with the blocker's code while something is pending."""
        _agreement(agreement_id)
        return closing.liquidate_agreement(current_actor(), agreement_id, data["verdict"], data["reasoning"])


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
    content = legislature.build_file(legislature.report_data(year), kind)
    disposition = "inline" if kind == "json" else "attachment"
    return Response(content, mimetype=MIMETYPES[kind],
                    headers={**headers, "Content-Disposition": f'{disposition}; filename="{name}"'})


def _download_route(kind: str):
    @blp.route(f"/legislature-reports/<int:year>.{kind}", endpoint=f"report_{kind}")
    @blp.response(200, content_type=MIMETYPES[kind])
    def view(year):
        return _download(year, kind)

    view.__doc__ = (f"The year's report as {kind.upper()} (auditors and admins): built from the data as it "
                    "stands, or the stored file once the report was sent.")
    return view


report_pdf = _download_route("pdf")
report_xlsx = _download_route("xlsx")
report_json = _download_route("json")


@blp.route("/legislature-reports/schema.json")
@blp.doc(security=[])
@public
def report_schema():
    """The JSON Schema (draft 2020-12) that every report's JSON follows. Public."""
    return Response(legislature.SCHEMA_PATH.read_bytes(), mimetype="application/schema+json")


# --- open data ----------------------------------------------------------------------------------

@blp.route("/open-data/<int:year>.json")
@blp.doc(security=[])
@public
def open_data_year(year):
    """Open data, public (no token): the year's agreements as an OCDS-style release package —
    parties (ministry, NGO, suppliers paid directly), tranches and follow-up reports as milestones,
    and ``contracts[].implementation.transactions`` (advances, direct payments, refunds). Amounts
    are JSON numbers in USD. No personal data of beneficiaries."""
    package = open_data.ocds_package(year)
    return Response(open_data.dumps(package), mimetype="application/json",
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"})
