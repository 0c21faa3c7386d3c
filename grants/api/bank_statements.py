"""/api/v1/bank-statements: the bank's statements of the ministry's accounts (camt.053.001.08 or the
documented CSV), their lines and what each matched, treasury's resolution of the unmatched ones,
and the reconciliation of one account and day — what the pages under /bank-statements do, for a
treasury system that fetches the statements from the bank itself. Treasury, internal audit and the
financial reviewer read; treasury uploads and resolves; anyone else gets 404.
grants/services/bank_statements.py does the work."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema, paginate
from grants.api.schemas import ID_RANGE
from grants.context import acting_user, current_actor
from grants.domain_errors import NotFound
from grants.extensions import db
from grants.models import BankStatement, BankStatementLine
from grants.permissions import Permission
from grants.services import bank_statements as service
from grants.services.bank_matching import KINDS
from grants.workflows.bank_statement import LineState

blp = Blueprint("bank_statements", __name__, url_prefix="/api/v1",
                description="Extractos bancarios (camt.053 o CSV), sus líneas y la conciliación (tesorería)")

_MONEY = {"type": "string", "example": "420.00"}


@nullable_from(BankStatementLine)
class BankStatementLineSchema(Schema):
    id = fields.Integer(dump_only=True)
    line_number = fields.Integer(dump_only=True)
    booking_date = fields.Date(dump_only=True)
    value_date = fields.Date(dump_only=True)
    direction = fields.String(dump_only=True, metadata={"enum": ["debit", "credit"]})
    amount = MoneyField(dump_only=True, metadata=_MONEY)
    currency = fields.String(dump_only=True)
    end_to_end_id = fields.String(dump_only=True, metadata={"example": "FONDOS-PAG-000123"})
    bank_reference = fields.String(dump_only=True)
    remittance = fields.String(dump_only=True)
    counterparty = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in LineState]})
    reason_code = fields.String(dump_only=True, metadata={
        "description": "Why an unmatched line did not match: wrong_amount, unknown_reference, already_reconciled, "
                       "exceeds_declared, wrong_account, wrong_state, refused, currency, reversal …"})
    reason = fields.String(dump_only=True, metadata={"description": "The same, in Spanish, for people"})
    payment_id = fields.Integer(dump_only=True)
    advance_id = fields.Integer(dump_only=True)
    refund_id = fields.Integer(dump_only=True)
    fine_payment_id = fields.Integer(dump_only=True)
    match_method = fields.String(dump_only=True, metadata={"enum": ["e2e", "amount_reference", "manual"]})
    manual_reason = fields.String(dump_only=True)
    resolved_at = fields.DateTime(dump_only=True)


@nullable_from(BankStatement)
class BankStatementSchema(Schema):
    id = fields.Integer(dump_only=True)
    account = fields.String(dump_only=True)
    statement_ref = fields.String(dump_only=True)
    message_id = fields.String(dump_only=True)
    format = fields.String(dump_only=True, metadata={"enum": ["camt053", "csv"]})
    filename = fields.String(dump_only=True)
    sha256 = fields.String(dump_only=True)
    period_start = fields.Date(dump_only=True)
    period_end = fields.Date(dump_only=True)
    opening_balance = MoneyField(dump_only=True, metadata=_MONEY)
    closing_balance = MoneyField(dump_only=True, metadata=_MONEY)
    total_debits = MoneyField(dump_only=True, metadata=_MONEY)
    total_credits = MoneyField(dump_only=True, metadata=_MONEY)
    line_count = fields.Integer(dump_only=True)
    uploaded_at = fields.DateTime(dump_only=True)
    lines = fields.List(fields.Nested(BankStatementLineSchema), dump_only=True)


class BankStatementQuerySchema(PageArgsSchema):
    account = fields.String(validate=validate.Length(min=1, max=34))


class BankStatementUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "camt.053.001.08 XML or the bank's CSV "
                                                          "(docs/bank-statement-csv.md)"})


class LineMatchSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(sorted(KINDS)))
    record_id = fields.Integer(required=True, validate=ID_RANGE)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=service.REASON_LIMIT))


class LineReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=service.REASON_LIMIT))


class ReconciliationQuerySchema(Schema):
    account = fields.String(required=True, validate=validate.Length(min=1, max=34))
    day = fields.Date(required=True)


class ReconciliationSchema(Schema):
    account = fields.String()
    day = fields.Date()
    matched_debits = MoneyField(metadata=_MONEY)
    ledger_debits = MoneyField(metadata=_MONEY)
    debit_difference = MoneyField(metadata=_MONEY)
    matched_credits = MoneyField(metadata=_MONEY)
    ledger_credits = MoneyField(metadata=_MONEY)
    credit_difference = MoneyField(metadata=_MONEY)
    unmatched_debits = MoneyField(metadata=_MONEY)
    unmatched_credits = MoneyField(metadata=_MONEY)
    executed_not_on_statements = MoneyField(metadata=_MONEY)


BankStatementPageSchema = page_schema(BankStatementSchema, "BankStatementPage")


def _may_read() -> None:
    user = acting_user()
    if user is None or not user.can(Permission.BANK_STATEMENTS_READ):
        raise NotFound()


def _statement(statement_id: int) -> BankStatement:
    _may_read()
    statement = db.session.get(BankStatement, statement_id, options=[selectinload(BankStatement.lines)])
    if statement is None:
        raise NotFound()
    return statement


@blp.route("/bank-statements")
class Statements(MethodView):
    @blp.arguments(BankStatementQuerySchema, location="query")
    @blp.response(200, BankStatementPageSchema)
    def get(self, args):
        """Statements, the latest uploaded first; ``account`` filters."""
        _may_read()
        query = (select(BankStatement).options(selectinload(BankStatement.lines))
                 .order_by(BankStatement.uploaded_at.desc(), BankStatement.id.desc()))
        if args.get("account"):
            query = query.where(BankStatement.account == args["account"])
        return paginate(db.session, query, args)

    @blp.arguments(BankStatementUploadSchema, location="files")
    @blp.response(201, BankStatementSchema)
    def post(self, files):
        """multipart/form-data ``file``: the bank's statement. Each line is matched as it is stored (a
        debit executes the payment or disburses the advance it names; a credit confirms the declared
        refund or fine deposit); the rest stay ``unmatched`` with their reason. 201 when stored; the same
        file again is 200 with the statement already stored, and nothing changes. 409
        ``statement_already_uploaded``: the same account and statement id with other content; 422 for a
        file that is not a valid statement (errors name its rows); 413 over ``BANK_STATEMENT_MAX_BYTES``."""
        _may_read()
        upload = request.files.get("file")
        data = upload.stream.read(service.max_upload_bytes() + 1) if upload else b""
        statement, created = service.upload_statement(current_actor(), upload.filename if upload else None, data)
        return statement, (201 if created else 200)


@blp.route("/bank-statements/<int:bank_statement_id>")
@blp.response(200, BankStatementSchema)
def get_statement(bank_statement_id):
    return _statement(bank_statement_id)


def _line(line_id: int) -> BankStatementLine:
    _may_read()
    line = db.session.get(BankStatementLine, line_id)
    if line is None:
        raise NotFound()
    return line


@blp.route("/bank-statement-lines/<int:bank_statement_line_id>/match", methods=["POST"])
@blp.arguments(LineMatchSchema)
@blp.response(200, BankStatementLineSchema)
def match_line(data, bank_statement_line_id):
    """Treasury matches an unmatched line by hand to a ``payment``, ``advance``, ``refund`` or
    ``fine_payment``, with a reason: the same rules of state and amount as on upload (409 with the
    line's reason code when they do not hold; 409 ``already_resolved`` for a line already resolved)."""
    _line(bank_statement_line_id)
    return service.match_line(current_actor(), bank_statement_line_id, data["kind"], data["record_id"], data["reason"])


@blp.route("/bank-statement-lines/<int:bank_statement_line_id>/ignore", methods=["POST"])
@blp.arguments(LineReasonSchema)
@blp.response(200, BankStatementLineSchema)
def ignore_line(data, bank_statement_line_id):
    """Treasury marks an unmatched line as not Fondos' (another programme's movement, a bank fee …), with a reason."""
    _line(bank_statement_line_id)
    return service.ignore_line(current_actor(), bank_statement_line_id, data["reason"])


@blp.route("/bank-statements/reconciliation")
@blp.arguments(ReconciliationQuerySchema, location="query")
@blp.response(200, ReconciliationSchema)
def reconciliation(args):
    """One account and booking day: what the statements matched beside what the ledger executed (to the
    cent; the differences are zero when they agree), what stays unmatched, and what was executed that
    day that no statement has shown yet."""
    _may_read()
    return service.reconciliation(args["account"], args["day"])
