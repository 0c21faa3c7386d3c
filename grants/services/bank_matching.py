"""What a bank statement line is: the payment, disbursement, refund or fine deposit it moves, found
by the rules below, and the execution of that record through its own service. Flush, never commit.

**Debits** (money leaving the ministry's account):

1. *By end-to-end id* (``FONDOS-PAG-000123`` / ``FONDOS-ANT-000045``, grants/services/bank_ids.py):
   the payment or the advance it names.
2. *Without one of ours, by amount and reference*: among the payments waiting for the bank
   (authorized) of exactly the line's amount, those whose **invoice number** appears as a whole word
   in the line's remittance text or bank reference; among the advances prepared for disbursement of
   exactly that amount, those whose **agreement number** appears there together with
   ``desembolso N`` or ``tramo N`` (N its tranche). Only when exactly one candidate is found.

**Credits** (money coming in): a refund (reintegro) or a fine deposit declared by the NGO and not yet
decided, whose **bank reference** is the line's (case and spaces aside); exactly one.

A payment or advance sent in an issued payment batch is matched only by a statement of that batch's
debtor account (else «cuenta distinta»). A record found must be in a state the bank can settle — a payment authorized, an advance prepared, a
refund or fine deposit declared — and the amount must be **exactly** the line's, to the cent. Then
its own service runs with the uploader as actor and the statement as source (``execute_payment``,
``disburse_advance``: the bank's booking date and reference; ``confirm_refund``,
``decide_fine_deposit``), inside a savepoint: a refusal (segregation of duties, a supplier no
longer validated, a deposit slip missing) leaves nothing half-done and the line unmatched with that
refusal's message. A record the treasury had already settled by hand and that no line has matched yet
is matched without running anything again (the bank confirms it); one that a line already matched is a
duplicate: «ya conciliado».
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import formats
from grants.audit import Actor
from grants.domain_errors import DomainError
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS, PAYMENT_STATE_LABELS
from grants.models import Advance, Agreement, BankStatementLine, FinePayment, Invoice, Payment, Refund
from grants.services import advances, fines, payment_batches, payments, refunds
from grants.services.bank_ids import parse_end_to_end_id
from grants.services.refunds import DEPOSIT_STATE_LABELS
from grants.workflows.advance import AdvanceState
from grants.workflows.deposit import DepositState
from grants.workflows.payment import PaymentState

KINDS = {"payment": Payment, "advance": Advance, "refund": Refund, "fine_payment": FinePayment}
KIND_LABELS = {"payment": _l("Pago"), "advance": _l("Desembolso de anticipo"), "refund": _l("Reintegro"),
               "fine_payment": _l("Depósito de multa")}
REASONS = {
    "currency": _l("Moneda %(currency)s: solo se concilian movimientos en USD."),
    "reversal": _l("El banco marca el movimiento como reverso: revíselo a mano."),
    "unknown_reference": _l("Referencia desconocida: ningún pago, desembolso, reintegro ni multa de Fondos "
                            "corresponde a este movimiento."),
    "ambiguous": _l("Varios registros de Fondos corresponden a este movimiento (%(what)s): concílielo a mano."),
    "wrong_amount": _l("Importe distinto: el banco registra %(amount)s y %(what)s es de %(expected)s."),
    "exceeds_declared": _l("El depósito (%(amount)s) es mayor que lo declarado en %(what)s (%(expected)s): "
                           "no se confirma."),
    "already_reconciled": _l("Ya conciliado: %(what)s ya fue conciliado con la línea %(line)s del extracto "
                             "%(statement)s."),
    "wrong_state": _l("%(what)s está «%(state)s»: el banco no puede liquidarlo."),
    "wrong_direction": _l("Un %(direction)s del banco no corresponde a %(what)s."),
    "wrong_account": _l("%(what)s salió al banco en el lote %(batch)s desde la cuenta %(expected)s; este extracto es "
                        "de la cuenta %(account)s."),
    "refused": _l("%(what)s no se pudo registrar: %(message)s"),
}


class Unmatched(Exception):
    """The line stays unmatched: ``code`` and the Spanish message (stored as written)."""

    def __init__(self, code: str, **values):
        with force_locale("es"):
            message = str(REASONS[code] % {k: str(v) for k, v in values.items()})
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Found:
    kind: str
    record: object


def describe(kind: str, record) -> str:
    """«el pago N.º 12 (factura F-00001)», in Spanish, for the stored reasons."""
    with force_locale("es"):
        if kind == "payment":
            return str(_l("el pago N.º %(id)s (factura %(number)s)", id=record.id, number=record.invoice.number))
        if kind == "advance":
            return str(_l("el desembolso %(n)s del convenio %(number)s (anticipo N.º %(id)s)",
                          n=record.tranche_number, number=record.agreement.number, id=record.id))
        if kind == "refund":
            return str(_l("el reintegro N.º %(id)s (referencia %(ref)s)", id=record.id, ref=record.bank_reference))
        return str(_l("el depósito de multa N.º %(id)s (referencia %(ref)s)", id=record.id,
                      ref=record.bank_reference))


def _word_in(needle: str, haystack: str) -> bool:
    if not needle:
        return False
    return re.search(rf"(?<![A-Z0-9]){re.escape(needle.upper())}(?![A-Z0-9])", haystack) is not None


def _text_of(line: BankStatementLine) -> str:
    return " ".join(x for x in (line.remittance, line.bank_reference, line.end_to_end_id) if x).upper()


def _by_amount_and_reference(line: BankStatementLine) -> list[Found]:
    text = _text_of(line)
    found = []
    for payment in db.session.scalars(select(Payment).join(Invoice, Invoice.id == Payment.invoice_id).where(
            Payment.status.in_((PaymentState.AUTHORIZED, PaymentState.EXECUTED)), Payment.amount == line.amount)):
        if _word_in(payment.invoice.number, text) and not _settled_by_line(payment, "payment"):
            found.append(Found("payment", payment))
    for advance in db.session.scalars(select(Advance).join(Agreement, Agreement.id == Advance.agreement_id).where(
            Advance.status.in_((AdvanceState.PREPARED, AdvanceState.DISBURSED)), Advance.amount == line.amount)):
        tranche = str(advance.tranche_number)
        if _word_in(advance.agreement.number, text) and (
                re.search(rf"(?:DESEMBOLSO|TRAMO)\s*(?:N\.?º?\s*)?{tranche}(?!\d)", text)) \
                and not _settled_by_line(advance, "advance"):
            found.append(Found("advance", advance))
    return found


def _by_deposit_reference(line: BankStatementLine) -> list[Found]:
    reference = " ".join((line.bank_reference or "").split()).upper()
    if not reference:
        return []
    found = [Found("refund", r) for r in db.session.scalars(select(Refund).where(
        func.upper(Refund.bank_reference) == reference, Refund.status != DepositState.REJECTED).order_by(Refund.id))]
    found += [Found("fine_payment", f) for f in db.session.scalars(select(FinePayment).where(
        func.upper(FinePayment.bank_reference) == reference, FinePayment.method == "deposit",
        FinePayment.status != DepositState.REJECTED).order_by(FinePayment.id))]
    return found


def find(line: BankStatementLine) -> Found:
    """The one record the line moves, by the rules above, or ``Unmatched``."""
    if line.currency != "USD":
        raise Unmatched("currency", currency=line.currency)
    if line.direction == "debit":
        ours = parse_end_to_end_id(line.end_to_end_id)
        if ours is not None:
            kind, record_id = ours
            record = db.session.get(KINDS[kind], record_id)
            if record is None:
                raise Unmatched("unknown_reference")
            return Found(kind, record)
        candidates = _by_amount_and_reference(line)
    else:
        candidates = _by_deposit_reference(line)
    if not candidates:
        raise Unmatched("unknown_reference")
    if len(candidates) > 1:
        raise Unmatched("ambiguous", what=", ".join(describe(c.kind, c.record) for c in candidates))
    return candidates[0]


def _settled_by_line(record, kind: str) -> BankStatementLine | None:
    column = getattr(BankStatementLine, f"{kind}_id")
    return db.session.scalar(select(BankStatementLine).where(column == record.id))


def _refuse_if_another_line_has(line: BankStatementLine, kind: str, record) -> None:
    """``already_reconciled`` when a line other than ``line`` already matched ``record``."""
    earlier = _settled_by_line(record, kind)
    if earlier is not None and earlier.id != line.id:
        raise Unmatched("already_reconciled", what=describe(kind, record), line=earlier.line_number,
                        statement=earlier.statement.statement_ref)


SETTLEABLE = {"payment": PaymentState.AUTHORIZED, "advance": AdvanceState.PREPARED,
              "refund": DepositState.DECLARED, "fine_payment": DepositState.DECLARED}
SETTLED = {"payment": (PaymentState.EXECUTED,), "advance": (AdvanceState.DISBURSED, AdvanceState.LIQUIDATED),
           "refund": (DepositState.CONFIRMED,), "fine_payment": (DepositState.CONFIRMED,)}
STATE_LABELS = {"payment": PAYMENT_STATE_LABELS, "advance": ADVANCE_STATE_LABELS, "refund": DEPOSIT_STATE_LABELS,
                "fine_payment": DEPOSIT_STATE_LABELS}


def _account(number: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(number or "").upper())


def check(line: BankStatementLine, found: Found) -> bool:
    """Whether ``found`` may be matched by ``line`` (raises ``Unmatched`` when not); True when its
    service must run (a record waiting for the bank), False when it was already settled by hand."""
    kind, record = found.kind, found.record
    what = describe(kind, record)
    if (line.direction == "debit") != (kind in ("payment", "advance")):
        with force_locale("es"):
            direction = str(_l("débito") if line.direction == "debit" else _l("crédito"))
        raise Unmatched("wrong_direction", direction=direction, what=what)
    if kind in ("payment", "advance"):
        batch = payment_batches.issued_batch_holding(kind, record.id)
        if batch is not None and _account(batch.debtor_account) != _account(line.statement.account):
            raise Unmatched("wrong_account", what=what, batch=batch.number, expected=batch.debtor_account,
                            account=line.statement.account)
    _refuse_if_another_line_has(line, kind, record)
    if record.status != SETTLEABLE[kind] and record.status not in SETTLED[kind]:
        with force_locale("es"):
            raise Unmatched("wrong_state", what=what[:1].upper() + what[1:],
                            state=str(STATE_LABELS[kind][record.status]))
    expected = record.amount
    if kind == "advance" and record.status == SETTLEABLE[kind]:
        expected = record.amount - sum((a for _, a in fines.withholding_for(record.agreement_id)), 0)
    if line.amount != expected:
        code = "exceeds_declared" if kind in ("refund", "fine_payment") and line.amount > expected else "wrong_amount"
        raise Unmatched(code, amount=formats.usd(line.amount), what=what, expected=formats.usd(expected))
    return record.status == SETTLEABLE[kind]


def settle(actor: Actor, line: BankStatementLine, found: Found) -> None:
    """Runs the record's own service for the line, in a savepoint; a refusal → ``Unmatched``."""
    reference = line.bank_reference or line.end_to_end_id or f"EXTRACTO-{line.statement_id}-{line.line_number}"
    calls = {
        "payment": lambda: payments.execute_payment(actor, found.record.id, bank_reference=reference,
                                                    transfer_date=line.booking_date, by_bank_statement=True),
        "advance": lambda: advances.disburse_advance(actor, found.record.id, bank_reference=reference,
                                                     transfer_date=line.booking_date, by_bank_statement=True),
        "refund": lambda: refunds.confirm_refund(actor, found.record.id),
        "fine_payment": lambda: fines.decide_fine_deposit(actor, found.record.id, True),
    }
    savepoint = db.session.begin_nested()
    try:
        calls[found.kind]()
        if found.kind == "advance" and found.record.amount != line.amount:  # fines withheld meanwhile
            raise Unmatched("wrong_amount", amount=formats.usd(line.amount), what=describe("advance", found.record),
                            expected=formats.usd(found.record.amount))
        savepoint.commit()
    except DomainError as exc:
        savepoint.rollback()
        db.session.expire_all()
        # another statement's line settled it while this one waited for the record's row lock
        # (two uploads at once): say so, as when that line had been there first
        _refuse_if_another_line_has(line, found.kind, found.record)
        with force_locale("es"):
            messages = [str(m) for ms in (exc.errors or {}).values() for m in ms] or [str(exc.detail)]
            what = describe(found.kind, found.record)
            raise Unmatched("refused", what=what[:1].upper() + what[1:], message=" ".join(messages)) from None
    except Unmatched:
        savepoint.rollback()
        db.session.expire_all()
        raise
