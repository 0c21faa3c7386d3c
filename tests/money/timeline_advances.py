"""Advances whose every step happens on its own day (``grants.clock.at``): requested, approved and
prepared the day before the transfer, disbursed on it; refunds declared and decided through the
real services."""
from __future__ import annotations

from datetime import date, timedelta

from grants import clock
from grants.extensions import db
from grants.services import advances, refunds
from tests.money.advance_helpers import act
from tests.pdfs import tiny_pdf


def disbursed_on(ctx, transfer: date, tranche: int = 1, amount=None):
    with clock.at(transfer - timedelta(days=1)):
        data = {"tranche_number": tranche, "purpose": f"Desembolso {tranche}"}
        if amount is not None:
            data["amount"] = amount
        advance = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, data)
        advances.approve_advance(act(ctx["financial"]), advance.id)
        advances.prepare_disbursement(act(ctx["treasury"]), advance.id)
    with clock.at(transfer):
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, f"TRF-{advance.id}", transfer)
    db.session.commit()
    return advance


def declared(ctx, advance, amount: str, *, reference: str | None = None, on: date | None = None, by: str = "ngo",
             slip: bool = True):
    refund = refunds.declare_refund(act(ctx[by]), advance.id, {
        "amount": amount, "bank_name": "Banco Agrícola", "bank_reference": reference or f"DEP-{advance.id}-{amount}",
        "refunded_on": (on or clock.today()).isoformat()},
        slip=("boleta.pdf", tiny_pdf("Boleta de depósito")) if slip else None)
    db.session.commit()
    return refund


def confirmed(ctx, advance, amount: str, **kwargs):
    refund = declared(ctx, advance, amount, **kwargs)
    refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    db.session.commit()
    return refund
