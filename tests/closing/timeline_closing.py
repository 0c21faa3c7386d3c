"""Advances accounted for on the real timeline, for the closing tests: disbursed on their day
(``tests/money/timeline_advances.py``), receipts dated inside the advance's period and accepted or
rejected by the financial reviewer, the rest refunded (declared by the NGO with its slip, confirmed
by treasury). The advance ends liquidated.

``payments_setup()``'s tranches: 1 on 2026-02-15 (40,000.00, period to 2026-06-14), 2 on
2026-06-15, 3 on 2026-09-15 (reference calendar, ``tests/timeline.py``).
"""
from __future__ import annotations

from grants.extensions import db
from grants.services import expense_statements
from tests.money import advance_helpers as ah
from tests.money import timeline_advances as ta
from tests.timeline import day, iso

act = ah.act
TRANSFER = {1: "2026-02-16", 2: "2026-06-16", 3: "2026-09-16"}
RECEIPT_DAY = {1: "2026-03-10", 2: "2026-07-10", 3: "2026-10-10"}


def disbursed(ctx: dict, tranche: int = 1):
    return ta.disbursed_on(ctx, day(TRANSFER[tranche]), tranche)


def account_for(ctx: dict, advance, accepted=(), rejected=(), refund: bool = True, budget_line: int = 1):
    """A statement whose receipts are accepted (``accepted``) or rejected (``rejected``), then the
    outstanding rest refunded and confirmed (with ``refund``)."""
    rows = [ah.row(amount=a, issue_date=iso(RECEIPT_DAY[advance.tranche_number]), budget_line=budget_line)
            for a in (*accepted, *rejected)]
    if rows:
        statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, rows)
        db.session.commit()
        for i, receipt in enumerate(statement.receipts):
            ok = i < len(accepted)
            expense_statements.decide_receipt(act(ctx["financial"]), receipt.id, ok, None if ok else "No corresponde")
        db.session.commit()
    db.session.refresh(advance)
    if refund and advance.outstanding > 0:
        ta.confirmed(ctx, advance, f"{advance.outstanding:.2f}")
    db.session.refresh(advance)
    return advance


def liquidated_advance(ctx: dict, tranche: int = 1, accepted=("30000.00",), rejected=()):
    return account_for(ctx, disbursed(ctx, tranche), accepted, rejected)
