"""What the report to the Assembly says of each agreement besides its money: the incidents and
sanctions, the findings by rule name, and the three disciplines that approved its final liquidation.
Each is one grouped query for the whole year (never one per agreement)."""
from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from grants import clock
from grants.extensions import db
from grants.models import Incident
from grants.models.followup import MEASURES
from grants.workflows.incident import MeasureState

DISCIPLINE_WORDS = {"legal": "Jurídica", "financial": "Financiera", "monitoring": "Seguimiento y contraloría"}


def signoffs(liquidation_ids) -> dict[int, list[dict]]:
    """{final liquidation id: the disciplines that approved it — who and on what day}."""
    from grants.models.closing import FinalLiquidationSignOff
    from grants.models.user import User

    out: dict[int, list[dict]] = {}
    ids = list(liquidation_ids)
    if not ids:
        return out
    order = {"legal": 0, "financial": 1, "monitoring": 2}
    for liquidation_id, discipline, name, at in db.session.execute(
            select(FinalLiquidationSignOff.final_liquidation_id, FinalLiquidationSignOff.discipline, User.full_name,
                   FinalLiquidationSignOff.signed_at)
            .join(User, User.id == FinalLiquidationSignOff.reviewer_id)
            .where(FinalLiquidationSignOff.final_liquidation_id.in_(ids),
                   FinalLiquidationSignOff.decision == "approve")).all():
        out.setdefault(liquidation_id, []).append({
            "discipline": discipline, "discipline_label": DISCIPLINE_WORDS.get(discipline, discipline),
            "name": name, "signed_on": clock.local_day(at)})
    for entries in out.values():
        entries.sort(key=lambda e: order.get(e["discipline"], 9))
    return out


def no_incidents() -> dict:
    return {"total": 0, **{m: 0 for m in MEASURES}, "pending": 0}


def incident_counts(agreement_ids) -> dict[int, dict]:
    """{agreement id: incidents by measure (and how many measures still wait for the NGO's reply)}."""
    out: dict[int, dict] = {}
    ids = list(agreement_ids)
    if not ids:
        return out
    for agreement_id, measure, status, n in db.session.execute(
            select(Incident.agreement_id, Incident.measure, Incident.measure_status, func.count())
            .where(Incident.agreement_id.in_(ids))
            .group_by(Incident.agreement_id, Incident.measure, Incident.measure_status)).all():
        entry = out.setdefault(agreement_id, no_incidents())
        entry["total"] += n
        entry[measure] += n
        if status == MeasureState.PENDING_REPLY:
            entry["pending"] += n
    return out


def rule_names(by_rule: dict) -> list[dict]:
    """Findings of an agreement by rule, named as the auditors name them (not by code)."""
    from grants.audit.rules import RULES_BY_CODE

    with force_locale("es"):
        return [{"rule": str(RULES_BY_CODE[code].title) if code in RULES_BY_CODE else code, "count": n}
                for code, n in sorted(by_rule.items())]
