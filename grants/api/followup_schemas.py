"""Schemas of follow-up reports, indicator progress and incidents."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from grants.api.fields import PageArgsSchema, page_schema
from grants.api.schemas import ID_RANGE
from grants.models.followup import MEASURES, SEVERITIES
from grants.services.money import format_amount, parse_amount

DECIMAL = {"type": "string", "example": "45.50"}
TEXT = validate.Length(max=10000)
NOTES = validate.Length(max=2000)


class DecimalString(fields.Field):
    """A number with at most two decimals, as a string ("45.50"); never float."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_amount(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value)
        except ValueError:
            raise ValidationError(str(_l("Número inválido: use una cadena como \"45.50\" con dos decimales como "
                                         "máximo."))) from None


# --- follow-up reports ---------------------------------------------------------------------------

class ReportActivitySchema(Schema):
    activity_id = fields.Integer(required=True, validate=ID_RANGE, metadata={
        "description": "An activity of the agreement's plan version"})
    name = fields.Function(lambda a: a.activity.name, dump_only=True)
    progress = DecimalString(required=True, metadata={**DECIMAL, "description": "Percent done, 0 to 100"})
    notes = fields.String(load_default="", validate=NOTES)


class ReportIndicatorSchema(Schema):
    indicator_id = fields.Integer(required=True, validate=ID_RANGE, metadata={
        "description": "An indicator of the agreement's plan version"})
    name = fields.Function(lambda i: i.indicator.name, dump_only=True)
    unit = fields.Function(lambda i: i.indicator.unit, dump_only=True)
    baseline = fields.Function(lambda i: format_amount(i.indicator.baseline), dump_only=True, metadata=DECIMAL)
    target = fields.Function(lambda i: format_amount(i.indicator.target), dump_only=True, metadata=DECIMAL)
    value = DecimalString(required=True, metadata={**DECIMAL, "description": "Value measured in the period (≥ 0)"})
    notes = fields.String(load_default="", validate=NOTES)


class FollowUpReportSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda r: r.agreement.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    period_start = fields.Date(required=True, metadata={"description": "Inside the agreement's term"})
    period_end = fields.Date(required=True, metadata={
        "description": "Inside the term, not in the future; periods of one agreement never overlap"})
    active_beneficiaries = fields.Integer(dump_only=True, metadata={
        "description": "Counted: enrollments of the agreement active on period_end"})
    activities = fields.List(fields.Nested(ReportActivitySchema), required=True, metadata={
        "description": "Every activity of the plan, once"})
    indicators = fields.List(fields.Nested(ReportIndicatorSchema), load_default=list, metadata={
        "description": "The indicators measured in the period (each at most once)"})
    observations = fields.String(load_default="", validate=TEXT)
    author_id = fields.Integer(dump_only=True)
    author_name = fields.Function(lambda r: r.author.full_name, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class IndicatorProgressSchema(Schema):
    indicator_id = fields.Integer()
    position = fields.Integer()
    name = fields.String()
    unit = fields.String()
    expected_result = fields.String()
    baseline = DecimalString(metadata=DECIMAL)
    target = DecimalString(metadata=DECIMAL)
    latest_value = DecimalString(allow_none=True, metadata={**DECIMAL, "description": "null: never reported"})
    period_end = fields.Date(allow_none=True, metadata={"description": "End of the period the value comes from"})
    report_id = fields.Integer(allow_none=True)
    percent_of_target = DecimalString(allow_none=True, metadata={
        **DECIMAL, "description": "(latest − baseline) / (target − baseline) × 100; not capped"})


class IndicatorProgressListSchema(Schema):
    items = fields.List(fields.Nested(IndicatorProgressSchema))


# --- incidents -----------------------------------------------------------------------------------

class IncidentSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda i: i.agreement.number, dump_only=True)
    agreement_status = fields.Function(lambda i: i.agreement.status, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    occurred_on = fields.Date(required=True, metadata={"description": "Not in the future, not before the signature"})
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    description = fields.String(required=True, validate=TEXT)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES), metadata={
        "description": "suspension suspends the agreement at once; termination (legal team or system "
                       "administration only) terminates it"})
    measure_detail = fields.String(required=True, validate=TEXT)
    status = fields.String(dump_only=True, metadata={"enum": ["open", "resolved"]})
    evidence_filename = fields.String(dump_only=True)
    evidence_sha256 = fields.String(dump_only=True)
    resolution = fields.String(dump_only=True)
    reported_by_id = fields.Integer(dump_only=True)
    resolved_by_id = fields.Integer(dump_only=True)
    resolved_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class IncidentQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("open", "resolved")))


class EvidenceUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "PDF, JPEG or PNG"})


class ResolveSchema(Schema):
    resolution = fields.String(required=True, validate=TEXT)
    resume = fields.Boolean(load_default=False, metadata={
        "description": "Also resume the suspended agreement (refused while another suspension incident is open)"})


FollowUpReportPageSchema = page_schema(FollowUpReportSchema, "FollowUpReportPage")
IncidentPageSchema = page_schema(IncidentSchema, "IncidentPage")
