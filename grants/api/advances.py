"""/api/v1 advances, expense statements and their receipts, refunds, and an agreement's balances.

Disbursing an advance and declaring a refund take an ``Idempotency-Key`` (DESIGN.md §5, G7); a
refund counts only once treasury confirms it (``/refunds/{id}/confirm``).
An NGO user sees only its own organization's objects (another's: 404).
"""
from __future__ import annotations

from flask import Response, g, request
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from grants.api.advance_schemas import (
    AdvancePageSchema,
    AdvanceQuerySchema,
    AdvanceRequestSchema,
    AdvanceSchema,
    BalancesSchema,
    ReceiptDecisionSchema,
    DisburseSchema,
    AdvanceReasonSchema,
    ReceiptSchema,
    RefundPageSchema,
    RefundQuerySchema,
    RefundReasonSchema,
    RefundSchema,
    ScanUploadSchema,
    StatementPageSchema,
    StatementRowsSchema,
    StatementSchema,
    StatementUploadSchema,
)
from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.idempotency import idempotent
from grants.api.money_access import money_reader, visible_money
from grants.context import current_actor
from grants.extensions import db
from grants.models import Advance, Agreement, ExpenseStatement, Receipt, Refund
from grants.security import scope_to_user
from grants.services import advance_common
from grants.services import advances as service
from grants.services import attachments as attachment_service
from grants.services import refunds as refund_service
from grants.services import expense_statements as statements
from grants.services import ledger
from grants.services.attachments import prefetch_attachments
from grants.domain_errors import NotFound, ValidationFailed

blp = Blueprint("advances", __name__, url_prefix="/api/v1", description="Anticipos, liquidaciones y reintegros")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _agreement(agreement_id: int) -> Agreement:
    return visible_money(Agreement, agreement_id)


def _advance(advance_id: int) -> Advance:
    return visible_money(Advance, advance_id)


# What the schemas dump, loaded in a fixed number of queries for a whole page.
ADVANCE_LOAD = (joinedload(Advance.agreement), selectinload(Advance.statements))
STATEMENT_LOAD = (selectinload(ExpenseStatement.receipts).joinedload(Receipt.budget_line),)


def _advance_page(query, args) -> dict:
    """A page of advances; the receipts pending of all of them in one query (AdvanceSchema reads them
    from ``g``: this request only)."""
    page = paginate(db.session, query.options(*ADVANCE_LOAD), args)
    g.pending_receipts = advance_common.pending_by_advance([a.id for a in page["items"]])
    return page


def _statement(statement_id: int, options=()) -> ExpenseStatement:
    statement = db.session.get(ExpenseStatement, statement_id, options=options)
    _advance(statement.advance_id if statement is not None else 0)
    if statement is None:
        raise NotFound()
    return statement


def _receipt(receipt_id: int) -> Receipt:
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound()
    _statement(receipt.statement_id)
    return receipt


def _upload(max_bytes: int) -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(errors={"file": ["Adjunte el archivo."]})
    data = upload.stream.read(max_bytes + 1)  # more than the limit: the service says so clearly
    return data, upload.filename or "archivo"


# --- advances ---------------------------------------------------------------------------------------

@blp.route("/agreements/<int:agreement_id>/advances")
class AgreementAdvances(MethodView):
    @blp.arguments(AdvanceQuerySchema, location="query")
    @blp.response(200, AdvancePageSchema)
    def get(self, args, agreement_id):
        """The agreement's advances, by tranche."""
        agreement = _agreement(agreement_id)
        query = select(Advance).where(Advance.agreement_id == agreement.id)
        if args.get("status"):
            query = query.where(Advance.status == args["status"])
        return _advance_page(query.order_by(Advance.tranche_number, Advance.id), args)

    @blp.arguments(AdvanceRequestSchema)
    @blp.response(201, AdvanceSchema)
    def post(self, data, agreement_id):
        """The NGO requests the advance of a tranche (409 ``liquidation_gate`` while an earlier advance is
        liquidated below the agreement's threshold, ``agreement_not_in_execution`` while suspended)."""
        _agreement(agreement_id)
        return service.request_advance(current_actor(), agreement_id, data)


