"""Builders for the bank statement tests: authorized payments, a prepared advance, a declared refund
and fine deposit (through the real services, tests/money/payment_helpers.py, advance_helpers.py),
and the bank's statement of them (grants/reports/camt053.py)."""
from __future__ import annotations

import itertools
from decimal import Decimal

from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent, BankStatement
from grants.reports.camt053 import statement_xml
from grants.services import bank_statements, refunds
from grants.services.bank_ids import end_to_end_id
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.pdfs import tiny_pdf
from tests.timeline import iso, today

ACCOUNT = "200-012345-6"
_statement = itertools.count(1)


def setup() -> dict:
    """payments_setup (agreement in execution, supplier, three treasury officers: ``treasury``
    prepares, ``treasury2`` authorizes, ``treasury3`` uploads statements)."""
    return ph.payments_setup(beneficiaries=False)


def authorized(ctx, amount: str = "100.00"):
    return ph.authorized(ctx, [ph.line(unit_price=amount)])


def declared_refund(ctx, amount: str, reference: str):
    """Tranche 1 disbursed by hand (treasury2), then a refund declared by the NGO with its slip."""
    advance = ctx.get("disbursed") or ah.disbursed(ctx)
    ctx["disbursed"] = advance
    refund = refunds.declare_refund(ah.act(ctx["ngo"]), advance.id, {
        "amount": amount, "bank_name": "Banco Agrícola", "bank_reference": reference,
        "refunded_on": iso("2026-06-20")}, slip=("boleta.pdf", tiny_pdf(f"Depósito {reference}")))
    db.session.commit()
    return refund


def debit(record, kind: str = "payment", amount=None, reference=None, **extra) -> dict:
    return {"direction": "debit", "amount": str(amount if amount is not None else record.amount),
            "end_to_end_id": end_to_end_id(kind, record.id), "bank_reference": reference or f"BR-{kind}-{record.id}",
            "counterparty": "Capacitaciones El Roble, S.A. de C.V.", **extra}


def credit(amount, reference: str, **extra) -> dict:
    return {"direction": "credit", "amount": str(amount), "bank_reference": reference,
            "counterparty": "Asociación de prueba", "remittance": "Reintegro de anticipo", **extra}


def camt(entries, statement_id: str | None = None, account: str = ACCOUNT, day=None) -> bytes:
    return statement_xml(account, statement_id or f"EXT-{next(_statement):04d}", day or today(), entries,
                         opening_balance=Decimal("250000.00"))


def upload(ctx, data: bytes, user: str = "treasury3", filename: str = "extracto.xml"):
    statement, created = bank_statements.upload_statement(ah.act(ctx[user]), filename, data)
    db.session.commit()
    return statement, created


def events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def statements() -> int:
    return db.session.scalar(select(func.count()).select_from(BankStatement))


def by_number(statement) -> dict:
    db.session.refresh(statement)
    return {line.line_number: line for line in statement.lines}
