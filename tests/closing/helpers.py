"""Builders for the closing tests, through the real services: an agreement with direct payments
and advances (tests/money helpers), advances liquidated with receipts and refunds, follow-up
reports, findings, the move to closing and the final liquidation.

``payments_setup()`` (tests/money/payment_helpers.py) gives the agreement (budget lines 1: 60000.00,
2: 25000.50, 3: 14999.50; tranches 1: 40000, 2: 40000, 3: 20000; term 2026-02-01..2026-11-30), a
validated supplier, three treasury officers and five enrollments with known histories.
"""
from __future__ import annotations

import hashlib
import itertools
from decimal import Decimal

from sqlalchemy import select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import AuditCheckRun, AuditFinding, Receipt
from grants.models.base import utcnow
from grants.services import agreements, expense_statements, final_liquidation, followup
from grants.workflows.agreement import AgreementAction
from tests.closing import timeline_closing as tc
from tests.factories import make_user
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.timeline import iso

act = ph.act
SYSTEM = Actor.system("tests:closing")
# Receipts must be dated inside the advance's period.
RECEIPT_DAY = {1: iso("2026-03-10"), 2: iso("2026-07-10"), 3: iso("2026-10-10")}
REFUND_DAY = {1: iso("2026-06-20"), 2: iso("2026-09-20"), 3: iso("2026-11-10")}
_refs = itertools.count(1)
_fingerprints = itertools.count(1)


def setup(beneficiaries: bool = True) -> dict:
    ctx = ph.payments_setup(beneficiaries=beneficiaries)
    ctx["auditor"] = make_user(["auditor"])
    return ctx


def pay(ctx: dict, unit_price: str = "100.00", quantity: str = "1", budget_line: int = 1):
    """An executed direct payment (no beneficiaries named: nothing deducted)."""
    return ph.executed(ctx, [ph.line(budget_line, quantity=quantity, unit_price=unit_price)],
                       reference=f"TRF-P{next(_refs):05d}")


def account_for(ctx: dict, advance, accepted=(), rejected=(), refund: bool = True, budget_line: int = 1):
    """An expense statement for ``advance`` whose receipts are accepted or rejected, then (with
    ``refund``) the rest refunded (declared and confirmed by treasury): the advance ends liquidated."""
    day = RECEIPT_DAY[advance.tranche_number]
    rows = ([ah.row(amount=a, issue_date=day, budget_line=budget_line) for a in accepted]
            + [ah.row(amount=a, issue_date=day, budget_line=budget_line) for a in rejected])
    if rows:
        statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, rows)
        db.session.commit()
        for i, receipt in enumerate(statement.receipts):
            ok = i < len(accepted)
            expense_statements.decide_receipt(act(ctx["financial"]), receipt.id, ok, None if ok else "No corresponde")
        db.session.commit()
    db.session.refresh(advance)
    if refund and advance.outstanding > 0:
        ah.refunded(ctx, advance, str(advance.outstanding), f"REI-{next(_refs):05d}",
                    day=REFUND_DAY[advance.tranche_number])
    db.session.refresh(advance)
    return advance


def liquidated_advance(ctx: dict, tranche: int = 1, accepted=("30000.00",), rejected=()):
    return account_for(ctx, ah.disbursed(ctx, tranche), accepted, rejected)


def report_indicator(ctx: dict, start: str, end: str, value: str):
    """A follow-up report by the administrator measuring the plan's first indicator."""
    version = ctx["agreement"].plan_version
    report = followup.create_report(act(ctx["administrator"]), ctx["agreement"].id, {
        "period_start": start, "period_end": end, "observations": "Avance según lo previsto.",
        "activities": [{"activity_id": a.id, "progress": "50"} for a in version.activities],
        "indicators": [{"indicator_id": version.indicators[0].id, "value": value}]})
    db.session.commit()
    return report