@blp.route("/advances")
@blp.arguments(AdvanceQuerySchema, location="query")
@blp.response(200, AdvancePageSchema)
def list_advances(args):
    """Advances (an NGO sees only its own); ``status=requested`` is the reviewers' queue."""
    user = money_reader()
    query = select(Advance)
    if args.get("status"):
        query = query.where(Advance.status == args["status"])
    return _advance_page(scope_to_user(user, query, Advance.organization_id).order_by(Advance.created_at, Advance.id),
                         args)


@blp.route("/advances/<int:advance_id>")
@blp.response(200, AdvanceSchema)
def get_advance(advance_id):
    """An advance with its statements, outstanding balance and liquidated share."""
    advance = visible_money(Advance, advance_id, ADVANCE_LOAD)
    g.pending_receipts = advance_common.pending_by_advance([advance.id])
    return advance


@blp.route("/advances/<int:advance_id>/approve", methods=["POST"])
@blp.response(200, AdvanceSchema)
def approve_advance(advance_id):
    """A financial reviewer approves: the amount is reserved under the agreement's ceiling
    (409 ``agreement_ceiling``)."""
    _advance(advance_id)
    return service.approve_advance(current_actor(), advance_id)


@blp.route("/advances/<int:advance_id>/reject", methods=["POST"])
@blp.arguments(AdvanceReasonSchema)
@blp.response(200, AdvanceSchema)
def reject_advance(data, advance_id):
    _advance(advance_id)
    return service.reject_advance(current_actor(), advance_id, data["reason"])


@blp.route("/advances/<int:advance_id>/prepare", methods=["POST"])
@blp.response(200, AdvanceSchema)
def prepare_disbursement(advance_id):
    """Treasury prepares the transfer; another treasury officer disburses it."""
    _advance(advance_id)
    return service.prepare_disbursement(current_actor(), advance_id)


@blp.route("/advances/<int:advance_id>/disburse", methods=["POST"])
@idempotent
@blp.arguments(DisburseSchema)
@blp.response(200, AdvanceSchema)
def disburse_advance(data, advance_id):
    """A treasury officer other than the preparer records the transfer (``Idempotency-Key``)."""
    _advance(advance_id)
    return service.disburse_advance(current_actor(), advance_id, data["bank_reference"], data["transfer_date"])


# --- expense statements and receipts ---------------------------------------------------------------

@blp.route("/advances/<int:advance_id>/expense-statements")
class AdvanceStatements(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StatementPageSchema)
    def get(self, args, advance_id):
        _advance(advance_id)
        query = select(ExpenseStatement).where(ExpenseStatement.advance_id == advance_id)
        return paginate(db.session, query.order_by(ExpenseStatement.number), args)

    @blp.arguments(StatementRowsSchema)
    @blp.response(201, StatementSchema)
    def post(self, data, advance_id):
        """The NGO presents receipt rows (JSON). All rows pass or nothing is stored (422 with
        ``rows.<n>.<field>``; ``exceeds_outstanding`` when the total passes the outstanding balance)."""
        _advance(advance_id)
        return statements.submit_statement(current_actor(), advance_id, data["rows"])


@blp.route("/advances/<int:advance_id>/expense-statements/upload", methods=["POST"])
@blp.arguments(StatementUploadSchema, location="files")
@blp.response(201, StatementSchema)
def upload_statement(files, advance_id):
    """multipart/form-data ``file``: the filled XLSX template; errors name spreadsheet rows."""
    from flask import current_app

    _advance(advance_id)
    data, filename = _upload(int(current_app.config["EXPENSE_STATEMENT_MAX_BYTES"]))
    return statements.import_statement(current_actor(), advance_id, data, filename)


