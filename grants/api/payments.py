"""/api/v1 invoices (registration, receipt certificate, void) and direct payments (prepare,
authorize, execute with an Idempotency-Key, cancel, the payment order PDF)."""
from __future__ import annotations

from flask import Response, g
from flask.views import MethodView
from sqlalchemy import select

from grants.api.blueprint import Blueprint
from grants.api.fields import paginate
from grants.api.idempotency import idempotent
from grants.api.money_access import money_reader, visible_money
from grants.api.payment_schemas import (
    CertificateSchema,
    ExecuteSchema,
    InvoiceDetailSchema,
    InvoicePageSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    PaymentPageSchema,
    PaymentQuerySchema,
    PaymentReasonSchema,
    PaymentSchema,
    invoice_load,
    payment_load,
)
from grants.context import current_actor
from grants.extensions import db
from grants.models import Agreement, Invoice, Payment
from grants.security import scope_to_user
from grants.services import invoices as invoice_service
from grants.services import payments as service
from grants.services import signing
from grants.services.payment_eligibility import eligibilities
from grants.workflows.payment import PaymentState

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Facturas y pagos directos a proveedores")


def _agreement(agreement_id: int) -> Agreement:
    return visible_money(Agreement, agreement_id)


def _invoice(invoice_id: int, options=()) -> Invoice:
    return visible_money(Invoice, invoice_id, options)


def _payment(payment_id: int, options=()) -> Payment:
    return visible_money(Payment, payment_id, options)


def _eligibility_of_prepared(payments) -> None:
    """The eligibility now of the invoices of the payments waiting for authorization, for all of them
    in two queries (PaymentSchema.eligibility_changes reads it from ``g``: this request only)."""
    prepared = [p.invoice for p in payments if p.status == PaymentState.PREPARED]
    g.eligibility_now = eligibilities(prepared) if prepared else {}


# --- invoices --------------------------------------------------------------------------------

@blp.route("/agreements/<int:agreement_id>/invoices")
class AgreementInvoices(MethodView):
    @blp.arguments(InvoiceQuerySchema, location="query")
    @blp.response(200, InvoicePageSchema)
    def get(self, args, agreement_id):
        """The agreement's invoices, newest first (``status`` filters)."""
        agreement = _agreement(agreement_id)
        query = select(Invoice).where(Invoice.agreement_id == agreement.id)
        if args.get("status"):
            query = query.where(Invoice.status == args["status"])
        return paginate(db.session, query.order_by(Invoice.id.desc()).options(*invoice_load()), args)

    @blp.arguments(InvoiceSchema)
    @blp.response(201, InvoiceDetailSchema)
    def post(self, data, agreement_id):
        """The NGO registers a validated supplier's invoice. Each line bills a budget line (its number);
        a per-beneficiary line lists the enrollments served (one unit each). Field errors come back
        together, e.g. ``lines.0.enrollment_ids``; nothing is stored."""
        _agreement(agreement_id)
        return invoice_service.register_invoice(current_actor(), agreement_id, data)


@blp.route("/invoices/<int:invoice_id>")
@blp.response(200, InvoiceDetailSchema)
def get_invoice(invoice_id):
    """The invoice with its lines, the beneficiaries served, the receipt certificate, its payments and
    a preview of the eligible amount (deductions with their reasons)."""
    return _invoice(invoice_id, invoice_load())


@blp.route("/invoices/<int:invoice_id>/receipt-certificate", methods=["POST"])
@blp.arguments(CertificateSchema)
@blp.response(201, InvoiceDetailSchema)
def certify_receipt(data, invoice_id):
    """The agreement's administrator certifies the receipt: ``conforming`` or with ``differences``
    (an invoice received with differences is not paid: the NGO voids it and registers a corrected one)."""
    _invoice(invoice_id)
    return invoice_service.certify_receipt(current_actor(), invoice_id, data).invoice


@blp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@blp.arguments(PaymentReasonSchema)
@blp.response(200, InvoiceDetailSchema)
def void_invoice(data, invoice_id):
    """The NGO or a financial reviewer voids an unpaid invoice with no payment in progress."""
    _invoice(invoice_id)
    return invoice_service.void_invoice(current_actor(), invoice_id, data["reason"])


