"""Bank statements (extractos bancarios) and reconciliation (conciliación bancaria). Flush, never commit.

Treasury uploads the bank's statement of one of the ministry's accounts — ISO 20022 camt.053.001.08
or the documented CSV (docs/bank-statement-csv.md; reading in ``grants.services.bank_statement_files``).
In the same unit of work each line is matched (``grants.services.bank_matching``): a debit executes
the payment or disburses the advance it names, with the bank's booking date and reference; a credit
confirms the refund or fine deposit declared with its reference and amount. What does not match
stays unmatched with its reason, for treasury to resolve by hand: match it to a record (same rules
of state and amount) or mark it as not Fondos', with a reason. Everything is audited.

**The same file twice changes nothing**: its SHA-256 is known, the statement already stored is
answered (``created`` False). The same account and statement id with another content is refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.extensions import db
from grants.models import (Advance, BankStatement, BankStatementLine, FinePayment, Payment, PaymentBatch,
                           PaymentBatchItem, Refund)
from grants.models.base import utcnow
from grants.permissions import Permission
from grants.services import attachments, bank_matching
from grants.services.bank_matching import KINDS, Found, Unmatched
from grants.services.bank_statement_files import parse
from grants.workflows import TransitionRefused
from grants.workflows.advance import AdvanceState
from grants.workflows.bank_statement import LineAction, LineState, next_state
from grants.workflows.deposit import DepositState
from grants.workflows.payment import PaymentState
from grants.workflows.payment_batch import PaymentBatchState

ZERO = Decimal("0.00")
REASON_LIMIT = 2000


def max_upload_bytes() -> int:
    return int(current_app.config["BANK_STATEMENT_MAX_BYTES"])


def _require(actor: Actor, permission: Permission, message) -> None:
    if actor.user is None or not actor.user.can(permission):
        raise Forbidden(message)


def line_view(line: BankStatementLine) -> dict:
    return snapshot(line)


# --- upload ----------------------------------------------------------------------------------

def upload_statement(actor: Actor, filename: str | None, data: bytes | None) -> tuple[BankStatement, bool]:
    """Stores the statement in ``data`` and matches its lines: ``(statement, True)``; the same file
    again: ``(the stored statement, False)`` and nothing changes."""
    _require(actor, Permission.BANK_STATEMENTS_RECONCILE, _l("Solo tesorería sube extractos bancarios."))
    found = attachments.check_file(data, attachments.BANK_STATEMENTS, max_upload_bytes())
    digest = hashlib.sha256(data).hexdigest()
    known = db.session.scalar(select(BankStatement).where(BankStatement.sha256 == digest))
    if known is not None:
        return known, False
    parsed = parse(data, filename or "")
    reference = parsed.statement_ref or f"CSV-{digest[:16]}"
    if len(parsed.account) > 34:
        raise ValidationFailed(errors={"file": [_l("La cuenta del extracto tiene más de 34 caracteres.")]})
    same = db.session.scalar(select(BankStatement).where(BankStatement.account == parsed.account,
                                                         BankStatement.statement_ref == reference))
    if same is not None:
        raise Conflict(_l("El extracto %(ref)s de la cuenta %(account)s ya se subió el %(day)s con otro contenido: "
                          "no se reemplaza. Si el banco lo corrigió, pida que lo emita con otro identificador.",
                          ref=reference, account=parsed.account, day=formats.day(same.uploaded_at)),
                       code="statement_already_uploaded")
    debits = sum((x.amount for x in parsed.lines if x.direction == "debit"), ZERO)
    credits = sum((x.amount for x in parsed.lines if x.direction == "credit"), ZERO)
    statement = BankStatement(
        account=parsed.account, statement_ref=reference, message_id=parsed.message_id, format=parsed.format,
        filename=attachments.clean_filename(filename, found.suffix, "extracto"), sha256=digest, size=len(data), created_at_bank=parsed.created_at,
        period_start=parsed.period_start, period_end=parsed.period_end, opening_balance=parsed.opening_balance,
        closing_balance=parsed.closing_balance, total_debits=debits, total_credits=credits,
        line_count=len(parsed.lines), uploaded_by_id=actor.user_id, uploaded_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(statement)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("Este extracto se acaba de subir en otra sesión: vuelva a abrir la lista de extractos."),
                       code="statement_already_uploaded") from None
    # Reasons are written once every line was tried: a service's refusal rolls back its savepoint,
    # and the audit guard then checks what changed since against what was audited since.
    unmatched: list[tuple[BankStatementLine, Unmatched]] = []
    for number, parsed_line in enumerate(parsed.lines, start=1):
        line = BankStatementLine(
            statement_id=statement.id, line_number=number, booking_date=parsed_line.booking_date,
            value_date=parsed_line.value_date, direction=parsed_line.direction, amount=parsed_line.amount,
            currency=parsed_line.currency, end_to_end_id=parsed_line.end_to_end_id,
            bank_reference=(parsed_line.bank_reference or None), remittance=parsed_line.remittance,
            counterparty=parsed_line.counterparty, status=LineState.UNMATCHED, reason_code="pending", reason="-")
        db.session.add(line)
        db.session.flush()
        if parsed_line.reversal:
            unmatched.append((line, Unmatched("reversal")))
            continue
        try:
            _match(actor, line, None, "e2e" if bank_matching.parse_end_to_end_id(line.end_to_end_id) else
                   "amount_reference")
        except Unmatched as reason:
            unmatched.append((line, reason))
    for line, reason in unmatched:
        line.status, line.reason_code, line.reason = LineState.UNMATCHED, reason.code, reason.message
    db.session.flush()
    record_event(db.session, actor, "bank_statement.uploaded", "bank_statement", statement.id,
                 after={**snapshot(statement), "lines": [_summary(x) for x in statement.lines]})
    return statement, True


def _summary(line: BankStatementLine) -> dict:
    return {"line": line.line_number, "status": line.status.value, "reason_code": line.reason_code,
            **{t: getattr(line, t) for t in ("payment_id", "advance_id", "refund_id", "fine_payment_id")
               if getattr(line, t)}}


def _match(actor: Actor, line: BankStatementLine, found: Found | None, method: str,
           manual_reason: str | None = None) -> None:
    """Finds (unless given) and settles what the line moves, and marks the line matched; raises
    ``Unmatched`` (nothing changed) when it cannot."""
    found = found or bank_matching.find(line)
    if bank_matching.check(line, found):
        bank_matching.settle(actor, line, found)
    setattr(line, f"{found.kind}_id", found.record.id)
    line.status, line.reason_code, line.reason, line.match_method = LineState.MATCHED, None, None, method
    if manual_reason is not None:
        line.manual_reason, line.resolved_by_id, line.resolved_at = manual_reason, actor.user_id, utcnow()
    db.session.flush()
    record_event(db.session, actor, "bank_statement.line_matched", "bank_statement", line.statement_id,
                 after={"line": line_view(line), "matched": {"kind": found.kind, "id": found.record.id}},
                 organization_id=getattr(found.record, "organization_id", None))


# --- manual resolution -----------------------------------------------------------------------

def _load_line(actor: Actor, line_id: int) -> BankStatementLine:
    _require(actor, Permission.BANK_STATEMENTS_RECONCILE, _l("Solo tesorería resuelve las líneas de un extracto."))
    line = db.session.get(BankStatementLine, line_id, with_for_update=True, populate_existing=True) \
        if line_id else None
    if line is None:
        raise NotFound()
    return line


def _reason(reason) -> str:
    text = " ".join(str(reason or "").split()) if isinstance(reason, (str, type(None))) else ""
    if not text:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo.")]})
    if len(text) > REASON_LIMIT:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=REASON_LIMIT)]})
    return text


def _transition(line: BankStatementLine, action: LineAction) -> LineState:
    try:
        return next_state(line.status, action)
    except TransitionRefused:
        raise Conflict(_l("La línea %(n)s ya fue resuelta: no cambia.", n=line.line_number),
                       code="already_resolved") from None


def match_line(actor: Actor, line_id: int, kind: str, record_id, reason) -> BankStatementLine:
    """Treasury matches an unmatched line by hand to a payment, a disbursement, a refund or a fine
    deposit: same rules of state and amount as on upload; the reason is kept."""
    line = _load_line(actor, line_id)
    _transition(line, LineAction.MATCH)
    text = _reason(reason)
    model = KINDS.get(str(kind or ""))
    try:
        record = db.session.get(model, int(record_id)) if model is not None else None
    except (TypeError, ValueError):
        record = None
    if record is None:
        raise ValidationFailed(errors={"target": [_l("Elija a qué corresponde la línea.")]})
    before = line_view(line)
    try:
        _match(actor, line, Found(str(kind), record), "manual", manual_reason=text)
    except Unmatched as unmatched:
        raise Conflict(unmatched.message, code=unmatched.code) from None
    record_event(db.session, actor, "bank_statement.line_resolved", "bank_statement", line.statement_id,
                 before={"line": before}, after={"line": line_view(line)})
    return line


def ignore_line(actor: Actor, line_id: int, reason) -> BankStatementLine:
    """Treasury marks an unmatched line as not Fondos' (another programme's movement, bank fees…)."""
    line = _load_line(actor, line_id)
    new_state = _transition(line, LineAction.IGNORE)
    text = _reason(reason)
    before = line_view(line)
    line.status, line.manual_reason, line.resolved_by_id, line.resolved_at = new_state, text, actor.user_id, utcnow()
    db.session.flush()
    record_event(db.session, actor, "bank_statement.line_ignored", "bank_statement", line.statement_id,
                 before={"line": before}, after={"line": line_view(line)})
    return line


def candidates(line: BankStatementLine) -> list[tuple[str, object]]:
    """What an unmatched line could be matched to by hand: records waiting for the bank (or settled
    by hand and not yet seen on a statement) of exactly its amount, on its side (debit or credit)."""
    if line.status != LineState.UNMATCHED or line.currency != "USD":
        return []
    if line.direction == "debit":
        pairs = [("payment", Payment, (PaymentState.AUTHORIZED, PaymentState.EXECUTED)),
                 ("advance", Advance, (AdvanceState.PREPARED, AdvanceState.DISBURSED, AdvanceState.LIQUIDATED))]
    else:
        pairs = [("refund", Refund, (DepositState.DECLARED, DepositState.CONFIRMED)),
                 ("fine_payment", FinePayment, (DepositState.DECLARED, DepositState.CONFIRMED))]
    out = []
    for kind, model, states in pairs:
        taken = select(getattr(BankStatementLine, f"{kind}_id")).where(
            getattr(BankStatementLine, f"{kind}_id").is_not(None))
        query = select(model).where(model.status.in_(states), model.amount == line.amount, model.id.not_in(taken))
        if model is FinePayment:
            query = query.where(FinePayment.method == "deposit")
        out += [(kind, r) for r in db.session.scalars(query.order_by(model.id).limit(50))]
    return out


# --- reconciliation --------------------------------------------------------------------------

@dataclass
class Reconciliation:
    account: str
    day: date
    matched_debits: Decimal
    ledger_debits: Decimal
    matched_credits: Decimal
    ledger_credits: Decimal
    unmatched_debits: Decimal
    unmatched_credits: Decimal
    executed_not_on_statements: Decimal

    @property
    def debit_difference(self) -> Decimal:
        return self.matched_debits - self.ledger_debits

    @property
    def credit_difference(self) -> Decimal:
        return self.matched_credits - self.ledger_credits


def _lines(account: str):
    return select(BankStatementLine).join(BankStatement, BankStatement.id == BankStatementLine.statement_id).where(
        BankStatement.account == account)


def _money(total) -> Decimal:
    """A SUM as dollars and cents (SQLite's NUMERIC arrives as a float, or None for no rows)."""
    return Decimal(str(total or 0)).quantize(Decimal("0.01"))


def _sum(query) -> Decimal:
    return _money(db.session.scalar(query))


def _matched_ids(account: str, column):
    return _lines(account).with_only_columns(column).where(column.is_not(None))


def reconciliation(account: str, day: date) -> Reconciliation:
    """The day's figures for one account, as Decimals: what the bank booked and matched, against
    what the ledger says was executed on that day for the records matched on that account's
    statements (payments and disbursements by transfer date; refunds and fine deposits confirmed,
    by the day the NGO deposited); and what was executed that day but no statement has shown yet."""
    L = BankStatementLine
    booked = {(direction, LineState(status)): _money(total)
              for direction, status, total in db.session.execute(
                  _lines(account).with_only_columns(L.direction, L.status, func.sum(L.amount))
                  .where(L.booking_date == day).group_by(L.direction, L.status))}

    def lines_sum(direction: str, status: LineState) -> Decimal:
        return booked.get((direction, status), ZERO)

    ledger_debits = (
        _sum(select(func.sum(Payment.amount)).where(Payment.status == PaymentState.EXECUTED, Payment.transfer_date == day,
                                                    Payment.id.in_(_matched_ids(account, L.payment_id))))
        + _sum(select(func.sum(Advance.amount)).where(
            Advance.status.in_((AdvanceState.DISBURSED, AdvanceState.LIQUIDATED)), Advance.transfer_date == day,
            Advance.id.in_(_matched_ids(account, L.advance_id)))))
    ledger_credits = (
        _sum(select(func.sum(Refund.amount)).where(Refund.status == DepositState.CONFIRMED, Refund.refunded_on == day,
                                                   Refund.id.in_(_matched_ids(account, L.refund_id))))
        + _sum(select(func.sum(FinePayment.amount)).where(
            FinePayment.status == DepositState.CONFIRMED, FinePayment.deposited_on == day,
            FinePayment.id.in_(_matched_ids(account, L.fine_payment_id)))))
    any_line = select(L.payment_id).where(L.payment_id.is_not(None))
    any_advance_line = select(L.advance_id).where(L.advance_id.is_not(None))
    unseen = (_sum(select(func.sum(Payment.amount)).where(Payment.status == PaymentState.EXECUTED,
                                                          Payment.transfer_date == day, Payment.id.not_in(any_line)))
              + _sum(select(func.sum(Advance.amount)).where(
                  Advance.status.in_((AdvanceState.DISBURSED, AdvanceState.LIQUIDATED)),
                  Advance.transfer_date == day, Advance.id.not_in(any_advance_line))))
    return Reconciliation(
        account=account, day=day, matched_debits=lines_sum("debit", LineState.MATCHED), ledger_debits=ledger_debits,
        matched_credits=lines_sum("credit", LineState.MATCHED), ledger_credits=ledger_credits,
        unmatched_debits=lines_sum("debit", LineState.UNMATCHED),
        unmatched_credits=lines_sum("credit", LineState.UNMATCHED), executed_not_on_statements=unseen)


def reconciliation_days(limit: int = 200) -> list[tuple[str, date]]:
    """(account, booking day) pairs that statements cover, the latest first."""
    rows = db.session.execute(
        select(BankStatement.account, BankStatementLine.booking_date)
        .join(BankStatementLine, BankStatementLine.statement_id == BankStatement.id)
        .group_by(BankStatement.account, BankStatementLine.booking_date)
        .order_by(BankStatementLine.booking_date.desc(), BankStatement.account).limit(limit)).all()
    return [(a, d) for a, d in rows]


@dataclass(frozen=True)
class BankTrail:
    """Where a payment or advance stands with the bank, for its page: the live batch that holds it
    (open or issued) and the statement line that matched it."""
    batch: PaymentBatch | None
    line: BankStatementLine | None

    @property
    def at_the_bank(self) -> bool:
        """Sent in an issued batch and not yet on a statement: the bank executes it, not a person."""
        return self.batch is not None and self.batch.status == PaymentBatchState.ISSUED and self.line is None


def bank_trail(kind: str, record_id: int) -> BankTrail:

    item_column = PaymentBatchItem.payment_id if kind == "payment" else PaymentBatchItem.advance_id
    line_column = BankStatementLine.payment_id if kind == "payment" else BankStatementLine.advance_id
    batch = db.session.scalar(select(PaymentBatch).join(PaymentBatchItem, PaymentBatchItem.batch_id == PaymentBatch.id)
                              .where(item_column == record_id, PaymentBatchItem.live.is_(True)))
    line = db.session.scalar(select(BankStatementLine).where(line_column == record_id))
    return BankTrail(batch, line)