@blp.route("/advances/<int:advance_id>/expense-statement-template.xlsx")
@blp.response(200, content_type=XLSX)
def statement_template(advance_id):
    """The XLSX template to fill: columns, drop-down lists, the period and the budget lines."""
    advance = _advance(advance_id)
    body = statements.statement_template(advance)
    return Response(body, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="liquidacion-anticipo-{advance.id}.xlsx"'})


@blp.route("/expense-statements/<int:statement_id>")
@blp.response(200, StatementSchema)
def get_statement(statement_id):
    statement = _statement(statement_id, STATEMENT_LOAD)
    prefetch_attachments(statement.receipts, "receipt_scan")
    return statement


@blp.route("/receipts/<int:receipt_id>/decision", methods=["POST"])
@blp.arguments(ReceiptDecisionSchema)
@blp.response(200, ReceiptSchema)
def decide_receipt(data, receipt_id):
    """A financial reviewer accepts a receipt or rejects it with a reason."""
    _receipt(receipt_id)
    return statements.decide_receipt(current_actor(), receipt_id, data["accept"], data.get("reason"))


@blp.route("/receipts/<int:receipt_id>/scan", methods=["POST"])
@blp.arguments(ScanUploadSchema, location="files")
@blp.response(200, ReceiptSchema)
def attach_scan(files, receipt_id):
    """multipart/form-data ``file``: the receipt's scan (PDF, JPEG or PNG)."""
    from flask import current_app

    _receipt(receipt_id)
    data, name = _upload(int(current_app.config["RECEIPT_SCAN_MAX_BYTES"]))
    return statements.attach_receipt_scan(current_actor(), receipt_id, data, name)


# --- refunds and balances ---------------------------------------------------------------------------

@blp.route("/refunds")
class Refunds(MethodView):
    @blp.arguments(RefundQuerySchema, location="query")
    @blp.response(200, RefundPageSchema)
    def get(self, args):
        """Refunds (an NGO sees only its own), filtered by advance or agreement."""
        user = money_reader()
        query = select(Refund).join(Advance, Advance.id == Refund.advance_id)
        if args.get("advance_id"):
            query = query.where(Refund.advance_id == args["advance_id"])
        if args.get("agreement_id"):
            query = query.where(Refund.agreement_id == args["agreement_id"])
        if args.get("status"):
            query = query.where(Refund.status == args["status"])
        page = paginate(db.session, scope_to_user(user, query, Advance.organization_id).order_by(Refund.id), args)
        prefetch_attachments(page["items"], "deposit_slip")
        return page

    @idempotent
    @blp.arguments(RefundSchema)
    @blp.response(201, RefundSchema)
    def post(self, data):
        """The NGO declares a refund of a disbursed advance (``Idempotency-Key``): it counts for nothing
        until treasury confirms it. The deposit slip follows with ``POST /refunds/{id}/slip``.
        409 ``exceeds_outstanding``, ``advance_not_disbursed``, ``advance_liquidated``."""
        _advance(data["advance_id"])
        return refund_service.declare_refund(current_actor(), data["advance_id"], data)


def _refund(refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id)
    if refund is None or not refund.is_visible_to(money_reader()):
        raise NotFound()
    return refund


@blp.route("/refunds/<int:refund_id>")
@blp.response(200, RefundSchema)
def get_refund(refund_id):
    return _refund(refund_id)


@blp.route("/refunds/<int:refund_id>/slip", methods=["POST"])
@blp.arguments(ScanUploadSchema, location="files")
@blp.response(201, RefundSchema)
def attach_refund_slip(files, refund_id):
    """multipart/form-data ``file``: the deposit slip (PDF, JPEG or PNG, by content) of a declared refund."""
    _refund(refund_id)
    upload = request.files.get("file")
    data = upload.stream.read(attachment_service.kind_limit("deposit_slip") + 1) if upload else b""
    return refund_service.attach_slip(current_actor(), refund_id, upload.filename if upload else None, data)


@blp.route("/refunds/<int:refund_id>/confirm", methods=["POST"])
@blp.response(200, RefundSchema)
def confirm_refund(refund_id):
    """Treasury confirms the deposit against the bank (not who declared it: 409 ``segregation_of_duties``):
    the refund now counts toward the advance's liquidation. 409 ``slip_missing`` without the slip."""
    _refund(refund_id)
    return refund_service.confirm_refund(current_actor(), refund_id)


@blp.route("/refunds/<int:refund_id>/reject", methods=["POST"])
@blp.arguments(RefundReasonSchema)
@blp.response(200, RefundSchema)
def reject_refund(data, refund_id):
    """Treasury did not find the deposit as declared: rejected with the reason; it counts for nothing."""
    _refund(refund_id)
    return refund_service.reject_refund(current_actor(), refund_id, data["reason"])


@blp.route("/agreements/<int:agreement_id>/balances")
@blp.response(200, BalancesSchema)
def agreement_balances(agreement_id):
    """Assigned, committed, paid directly, advanced, liquidated, refunded, outstanding and available,
    and per budget line approved, committed, paid, liquidated and available."""
    return ledger.balances(_agreement(agreement_id))
