"""Schemas of follow-up reports, indicator progress and incidents."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from grants import models
from grants.api.fields import PageArgsSchema, nullable_from, page_schema
from grants.api.schemas import ID_RANGE
from grants.models.followup import MEASURES, SANCTION_TYPES, SEVERITIES
from grants.workflows.incident import MeasureState
from grants.money import format_amount, parse_amount
from grants.workflows.incident import IncidentState

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

@nullable_from(models.Incident)
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
        "description": "observation: in effect at once. sanction, suspension, termination (legal team or system "
                       "administration only): the NGO may reply until reply_due, then the ministry applies or "
                       "withdraws it; unless urgent (with urgent_reason): in effect at once"})
    measure_detail = fields.String(required=True, validate=TEXT)
    urgent = fields.Boolean(load_default=False)
    urgent_reason = fields.String(load_default=None, allow_none=True, validate=TEXT)
    sanction_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SANCTION_TYPES))
    fine_amount = DecimalString(load_default=None, allow_none=True, metadata=DECIMAL)
    measure_status = fields.String(dump_only=True, metadata={"enum": [s.value for s in MeasureState]})
    reply_due = fields.Date(dump_only=True, allow_none=True)
    measure_decided_by_id = fields.Integer(dump_only=True, allow_none=True)
    measure_decided_at = fields.DateTime(dump_only=True, allow_none=True)
    measure_decision_note = fields.String(dump_only=True, allow_none=True)
    deduction_accepted_at = fields.DateTime(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, metadata={"enum": ["open", "resolved"]})
    evidence = fields.Method("_evidence", dump_only=True)
    reply = fields.Method("_reply", dump_only=True)
    fine = fields.Method("_fine", dump_only=True, metadata={"description": "A fine in effect: owed, collected, and "
                                                                          "each payment (deposit or deduction)"})
    resolution = fields.String(dump_only=True)
    reported_by_id = fields.Integer(dump_only=True)
    resolved_by_id = fields.Integer(dump_only=True)
    resolved_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


    def _evidence(self, incident):
        from grants.api.attachments import AttachmentSchema
        from grants.services.attachments import attachments_of

        return AttachmentSchema(many=True).dump(attachments_of(incident, "incident_evidence"))

    def _reply(self, incident):
        from grants.api.attachments import AttachmentSchema
        from grants.services.attachments import attachments_of

        reply = incident.reply
        if reply is None:
            return None
        return {"text": reply.text, "submitted_by_id": reply.submitted_by_id,
                "submitted_at": reply.submitted_at.isoformat(),
                "attachments": AttachmentSchema(many=True).dump(attachments_of(reply, "incident_reply"))}

    def _fine(self, incident):
        from grants.services import fines

        if incident.sanction_type != "fine" or incident.measure_status != MeasureState.IN_EFFECT:
            return None
        return {"amount": format_amount(incident.fine_amount), "owed": format_amount(fines.owed(incident)),
                "collected": format_amount(fines.collected(incident)),
                "payments": FinePaymentSchema(many=True).dump(fines.payments_of(incident))}


class FinePaymentSchema(Schema):
    id = fields.Integer(dump_only=True)
    incident_id = fields.Integer(dump_only=True)
    method = fields.String(dump_only=True, metadata={"enum": ["deposit", "deduction"]})
    amount = DecimalString(required=True, metadata=DECIMAL)
    bank_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    deposited_on = fields.Date(required=True)
    advance_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, metadata={"enum": ["declared", "confirmed", "rejected"]})
    recorded_by_id = fields.Integer(dump_only=True)
    recorded_at = fields.DateTime(dump_only=True)
    decided_by_id = fields.Integer(dump_only=True, allow_none=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    rejection_reason = fields.String(dump_only=True, allow_none=True)


class ReplySchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class MeasureDecisionSchema(Schema):
    apply = fields.Boolean(required=True, metadata={"description": "true: the measure takes effect; false: withdrawn"})
    note = fields.String(load_default=None, allow_none=True, validate=TEXT,
                         metadata={"description": "Required to withdraw"})


class DepositDecisionSchema(Schema):
    confirm = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class IncidentQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in IncidentState]))


class EvidenceUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "PDF, JPEG or PNG"})


class ResolveSchema(Schema):
    resolution = fields.String(required=True, validate=TEXT)
    resume = fields.Boolean(load_default=False, metadata={
        "description": "Also resume the suspended agreement (refused while another suspension incident is open)"})


FollowUpReportPageSchema = page_schema(FollowUpReportSchema, "FollowUpReportPage")
IncidentPageSchema = page_schema(IncidentSchema, "IncidentPage")
