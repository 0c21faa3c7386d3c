"""Schemas of invoices (lines, beneficiaries served, receipt certificate, eligibility preview) and
of direct payments (lines, deductions, authorizations, the transfer)."""
from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import joinedload, selectinload

from grants import models
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema
from grants.api.schemas import ID_RANGE
from grants.context import acting_user
from grants.services import enrollments as enrollment_service
from grants.money import format_amount, parse_amount
from grants.workflows.payment import InvoiceState, PaymentAction, PaymentState

DECIMAL = {"type": "string", "example": "120.00"}


class QuantityField(fields.Field):
    """A quantity with at most two decimals: dumped as a string ("3.00"), loaded from a string or exact number."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_amount(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value)
        except ValueError:
            raise ValidationError(str(_l("Cantidad inválida: use un número con dos decimales como máximo."))) from None


def _masked_document(enrollment) -> str:
    number = enrollment.beneficiary.document_number
    full = enrollment_service.sees_personal_data(acting_user(), enrollment)
    return number if full else enrollment_service.mask_document(number)


class ServedSchema(Schema):
    enrollment_id = fields.Integer(dump_only=True)
    beneficiary_id = fields.Function(lambda b: b.enrollment.beneficiary_id, dump_only=True)
    name = fields.Function(lambda b: b.enrollment.beneficiary.full_name, dump_only=True)
    document_number = fields.Function(lambda b: _masked_document(b.enrollment), dump_only=True,
                                      metadata={"description": "Masked except for the NGO itself"})


class InvoiceLineSchema(Schema):
    id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    budget_line = fields.Integer(required=True, validate=ID_RANGE, metadata={
        "description": "The budget line's number in the agreement's plan version (1, 2, …)"})
    budget_line_id = fields.Integer(dump_only=True)
    description = fields.String(required=True, validate=validate.Length(max=300))
    quantity = QuantityField(metadata={**DECIMAL, "example": "3", "description":
                                       "Per-beneficiary lines: the number of enrollments (may be omitted)"})
    unit_price = MoneyField(required=True, metadata=DECIMAL)
    amount = MoneyField(dump_only=True, metadata={**DECIMAL, "description": "quantity × unit_price, to the cent"})
    per_beneficiary = fields.Boolean(load_default=False)
    enrollment_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=list, load_only=True,
                                 metadata={"description": "Per-beneficiary lines: the enrollments served"})
    beneficiaries = fields.List(fields.Nested(ServedSchema), dump_only=True)

    def get_attribute(self, obj, attr, default):
        if attr == "budget_line":
            return obj.budget_line.number
        return super().get_attribute(obj, attr, default)


class CertificateSchema(Schema):
    id = fields.Integer(dump_only=True)
    received_on = fields.Date(required=True)
    conforming = fields.Boolean(required=True, metadata={"description": "Received as invoiced"})
    differences = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=5000),
                                metadata={"description": "Required when not conforming"})
    issued_by_id = fields.Integer(dump_only=True)
    issued_by_name = fields.Function(lambda c: c.issued_by.full_name, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


@nullable_from(models.Invoice)
class InvoiceSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda i: i.agreement.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    supplier_id = fields.Integer(required=True, validate=ID_RANGE)
    supplier_name = fields.Function(lambda i: i.supplier.legal_name, dump_only=True)
    supplier_tax_id = fields.String(dump_only=True)
    number = fields.String(required=True, validate=validate.Length(min=1, max=40),
                           metadata={"description": "Unique per supplier NIT/DUI (kept in capitals)"})
    issue_date = fields.Date(required=True)
    period_start = fields.Date(required=True, metadata={"description": "Service period, inside the agreement term"})
    period_end = fields.Date(required=True, metadata={
        "description": "Not after the issue date (+ INVOICE_SERVICE_AFTER_ISSUE_DAYS) unless advance_invoice"})
    advance_invoice = fields.Boolean(load_default=False, metadata={
        "description": "Factura anticipada: bills a service before it is over; registered, never paid directly"})
    lines = fields.List(fields.Nested(InvoiceLineSchema), required=True)
    total = MoneyField(dump_only=True, metadata=DECIMAL)
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in InvoiceState]})
    void_reason = fields.String(dump_only=True)
    registered_by_id = fields.Integer(dump_only=True)
    certificate = fields.Nested(CertificateSchema, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class DeductionPreviewSchema(Schema):
    invoice_line_id = fields.Function(lambda d: d.invoice_line.id)
    position = fields.Function(lambda d: d.invoice_line.position)
    enrollment_id = fields.Function(lambda d: d.enrollment.id if d.enrollment else None)
    name = fields.Function(lambda d: d.enrollment.beneficiary.full_name if d.enrollment else None)
    units = QuantityField()
    amount = MoneyField(metadata=DECIMAL)
    reason_code = fields.String(metadata={"enum": ["beneficiary_not_active", "beneficiary_partly_active",
                                                   "days_not_over"]})
    reason = fields.String()


class EligibilitySchema(Schema):
    invoiced = MoneyField(metadata=DECIMAL)
    deducted = MoneyField(metadata=DECIMAL)
    payable = MoneyField(metadata=DECIMAL)
    deductions = fields.List(fields.Nested(DeductionPreviewSchema))


class InvoiceDetailSchema(InvoiceSchema):
    eligibility = fields.Method("_eligibility", dump_only=True, metadata={
        "description": "Preview of what a payment would pay today: units of beneficiaries not active the whole "
                       "service period are deducted, each with its reason"})
    payments = fields.Method("_payments", dump_only=True)

    def _eligibility(self, invoice):
        from grants.services.payments import eligibility

        return EligibilitySchema().dump(eligibility(invoice))

    def _payments(self, invoice):
        from sqlalchemy import select

        from grants.extensions import db
        from grants.models import Payment

        return [{"id": p.id, "status": p.status} for p in db.session.scalars(
            select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id))]


def invoice_load() -> tuple:
    """Loader options for what InvoiceSchema dumps: agreement, supplier and certificate (with its
    issuer) joined; the lines with their budget line, then the people served with their enrollment
    and person, each level in one query for a whole page."""
    Line, Served = models.InvoiceLine, models.InvoiceLineBeneficiary
    return (joinedload(models.Invoice.agreement), joinedload(models.Invoice.supplier),
            joinedload(models.Invoice.certificate).joinedload(models.ReceiptCertificate.issued_by),
            selectinload(models.Invoice.lines).joinedload(Line.budget_line),
            selectinload(models.Invoice.lines).selectinload(Line.beneficiaries)
            .joinedload(Served.enrollment).joinedload(models.Enrollment.beneficiary))


class InvoiceQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in InvoiceState]))


class PaymentReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class PaymentLineSchema(Schema):
    invoice_line_id = fields.Integer()
    position = fields.Function(lambda x: x.invoice_line.position)
    budget_line = fields.Function(lambda x: x.invoice_line.budget_line.number)
    description = fields.Function(lambda x: x.invoice_line.description)
    invoiced = MoneyField(metadata=DECIMAL)
    deducted = MoneyField(metadata=DECIMAL)
    payable = MoneyField(metadata=DECIMAL)


class PaymentDeductionSchema(Schema):
    invoice_line_id = fields.Integer()
    enrollment_id = fields.Integer(allow_none=True)
    name = fields.Method("_name")
    document_number = fields.Method("_document")
    units = QuantityField()
    amount = MoneyField(metadata=DECIMAL)
    reason_code = fields.String()
    reason = fields.String()

    def _name(self, d):
        return d.enrollment.beneficiary.full_name if d.enrollment_id else None

    def _document(self, d):
        return _masked_document(d.enrollment) if d.enrollment_id else None


class AuthorizationSchema(Schema):
    user_id = fields.Integer()
    name = fields.Function(lambda a: a.user.full_name)
    at = fields.DateTime()


@nullable_from(models.Payment)
class PaymentSchema(Schema):
    id = fields.Integer(dump_only=True)
    invoice_id = fields.Integer(required=True, validate=ID_RANGE)
    invoice_number = fields.Function(lambda p: p.invoice.number, dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda p: p.agreement.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    supplier_id = fields.Integer(dump_only=True, metadata={"description": "The validated supplier version paid"})
    supplier_name = fields.Function(lambda p: p.supplier.legal_name, dump_only=True)
    supplier_tax_id = fields.Function(lambda p: p.supplier.tax_id, dump_only=True)
    bank_name = fields.Function(lambda p: p.supplier.bank_name, dump_only=True)
    bank_account = fields.Function(lambda p: p.supplier.bank_account, dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in PaymentState]})
    invoiced_amount = MoneyField(dump_only=True, metadata=DECIMAL)
    deducted_amount = MoneyField(dump_only=True, metadata=DECIMAL)
    amount = MoneyField(dump_only=True, metadata={**DECIMAL, "description": "Payable: invoiced − deducted"})
    required_authorizations = fields.Integer(dump_only=True)
    prepared_by_id = fields.Integer(dump_only=True)
    prepared_by_name = fields.Function(lambda p: p.prepared_by.full_name, dump_only=True)
    prepared_at = fields.DateTime(dump_only=True)
    authorizations = fields.List(fields.Nested(AuthorizationSchema), dump_only=True)
    authorized_at = fields.DateTime(dump_only=True)
    executed_by_id = fields.Integer(dump_only=True)
    executed_at = fields.DateTime(dump_only=True)
    bank_reference = fields.String(dump_only=True)
    transfer_date = fields.Date(dump_only=True)
    cancelled_by_id = fields.Integer(dump_only=True)
    cancel_reason = fields.String(dump_only=True)
    lines = fields.List(fields.Nested(PaymentLineSchema), dump_only=True)
    deductions = fields.List(fields.Nested(PaymentDeductionSchema), dump_only=True)
    eligibility_changes = fields.Method("_changes", dump_only=True, metadata={
        "description": "While the payment waits for authorization: each person whose payable units differ now "
                       "from what it was prepared with (the authorization is refused until it is prepared again)"})
    actions = fields.Method("_actions", dump_only=True, metadata={
        "description": "What the caller may do with this payment now (authorize, execute, cancel): the same rule "
                       "the service enforces (Payment.refusal_for); the agreement's state and eligibility are "
                       "checked again when acting",
        "type": "array", "items": {"type": "string", "enum": [a.value for a in PaymentAction]}})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _actions(self, payment):
        return [action.value for action in payment.actions_for(acting_user())]

    def _changes(self, payment):
        from grants.services.payment_eligibility import changes_since
        from grants.workflows.payment import PaymentState as State

        if payment.status != State.PREPARED:
            return []
        now = g.get("eligibility_now", {}).get(payment.invoice_id)  # computed for the whole page (payments.py)
        return [{"invoice_line_id": c.invoice_line_id, "enrollment_id": c.enrollment_id, "before": c.before,
                 "after": c.after, "amount": f"{c.amount:.2f}", "message": c.message} for c in changes_since(payment, now)]


def payment_load() -> tuple:
    """Loader options for what PaymentSchema dumps (eligibility_changes aside: a service computes it
    for a payment waiting for authorization)."""
    P, Line, Deduction = models.Payment, models.PaymentLine, models.PaymentDeduction
    invoice = joinedload(P.invoice)
    return (invoice.joinedload(models.Invoice.certificate),  # what eligibility reads of a prepared payment
            invoice.selectinload(models.Invoice.lines).selectinload(models.InvoiceLine.beneficiaries),
            joinedload(P.agreement), joinedload(P.supplier), joinedload(P.prepared_by),
            selectinload(P.authorizations).joinedload(models.PaymentAuthorization.user),
            selectinload(P.lines).joinedload(Line.invoice_line).joinedload(models.InvoiceLine.budget_line),
            selectinload(P.deductions).joinedload(Deduction.enrollment).joinedload(models.Enrollment.beneficiary))


class PaymentQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in PaymentState]))
    agreement_id = fields.Integer(validate=ID_RANGE)
    invoice_id = fields.Integer(validate=ID_RANGE)


class ExecuteSchema(Schema):
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    transfer_date = fields.Date(required=True, metadata={"description": "Not in the future, not before the "
                                                                        "authorization"})


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")
PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")
