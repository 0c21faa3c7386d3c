"""Final liquidation (liquidación final) of an agreement in closing: the figures as they stand,
what still blocks it, and the administrator's verdict. Flush, never commit.

The figures come from the ledger (``grants.services.ledger.balances``) and from grouped counts
that ``grants.services.legislature`` reuses for a whole year, so a liquidation and the report
to the legislature always say the same thing (G9).
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import (
    Advance,
    Agreement,
    AuditFinding,
    Enrollment,
    EnrollmentPeriod,
    FinalLiquidation,
    FollowUpIndicator,
    FollowUpReport,
    Payment,
    PlanIndicator,
)
from grants.models.closing import VERDICTS
from grants.models.findings import FINDING_STATES
from grants.permissions import Permission, Role
from grants.services import ledger
from grants.services.agreements import _change_state
from grants.services.errors import Conflict, FieldErrors, Forbidden, NotFound
from grants.services.money import format_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows.advance import AdvanceState
from grants.workflows.agreement import AgreementAction, AgreementState
from grants.workflows.payment import COMMITTED_STATES as PAYMENT_PENDING

VERDICT_LABELS = {
    "cumple": _l("Cumple"),
    "cumple_parcialmente": _l("Cumple parcialmente"),
    "no_cumple": _l("No cumple"),
}
# Advances that still have to be accounted for before the final liquidation.
ADVANCE_OPEN = (AdvanceState.REQUESTED, AdvanceState.APPROVED, AdvanceState.PREPARED, AdvanceState.DISBURSED)
# An enrollment counts as validated once it went through validation (every later state implies it).
VALIDATED_STATES = ("validated", "active", "inactive")
REASONING_MAX = 20000


class NotReady(Conflict):
    """The agreement cannot be liquidated yet: ``blockers`` lists every reason (code, message)."""

    code = "liquidation_blocked"

    def __init__(self, blockers: list[dict]):
        super().__init__(" ".join(str(b["message"]) for b in blockers), code=blockers[0]["code"])
        self.blockers = blockers


# --- grouped figures (one agreement or a whole year) ------------------------------------------

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
    active_in_term = select(p.id).where(
        p.enrollment_id == e.id, p.status == "active", p.valid_from <= a.end_date,
        or_(p.valid_to.is_(None), (p.valid_to > a.start_date) & (p.valid_to > p.valid_from))).exists()
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
    out = {i: {"total": 0, **{s: 0 for s in FINDING_STATES}, "by_rule": {}} for i in ids}
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
        AuditFinding.agreement_id == agreement.id, AuditFinding.status == "confirmed").order_by(AuditFinding.id)).all()
    if findings:
        found.append({"code": "finding_unresolved", "ids": list(findings), "message": _l(
            "Hay %(n)s hallazgos confirmados de auditoría sin resolver: deben resolverse antes de la liquidación final.",
            n=len(findings))})
    return found


def recorded(agreement_id: int) -> FinalLiquidation | None:
    return db.session.scalar(select(FinalLiquidation).where(FinalLiquidation.agreement_id == agreement_id))


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


# --- the decision ---------------------------------------------------------------------------

def _check_decider(actor: Actor, agreement: Agreement) -> None:
    user = actor.user
    if user is None:
        raise Forbidden()
    if Role.NGO in user.roles and user.organization_id != agreement.organization_id:
        raise NotFound()
    if not user.can(Permission.LIQUIDATION_DECIDE) or user.id != agreement.administrator_id:
        raise Forbidden(_l("Solo el administrador designado del convenio registra su liquidación final."))


def _clean(verdict, reasoning) -> tuple[str, str]:
    errors = FieldErrors()
    verdict = (verdict or "").strip() if isinstance(verdict, str) else ""
    if verdict not in VERDICTS:
        errors.add("verdict", _l("Elija el dictamen: cumple, cumple parcialmente o no cumple."))
    reasoning = (reasoning or "").strip() if isinstance(reasoning, str) else ""
    if not reasoning:
        errors.add("reasoning", _l("Explique el dictamen: la fundamentación es obligatoria."))
    elif len(reasoning) > REASONING_MAX:
        errors.add("reasoning", _l("Máximo %(n)s caracteres.", n=REASONING_MAX))
    errors.raise_if_any()
    return verdict, reasoning


def liquidate_agreement(actor: Actor, agreement_id: int, verdict: str, reasoning: str) -> FinalLiquidation:
    """The agreement's administrator records the final liquidation and its verdict; the agreement
    becomes ``liquidated``. Refused (409) while an advance is not liquidated, a payment is pending
    or a confirmed finding is unresolved."""
    agreement = db.session.get(Agreement, agreement_id, with_for_update=True) if agreement_id else None
    if agreement is None:
        raise NotFound()
    _check_decider(actor, agreement)
    verdict, reasoning = _clean(verdict, reasoning)
    if recorded(agreement.id) is not None:
        raise Conflict(_l("El convenio ya tiene su liquidación final."), code="already_liquidated")
    found = blockers(agreement)
    if found:
        raise NotReady(found)
    values = figures(agreement)
    liquidation = FinalLiquidation(
        agreement_id=agreement.id, organization_id=agreement.organization_id,
        assigned=values["assigned"], paid_directly=values["paid_directly"], advanced=values["advanced"],
        liquidated=values["liquidated"], refunded=values["refunded"], unspent=values["unspent"],
        beneficiaries_target=values["beneficiaries_target"],
        beneficiaries_validated=values["beneficiaries_validated"],
        beneficiaries_reached=values["beneficiaries_reached"],
        indicators=as_json(values)["indicators"], findings=values["findings"],
        verdict=verdict, reasoning=reasoning, decided_by_id=actor.user_id)
    db.session.add(liquidation)
    db.session.flush()
    record_event(db.session, actor, "final_liquidation.recorded", "final_liquidation", liquidation.id,
                 after=snapshot(liquidation), organization_id=agreement.organization_id)
    _change_state(actor, agreement, AgreementAction.LIQUIDATE, None, "agreement.liquidated")
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.AUDITOR),
           "agreement.liquidated", _l("Convenio %(number)s liquidado", number=agreement.number),
           _l("Dictamen: %(verdict)s. No ejecutado: $%(unspent)s.", verdict=VERDICT_LABELS[verdict],
              unspent=f"{values['unspent']:,.2f}"),
           link=f"/agreements/{agreement.id}/final-liquidation")
    return liquidation