# --- payments --------------------------------------------------------------------------------

@blp.route("/payments")
class Payments(MethodView):
    @blp.arguments(PaymentQuerySchema, location="query")
    @blp.response(200, PaymentPageSchema)
    def get(self, args):
        """Direct payments (an NGO sees only its own), oldest first; filters ``status``,
        ``agreement_id``, ``invoice_id``."""
        user = money_reader()
        query = select(Payment)
        for name in ("status", "agreement_id", "invoice_id"):
            if args.get(name):
                query = query.where(getattr(Payment, name) == args[name])
        query = scope_to_user(user, query, Payment.organization_id).order_by(Payment.id).options(*payment_load())
        page = paginate(db.session, query, args)
        _eligibility_of_prepared(page["items"])
        return page

    @blp.arguments(PaymentSchema)
    @blp.response(201, PaymentSchema)
    def post(self, data):
        """Treasury prepares the payment of a certified invoice: only the eligible amount, reserved
        on its budget lines (409 ``insufficient_balance`` without room). Refusals have stable codes:
        ``invoice_not_certified``, ``receipt_with_differences``, ``supplier_not_validated``,
        ``agreement_not_in_execution``, ``payment_in_progress``, ``invoice_already_paid``,
        ``invoice_voided``, ``nothing_payable``, ``advance_invoice``."""
        _invoice(data["invoice_id"])
        return service.prepare_payment(current_actor(), data["invoice_id"])


@blp.route("/payments/<int:payment_id>")
@blp.response(200, PaymentSchema)
def get_payment(payment_id):
    payment = _payment(payment_id, payment_load())
    _eligibility_of_prepared([payment])
    return payment


@blp.route("/payments/<int:payment_id>/authorize", methods=["POST"])
@blp.response(200, PaymentSchema)
def authorize_payment(payment_id):
    """Someone other than the preparer authorizes (409 ``segregation_of_duties``); above the
    threshold a second, different person completes it. Eligibility is checked again: if the list
    changed since the preparation, 409 ``eligibility_changed`` with the changes in ``errors``."""
    _payment(payment_id)
    return service.authorize_payment(current_actor(), payment_id)


@blp.route("/payments/<int:payment_id>/reprepare", methods=["POST"])
@blp.response(201, PaymentSchema)
def reprepare_payment(payment_id):
    """Treasury prepares again a payment waiting for authorization (typically after 409
    ``eligibility_changed``): the old one is cancelled with the list of changes as its reason, and a
    new one is prepared with the current list. Returns the new payment."""
    _payment(payment_id)
    return service.reprepare_payment(current_actor(), payment_id)


@blp.route("/payments/<int:payment_id>/execute", methods=["POST"])
@idempotent
@blp.arguments(ExecuteSchema)
@blp.response(201, PaymentSchema)
def execute_payment(data, payment_id):
    """Treasury records the bank transfer of an authorized payment. Requires ``Idempotency-Key``:
    the same key and body replay the stored answer (``Idempotent-Replayed: true``)."""
    _payment(payment_id)
    return service.execute_payment(current_actor(), payment_id, data["bank_reference"], data["transfer_date"])


@blp.route("/payments/<int:payment_id>/cancel", methods=["POST"])
@blp.arguments(PaymentReasonSchema)
@blp.response(200, PaymentSchema)
def cancel_payment(data, payment_id):
    """Treasury cancels a payment not yet executed; its reservations are released."""
    _payment(payment_id)
    return service.cancel_payment(current_actor(), payment_id, data["reason"])


@blp.route("/payments/<int:payment_id>/order.pdf")
@blp.response(200, content_type="application/pdf")
def payment_order(payment_id):
    """The payment order (PDF): invoice, deductions, totals and signatures; «NO EJECUTADO» until executed."""
    payment = _payment(payment_id)
    pdf = signing.issue("payment_order", payment, lambda day: service.payment_order_pdf(payment, day), actor=current_actor())
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="orden-de-pago-{payment.id}.pdf"'})
