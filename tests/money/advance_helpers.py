"""Advances built through the real services: an agreement in execution (tests/agreement_helpers.py:
budget lines 1: 60000.00, 2: 25000.50, 3: 14999.50; tranches 1: 40000 on 2026-02-15, 2: 40000 on
2026-06-15, 3: 20000 on 2026-09-15; term 2026-02-01..2026-11-30), two treasury officers, and
helpers to request, approve, prepare and disburse. The dates are the reference calendar's (a 2026
term seen on 20/11/2026), moved to the test day by ``tests/timeline.py``."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from grants import clock
from grants.audit import Actor
from grants.extensions import db
from grants.services import advances, refunds
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_user, valid_nit
from tests.pdfs import tiny_pdf
from tests.timeline import day, iso

_docs = itertools.count(1)
SUPPLIER_NIT = valid_nit(321)
TRANSFER_DAY = day("2026-02-16")
PREPARATION_DAY = TRANSFER_DAY - timedelta(days=1)


def act(user) -> Actor:
    return Actor.for_user(user)


def money_setup(**kwargs) -> dict:
    """``agreement_in_execution()`` plus ``treasury`` (preparer) and ``treasury2`` (disburser)."""
    ctx = agreement_in_execution(**kwargs)
    ctx["treasury"] = make_user(["treasury"])
    ctx["treasury2"] = make_user(["treasury"])
    return ctx


def requested(ctx, tranche: int = 1):
    """Requested, approved and prepared on the day before the transfer (TRANSFER_DAY): a transfer is
    never dated before its preparation."""
    with clock.at(PREPARATION_DAY):
        advance = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id,
                                           {"tranche_number": tranche, "purpose": f"Desembolso {tranche}"})
    db.session.commit()
    return advance


def approved(ctx, tranche: int = 1):
    advance = requested(ctx, tranche)
    with clock.at(PREPARATION_DAY):
        advances.approve_advance(act(ctx["financial"]), advance.id)
    db.session.commit()
    return advance


def prepared(ctx, tranche: int = 1):
    advance = approved(ctx, tranche)
    with clock.at(PREPARATION_DAY):
        advances.prepare_disbursement(act(ctx["treasury"]), advance.id)
    db.session.commit()
    return advance


def disbursed(ctx, tranche: int = 1, day: date = TRANSFER_DAY):
    advance = prepared(ctx, tranche)
    with clock.at(max(day, TRANSFER_DAY)):
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, f"TRF-{advance.id}-{tranche}", day)
    db.session.commit()
    return advance


def refunded(ctx, advance, amount: str, reference: str, user: str = "ngo", day: str | None = None,
             confirm_by: str = "treasury"):
    """A refund declared (with its deposit slip) and confirmed against the bank by treasury."""
    refund = refunds.declare_refund(act(ctx[user]), advance.id, {
        "amount": amount, "bank_name": "Banco Agrícola", "bank_reference": reference,
        "refunded_on": day or iso("2026-06-20")}, slip=("boleta.pdf", tiny_pdf(f"Depósito {reference}")))
    if confirm_by:
        refunds.confirm_refund(act(ctx[confirm_by if ctx[confirm_by].id != ctx[user].id else "treasury2"]),
                               refund.id)
    db.session.commit()
    return refund


def row(**overrides) -> dict:
    """A valid receipt row for tranche 1's period (2026-02-15..2026-06-14), on budget line 1."""
    data = {
        "document_type": "factura",
        "document_number": f"F-{next(_docs):06d}",
        "issue_date": iso("2026-03-10"),
        "supplier_tax_id": SUPPLIER_NIT,
        "supplier_name": "Librería El Estudiante, S.A. de C.V.",
        "description": "Cuadernos y lápices para talleres",
        "budget_line": 1,
        "amount": "100.00",
    }
    data.update(overrides)
    return data


def set_threshold(ctx, percent: str) -> None:
    """The agreement's liquidation threshold (set when the agreement is drafted; here changed in place)."""
    from sqlalchemy import update

    from grants.models import Agreement

    db.session.execute(update(Agreement).where(Agreement.id == ctx["agreement"].id)
                       .values(liquidation_threshold=percent))
    db.session.commit()
    db.session.expire(ctx["agreement"])
