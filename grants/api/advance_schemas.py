"""Schemas of advances, expense statements with their receipts, refunds and agreement balances."""
from __future__ import annotations

from flask_smorest.fields import Upload
from flask import g
from marshmallow import Schema, fields, validate

from grants import models
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema
from grants.api.schemas import ID_RANGE
from grants.context import acting_user
from grants.services import advance_common
from grants.validation.receipts import DOCUMENT_TYPES
from grants.workflows.advance import AdvanceAction, AdvanceState, ReceiptState, StatementState
from grants.workflows.deposit import DepositState

DECIMAL = {"type": "string", "example": "1250.00"}
ADVANCE_STATES = [s.value for s in AdvanceState]


@nullable_from(models.ExpenseStatement)
class StatementSummarySchema(Schema):
    id = fields.Integer()
    number = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in StatementState]})
    total = MoneyField(metadata=DECIMAL)
    submitted_at = fields.DateTime()
    reviewed_at = fields.DateTime()


def _pending_receipts(advance) -> str:
    """Read for the whole page by the view when it can (``g.pending_receipts``), else for this advance."""
    known = g.get("pending_receipts", {})
    if advance.id in known:
        return known[advance.id]
    return advance_common.summary(advance)["pending_receipts"]


@nullable_from(models.Advance)
class AdvanceSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda a: a.agreement.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    tranche_number = fields.Integer(dump_only=True)
    amount = MoneyField(dump_only=True, metadata=DECIMAL)
    status = fields.String(dump_only=True, metadata={"enum": ADVANCE_STATES})
    purpose = fields.String(dump_only=True)
    period_start = fields.Date(dump_only=True, metadata={"description": "Receipts are dated from this day …"})
    period_end = fields.Date(dump_only=True, metadata={"description": "… to this day."})
    liquidation_due = fields.Date(dump_only=True)
    requested_by_id = fields.Integer(dump_only=True)
    reviewed_by_id = fields.Integer(dump_only=True)
    reviewed_at = fields.DateTime(dump_only=True)
    rejection_reason = fields.String(dump_only=True)
    prepared_by_id = fields.Integer(dump_only=True)
    prepared_at = fields.DateTime(dump_only=True)
    disbursed_by_id = fields.Integer(dump_only=True)
    disbursed_at = fields.DateTime(dump_only=True)
    bank_reference = fields.String(dump_only=True)
    transfer_date = fields.Date(dump_only=True)
    liquidated_amount = MoneyField(dump_only=True, metadata={**DECIMAL, "description": "Accepted receipts"})
    refunded_amount = MoneyField(dump_only=True, metadata=DECIMAL)
    outstanding = MoneyField(dump_only=True, metadata={
        **DECIMAL, "description": "Disbursed − accepted receipts − refunds (0 before disbursement)"})
    liquidated_share = fields.Function(lambda a: str(a.liquidated_share), dump_only=True, metadata={
        "type": "string", "example": "75.00", "description": "Percent accounted for (receipts and refunds)"})
    pending_receipts = fields.Function(lambda a: _pending_receipts(a), dump_only=True,
                                       metadata={**DECIMAL, "description": "Receipts awaiting a decision"})
    liquidated_at = fields.DateTime(dump_only=True)
    statements = fields.List(fields.Nested(StatementSummarySchema), dump_only=True)
    actions = fields.Function(
        lambda a: [action.value for action in (AdvanceAction.APPROVE, AdvanceAction.REJECT, AdvanceAction.PREPARE,
                                               AdvanceAction.DISBURSE) if a.can(acting_user(), action)],
        dump_only=True, metadata={
            "description": "What the caller may do with this advance now: the rule the service enforces "
                           "(Advance.refusal_for); the gate and the ceiling are checked again when acting",
            "type": "array", "items": {"type": "string", "enum": ["approve", "reject", "prepare", "disburse"]}})
    created_at = fields.DateTime(dump_only=True)


class AdvanceRequestSchema(Schema):
    tranche_number = fields.Integer(required=True, validate=validate.Range(min=1, max=1000),
                                    metadata={"description": "Tranche of the agreement's financial programming"})
    purpose = fields.String(load_default="", validate=validate.Length(max=5000))
    amount = MoneyField(load_default=None, allow_none=True, metadata={
        **DECIMAL, "description": "Part of the tranche (default: all that is left of it); the rest stays available "
                                  "to a later request of the same tranche"})


class AdvanceQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(ADVANCE_STATES))


class AdvanceReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=5000))


class DisburseSchema(Schema):
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    transfer_date = fields.Date(required=True)


