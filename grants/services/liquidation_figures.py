"""What an agreement's final liquidation says, as it stands now: its figures (from the ledger, the
beneficiaries, the indicators and the findings) and what still blocks it. Read only.

The grouped counts take many agreements at once: ``grants.services.legislature`` reuses them for a
whole year, so a liquidation and the report to the Assembly always say the same thing (G9).
``grants.services.final_liquidation`` records these figures in a revision and runs its sign-offs.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import func, or_, select

from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import (
    Advance,
    Agreement,
    AuditFinding,
    Enrollment,
    EnrollmentPeriod,
    FollowUpIndicator,
    FollowUpReport,
    Payment,
    PlanIndicator,
)
from grants.money import format_amount
from grants.services import ledger
from grants.workflows.advance import AdvanceState
from grants.workflows.agreement import AgreementState
from grants.workflows.audit_check import FindingState
from grants.workflows.enrollment import EnrollmentState
from grants.workflows.payment import COMMITTED_STATES as PAYMENT_PENDING

# Advances that still have to be accounted for before the final liquidation.
ADVANCE_OPEN = (AdvanceState.REQUESTED, AdvanceState.APPROVED, AdvanceState.PREPARED, AdvanceState.DISBURSED)
# An enrollment counts as validated once it went through validation (every later state implies it).
VALIDATED_STATES = (EnrollmentState.VALIDATED, EnrollmentState.ACTIVE, EnrollmentState.INACTIVE)


# --- grouped figures (one agreement or a whole year) ------------------------------------------

def reached_in_term():
    """EXISTS: the enrollment (``Enrollment``, joined to its ``Agreement``) was active on at least one
    day of the agreement's term — what "reached" means for the liquidation, the Assembly and the dashboard."""
    p = EnrollmentPeriod
    return select(p.id).where(
        p.enrollment_id == Enrollment.id, p.status == EnrollmentState.ACTIVE, p.valid_from <= Agreement.end_date,
        or_(p.valid_to.is_(None), (p.valid_to > Agreement.start_date) & (p.valid_to > p.valid_from))).exists()


def beneficiary_counts(agreement_ids) -> dict[int, dict]:
    """{agreement id: {"validated", "reached"}}: enrollments ever validated, and enrollments that
    were active on at least one day of the agreement's term (periods are ``[valid_from, valid_to)``)."""
    ids = list(agreement_ids)
    out = {i: {"validated": 0, "reached": 0} for i in ids}
    if not ids:
        return out
    p, e, a = EnrollmentPeriod, Enrollment, Agreement
    # Semi-joins (EXISTS) rather than COUNT(DISTINCT): one pass over a year's enrollments.
    ever_validated = select(p.id).where(p.enrollment_id == e.id, p.status.in_(VALIDATED_STATES)).exists()
    active_in_term = reached_in_term()
    validated = db.session.execute(select(e.agreement_id, func.count()).where(e.agreement_id.in_(ids), ever_validated)
                                   .group_by(e.agreement_id)).all()
    reached = db.session.execute(select(e.agreement_id, func.count()).join(a, a.id == e.agreement_id)
                                 .where(e.agreement_id.in_(ids), active_in_term).group_by(e.agreement_id)).all()
    for agreement_id, n in validated:
        out[agreement_id]["validated"] = n
    for agreement_id, n in reached:
        out[agreement_id]["reached"] = n
    return out


def indicator_values(agreement_ids) -> dict[int, list[dict]]:
    """{agreement id: [{"name", "unit", "baseline", "target", "achieved"}]}: each indicator of the
    agreement's plan version with the value of the latest follow-up report that measured it
    (``achieved`` None when no report did). Amounts are Decimals."""
    ids = list(agreement_ids)
    out: dict[int, list[dict]] = {i: [] for i in ids}
    if not ids:
        return out
    latest: dict[int, Decimal] = {}
    for indicator_id, value in db.session.execute(
            select(FollowUpIndicator.indicator_id, FollowUpIndicator.value)
            .join(FollowUpReport, FollowUpReport.id == FollowUpIndicator.report_id)
            .where(FollowUpReport.agreement_id.in_(ids))
            .order_by(FollowUpReport.period_end, FollowUpReport.id)).all():
        latest[indicator_id] = value  # later reports overwrite earlier ones
    rows = db.session.execute(
        select(Agreement.id, PlanIndicator).join(PlanIndicator, PlanIndicator.version_id == Agreement.plan_version_id)
        .where(Agreement.id.in_(ids)).order_by(Agreement.id, PlanIndicator.position, PlanIndicator.id)).all()
    for agreement_id, ind in rows:
        out[agreement_id].append({"name": ind.name, "unit": ind.unit, "baseline": ind.baseline,
                                  "target": ind.target, "achieved": latest.get(ind.id)})
    return out