def finding(agreement, status: str = "open", rule: str = "receipt_outside_term", amount: str = "100.00"):
    """A finding of a check run on ``agreement`` (as the checks record them), with a decision note
    when it is not open."""
    run = AuditCheckRun(agreement_id=agreement.id, status="finished", rules_run=1, finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    record_event(db.session, SYSTEM, "audit_check_run.finished", "audit_check_run", run.id, after=snapshot(run))
    item = AuditFinding(
        fingerprint=hashlib.sha256(f"test-{next(_fingerprints)}-{agreement.id}".encode()).hexdigest(),
        rule_code=rule, severity="medium", agreement_id=agreement.id, organization_id=agreement.organization_id,
        entity_type="agreement", entity_id=str(agreement.id), summary="Hallazgo de prueba",
        evidence={"amount": amount}, amount=Decimal(amount), status=status,
        note=None if status == "open" else "Nota del auditor", first_run_id=run.id, last_run_id=run.id)
    db.session.add(item)
    db.session.flush()
    record_event(db.session, SYSTEM, "audit_finding.recorded", "audit_finding", item.id, after=snapshot(item),
                 organization_id=agreement.organization_id)
    db.session.commit()
    return item


def decide_finding(item, status: str, note: str = "Resuelto con documentos") -> None:
    before = snapshot(item)
    item.status, item.note = status, note
    db.session.flush()
    record_event(db.session, SYSTEM, "audit_finding.decided", "audit_finding", item.id, before=before,
                 after=snapshot(item), organization_id=item.organization_id)
    db.session.commit()


def ready_in_closing() -> dict:
    """An agreement in closing with one direct payment and one advance accounted for: ready for its
    final liquidation."""
    ctx = setup(beneficiaries=False)
    pay(ctx, "480.20")
    tc.liquidated_advance(ctx, 1, accepted=("25000.00",))
    to_closing(ctx)
    return ctx


def to_closing(ctx: dict, force: bool = False):
    """in_execution → closing: through ``agreements.begin_closing`` (which refuses money in flight),
    or with ``force`` straight through the workflow (to reach a closing agreement that still has a
    pending payment or advance, which the final liquidation must refuse on its own)."""
    agreement = ctx["agreement"]
    if force:
        agreements._change_state(act(ctx["legal"]), agreement, AgreementAction.BEGIN_CLOSING, None,
                                 "agreement.closing_started")
    else:
        agreements.begin_closing(act(ctx["administrator"]), agreement.id)
    db.session.commit()
    return agreement


def prepare(ctx: dict, verdict: str = "cumple", reasoning: str = "Ejecutó el plan y liquidó cada anticipo."):
    """The administrator proposes the final liquidation (or its next revision)."""
    liquidation = final_liquidation.prepare_liquidation(act(ctx["administrator"]), ctx["agreement"].id, verdict,
                                                        reasoning)
    db.session.commit()
    return liquidation


def sign(ctx: dict, discipline: str, decision: str = "approve", observations: str | None = None, user=None):
    """``discipline``'s reviewer (``ctx[discipline]`` unless ``user``) signs the latest revision."""
    latest = final_liquidation.current(ctx["agreement"].id)
    signoff = final_liquidation.sign_off(act(user or ctx[discipline]), ctx["agreement"].id, latest.revision,
                                         discipline, decision, observations)
    db.session.commit()
    return signoff


def liquidate(ctx: dict, verdict: str = "cumple", reasoning: str = "Ejecutó el plan y liquidó cada anticipo."):
    """Prepared by the administrator and approved by legal, financial and monitoring: liquidated."""
    liquidation = prepare(ctx, verdict, reasoning)
    for discipline in ("legal", "financial", "monitoring"):
        sign(ctx, discipline)
    db.session.refresh(liquidation)
    return liquidation


def accepted_receipts(agreement_id: int) -> Decimal:
    return sum(db.session.scalars(select(Receipt.amount).where(Receipt.agreement_id == agreement_id,
                                                               Receipt.status == "accepted")).all(), Decimal("0.00"))