@nullable_from(models.Receipt)
class ReceiptSchema(Schema):
    id = fields.Integer()
    statement_id = fields.Integer()
    position = fields.Integer()
    document_type = fields.String(metadata={"enum": list(DOCUMENT_TYPES)})
    document_number = fields.String()
    issue_date = fields.Date()
    supplier_tax_id = fields.String()
    supplier_name = fields.String()
    description = fields.String()
    budget_line = fields.Function(lambda r: r.budget_line.number)
    amount = MoneyField(metadata=DECIMAL)
    has_scan = fields.Method("_has_scan")
    scans = fields.Method("_scans", metadata={"description": "The receipt's scans (attachments)"})
    status = fields.String(metadata={"enum": [s.value for s in ReceiptState]})
    decision_reason = fields.String()
    decided_by_id = fields.Integer()
    decided_at = fields.DateTime()

    def _scans(self, receipt):
        from grants.api.attachments import AttachmentSchema
        from grants.services.attachments import attachments_of

        return AttachmentSchema(many=True).dump(attachments_of(receipt, "receipt_scan"))

    def _has_scan(self, receipt) -> bool:
        from grants.services.attachments import attachments_of

        return bool(attachments_of(receipt, "receipt_scan"))


@nullable_from(models.ExpenseStatement)
class StatementSchema(StatementSummarySchema):
    advance_id = fields.Integer()
    source_filename = fields.String()
    file_sha256 = fields.String()
    submitted_by_id = fields.Integer()
    receipts = fields.List(fields.Nested(ReceiptSchema))


class StatementRowsSchema(Schema):
    rows = fields.List(fields.Dict(), required=True, metadata={"description": (
        "Receipt lines: document_type (" + ", ".join(DOCUMENT_TYPES) + "), document_number, issue_date "
        "(AAAA-MM-DD or DD/MM/AAAA), supplier_tax_id (NIT or DUI), supplier_name, description, budget_line "
        "(number), amount (string, two decimals). Errors come back as rows.<n>.<field>, n counted from 1; "
        "nothing is stored unless every row passes.")})


class StatementUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "The filled XLSX template (see "
                                                          "expense-statement-template.xlsx); errors name its rows"})


class ScanUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "PDF, JPEG or PNG"})


class ReceiptDecisionSchema(Schema):
    accept = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


@nullable_from(models.Refund)
class RefundSchema(Schema):
    id = fields.Integer(dump_only=True)
    advance_id = fields.Integer(required=True, validate=ID_RANGE)
    agreement_id = fields.Integer(dump_only=True)
    amount = MoneyField(required=True, metadata=DECIMAL)
    bank_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    refunded_on = fields.Date(required=True, metadata={"description": "The deposit's date"})
    status = fields.String(dump_only=True, metadata={
        "enum": ["declared", "confirmed", "rejected"],
        "description": "Only a refund treasury confirmed against the bank counts toward liquidation"})
    recorded_by_id = fields.Integer(dump_only=True, metadata={"description": "Who declared it"})
    recorded_at = fields.DateTime(dump_only=True)
    decided_by_id = fields.Integer(dump_only=True, allow_none=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    rejection_reason = fields.String(dump_only=True, allow_none=True)
    slips = fields.Method("_slips", dump_only=True, metadata={"description": "The deposit slip(s)"})

    def _slips(self, refund):
        from grants.api.attachments import AttachmentSchema
        from grants.services.attachments import attachments_of

        return AttachmentSchema(many=True).dump(attachments_of(refund, "deposit_slip"))


class RefundReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RefundQuerySchema(PageArgsSchema):
    advance_id = fields.Integer(validate=ID_RANGE)
    agreement_id = fields.Integer(validate=ID_RANGE)
    status = fields.String(validate=validate.OneOf([s.value for s in DepositState]))


class LineBalanceSchema(Schema):
    number = fields.Integer()
    category = fields.String()
    approved = MoneyField(metadata=DECIMAL)
    committed = MoneyField(metadata=DECIMAL)
    paid = MoneyField(metadata=DECIMAL)
    liquidated = MoneyField(metadata=DECIMAL)
    available = MoneyField(metadata=DECIMAL)


class BalancesSchema(Schema):
    agreement_id = fields.Integer()
    assigned = MoneyField(metadata=DECIMAL)
    committed = MoneyField(metadata={**DECIMAL, "description": "Reserved: payments and advances not yet transferred"})
    paid_directly = MoneyField(metadata=DECIMAL)
    advanced = MoneyField(metadata=DECIMAL)
    liquidated = MoneyField(metadata={**DECIMAL, "description": "Accepted receipts of advances"})
    refunded = MoneyField(metadata={**DECIMAL, "description": "Refunds confirmed by treasury"})
    refunds_declared = MoneyField(metadata={**DECIMAL, "description": "Refunds declared by the NGO and not yet "
                                                                       "confirmed: counted in no other figure"})
    outstanding = MoneyField(metadata={**DECIMAL, "description": "Advanced − liquidated − refunded"})
    available = MoneyField(metadata={**DECIMAL, "description": "Assigned − committed − transferred"})
    lines = fields.List(fields.Nested(LineBalanceSchema))


AdvancePageSchema = page_schema(AdvanceSchema, "AdvancePage")
StatementPageSchema = page_schema(StatementSummarySchema, "StatementPage")
RefundPageSchema = page_schema(RefundSchema, "RefundPage")