def finding_counts(agreement_ids) -> dict[int, dict]:
    """{agreement id: {"total", "open", "justified", "confirmed", "resolved", "by_rule": {code: n}}}."""
    ids = list(agreement_ids)
    out = {i: {"total": 0, **{s.value: 0 for s in FindingState}, "by_rule": {}} for i in ids}
    if not ids:
        return out
    for agreement_id, rule, status, n in db.session.execute(
            select(AuditFinding.agreement_id, AuditFinding.rule_code, AuditFinding.status, func.count())
            .where(AuditFinding.agreement_id.in_(ids))
            .group_by(AuditFinding.agreement_id, AuditFinding.rule_code, AuditFinding.status)).all():
        counts = out[agreement_id]
        counts["total"] += n
        counts[status] += n
        counts["by_rule"][rule] = counts["by_rule"].get(rule, 0) + n
    return out


def figures(agreement: Agreement) -> dict:
    """The figures a final liquidation records, as they stand now (Decimals and ints)."""
    b = ledger.balances(agreement)
    people = beneficiary_counts([agreement.id])[agreement.id]
    return {
        "assigned": b.assigned, "paid_directly": b.paid_directly, "advanced": b.advanced,
        "liquidated": b.liquidated, "refunded": b.refunded,
        "unspent": b.assigned - b.paid_directly - b.liquidated,
        "committed": b.committed, "outstanding": b.outstanding,
        "beneficiaries_target": agreement.plan_version.beneficiaries_target,
        "beneficiaries_validated": people["validated"], "beneficiaries_reached": people["reached"],
        "indicators": indicator_values([agreement.id])[agreement.id],
        "findings": finding_counts([agreement.id])[agreement.id],
    }


# --- blockers and preview -----------------------------------------------------------------------

def blockers(agreement: Agreement) -> list[dict]:
    """What stops the final liquidation now: [{"code", "message", "ids"}], empty when nothing does."""
    found: list[dict] = []
    if agreement.status != AgreementState.CLOSING:
        found.append({"code": "agreement_not_closing", "ids": [], "message": _l(
            "El convenio está «%(state)s»: solo se liquida un convenio en cierre.",
            state=AGREEMENT_STATE_LABELS.get(agreement.status, agreement.status))})
    advances = db.session.execute(select(Advance.id, Advance.tranche_number).where(
        Advance.agreement_id == agreement.id, Advance.status.in_(ADVANCE_OPEN)).order_by(Advance.tranche_number)).all()
    if advances:
        found.append({"code": "advance_not_liquidated", "ids": [a.id for a in advances], "message": _l(
            "Hay anticipos sin liquidar (desembolsos %(numbers)s): cada anticipo debe liquidarse con comprobantes "
            "y reintegros antes de la liquidación final.", numbers=", ".join(str(a.tranche_number) for a in advances))})
    payments = db.session.scalars(select(Payment.id).where(
        Payment.agreement_id == agreement.id, Payment.status.in_(PAYMENT_PENDING)).order_by(Payment.id)).all()
    if payments:
        found.append({"code": "payment_pending", "ids": list(payments), "message": _l(
            "Hay pagos directos pendientes (%(ids)s): ejecútelos o cancélelos antes de la liquidación final.",
            ids=", ".join(f"#{i}" for i in payments))})
    findings = db.session.scalars(select(AuditFinding.id).where(
        AuditFinding.agreement_id == agreement.id, AuditFinding.status == FindingState.CONFIRMED).order_by(AuditFinding.id)).all()
    if findings:
        found.append({"code": "finding_unresolved", "ids": list(findings), "message": lazy_ngettext(
            "Hay %(num)s hallazgo confirmado de auditoría sin resolver: debe resolverse antes de la liquidación final.",
            "Hay %(num)s hallazgos confirmados de auditoría sin resolver: deben resolverse antes de la liquidación "
            "final.", len(findings))})
    return found


def liquidation_preview(agreement: Agreement) -> dict:
    """The figures as they stand and the list of blockers (``ready`` when there is none)."""
    found = blockers(agreement)
    return {"agreement_id": agreement.id, "status": agreement.status, "figures": figures(agreement),
            "blockers": found, "ready": not found}


def as_json(values: dict) -> dict:
    """Figures with amounts as strings with two decimals (API, audit, stored indicators)."""
    def money(v):
        return None if v is None else format_amount(v)

    out = {k: (money(v) if isinstance(v, Decimal) else v) for k, v in values.items()
           if k not in ("indicators", "findings")}
    out["indicators"] = [{**i, "baseline": money(i["baseline"]), "target": money(i["target"]),
                          "achieved": money(i["achieved"])} for i in values["indicators"]]
    out["findings"] = values["findings"]
    return out
