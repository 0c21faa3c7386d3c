"""The ministry's dashboard for a fiscal year: plain data computed with grouped SQL, read only.

Money comes from the ledger's balance rows (``AgreementBalance`` and the budget lines' liquidated
column), exactly as ``grants.services.ledger.balances`` reads them for one agreement: **assigned**
is the ledger's amount (the agreement's amount before its ledger opens), **executed** is paid
directly + accepted receipts, **not executed** = assigned − executed. Every agreement of the
year's allocations counts, as in the report to the Assembly; the department is the NGO's. The
totals are sums of the NGO rows, so they equal the ledger by construction (and a test checks it
agreement by agreement). People are counted, never listed: no name, document or birth date leaves.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import clock
from grants.extensions import db
from grants.labels import FINDING_STATE_LABELS
from grants.models import (
    Advance,
    Agreement,
    AgreementBalance,
    Allocation,
    AuditFinding,
    Beneficiary,
    BudgetLineBalance,
    Enrollment,
    Organization,
    Payment,
)
from grants.money import CENT, ZERO
from grants.services.legislature import check_year
from grants.services.liquidation_figures import reached_in_term
from grants.validation.territory import municipalities
from grants.workflows.advance import AdvanceState
from grants.workflows.payment import COMMITTED_STATES as PAYMENTS_IN_FLIGHT
from grants.workflows.payment import PaymentState

# Age on the last day of the fiscal year: (lowest age, highest age or None, label).
AGE_BANDS = ((0, 17, _l("0 a 17 años")), (18, 29, _l("18 a 29 años")), (30, 44, _l("30 a 44 años")),
             (45, 59, _l("45 a 59 años")), (60, None, _l("60 años y más")))
SEX_LABELS = {"F": _l("Mujeres"), "M": _l("Hombres")}
OVERDUE_SHOWN = 20


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _year_agreements(year: int):
    """The agreements of the year's allocations (a select of their ids)."""
    return (select(Agreement.id).join(Allocation, Allocation.id == Agreement.allocation_id)
            .where(Allocation.fiscal_year == year))


def _figures(assigned: Decimal, executed: Decimal) -> dict:
    return {"assigned": assigned, "executed": executed, "not_executed": assigned - executed}


def execution(year: int) -> dict:
    """Assigned, executed and not executed by NGO, by department and in total."""
    year = check_year(year)
    liquidated = (select(BudgetLineBalance.agreement_id.label("agreement_id"),
                         func.sum(BudgetLineBalance.liquidated).label("liquidated"))
                  .group_by(BudgetLineBalance.agreement_id).subquery())
    bal = AgreementBalance
    rows = db.session.execute(
        select(Organization.id, Organization.legal_name, Organization.municipality_code,
               func.count(Agreement.id).label("agreements"),
               func.sum(func.coalesce(bal.amount, Agreement.amount)).label("assigned"),
               func.sum(func.coalesce(bal.paid, 0) + func.coalesce(liquidated.c.liquidated, 0)).label("executed"))
        .select_from(Agreement)
        .join(Allocation, Allocation.id == Agreement.allocation_id)
        .join(Organization, Organization.id == Agreement.organization_id)
        .outerjoin(bal, bal.agreement_id == Agreement.id)
        .outerjoin(liquidated, liquidated.c.agreement_id == Agreement.id)
        .where(Allocation.fiscal_year == year)
        .group_by(Organization.id, Organization.legal_name, Organization.municipality_code)).all()
    places = municipalities()
    ngos = []
    for r in rows:
        place = places.get(r.municipality_code, {})
        ngos.append({"organization_id": r.id, "name": r.legal_name, "agreements": r.agreements,
                     "department_code": place.get("department_code", ""),
                     "department": place.get("department_name", r.municipality_code),
                     **_figures(_cents(r.assigned), _cents(r.executed))})
    ngos.sort(key=lambda n: (-n["assigned"], n["name"]))
    departments: dict[str, dict] = {}
    for n in ngos:
        d = departments.setdefault(n["department_code"], {"code": n["department_code"], "name": n["department"],
                                                          "ngos": 0, "assigned": ZERO, "executed": ZERO})
        d["ngos"] += 1
        d["assigned"] += n["assigned"]
        d["executed"] += n["executed"]
    by_department = sorted(({**d, "not_executed": d["assigned"] - d["executed"]} for d in departments.values()),
                           key=lambda d: (-d["assigned"], d["name"]))
    total = _figures(sum((n["assigned"] for n in ngos), ZERO), sum((n["executed"] for n in ngos), ZERO))
    total["agreements"] = sum(n["agreements"] for n in ngos)
    return {"ngos": ngos, "departments": by_department, "total": total}


def overdue_advances(year: int) -> dict:
    """Advances disbursed whose statement was due before today and are not liquidated yet."""
    year = check_year(year)
    today = clock.today()
    outstanding = Advance.amount - Advance.liquidated_amount - Advance.refunded_amount
    where = (Advance.status == AdvanceState.DISBURSED, Advance.liquidation_due < today,
             Advance.agreement_id.in_(_year_agreements(year)))
    count, amount = db.session.execute(select(func.count(), func.sum(outstanding)).where(*where)).one()
    shown = db.session.execute(
        select(Advance.id, Advance.tranche_number, Advance.liquidation_due, outstanding.label("outstanding"),
               Agreement.id.label("agreement_id"), Agreement.number, Organization.legal_name)
        .join(Agreement, Agreement.id == Advance.agreement_id)
        .join(Organization, Organization.id == Agreement.organization_id)
        .where(*where).order_by(Advance.liquidation_due, Advance.id).limit(OVERDUE_SHOWN)).all()
    items = [{"advance_id": a.id, "tranche": a.tranche_number, "due": a.liquidation_due,
              "days": (today - a.liquidation_due).days, "outstanding": _cents(a.outstanding),
              "agreement_id": a.agreement_id, "agreement_number": a.number, "organization": a.legal_name}
             for a in shown]
    return {"count": count, "amount": _cents(amount), "advances": items}


def payments_in_flight(year: int) -> list[dict]:
    """Direct payments prepared or authorized (not executed yet): count and amount by state."""
    year = check_year(year)
    found = dict((status, (n, amount)) for status, n, amount in db.session.execute(
        select(Payment.status, func.count(), func.sum(Payment.amount))
        .where(Payment.status.in_(PAYMENTS_IN_FLIGHT), Payment.agreement_id.in_(_year_agreements(year)))
        .group_by(Payment.status)).all())
    return [{"status": state, "count": found.get(state, (0, 0))[0], "amount": _cents(found.get(state, (0, 0))[1])}
            for state in (PaymentState.PREPARED, PaymentState.AUTHORIZED)]


def _band(age: int):
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return AGE_BANDS[0][2]  # born after the year ended: counted with the youngest


def beneficiaries(year: int) -> dict:
    """People reached (enrollments active on a day of their agreement's term) by sex, age band and
    municipality: counts only."""
    year = check_year(year)
    birth_year = func.extract("year", Beneficiary.birth_date)
    rows = db.session.execute(
        select(Beneficiary.sex, Beneficiary.municipality_code, birth_year.label("born"), func.count())
        .select_from(Enrollment)
        .join(Agreement, Agreement.id == Enrollment.agreement_id)
        .join(Allocation, Allocation.id == Agreement.allocation_id)
        .join(Beneficiary, Beneficiary.id == Enrollment.beneficiary_id)
        .where(Allocation.fiscal_year == year, reached_in_term())
        .group_by(Beneficiary.sex, Beneficiary.municipality_code, birth_year)).all()
    sex: dict[str, int] = {}
    bands = {str(label): 0 for _, _, label in AGE_BANDS}
    places: dict[str, int] = {}
    for s, code, born, n in rows:
        sex[s] = sex.get(s, 0) + n
        bands[str(_band(year - int(born)))] += n
        places[code] = places.get(code, 0) + n
    known = municipalities()
    return {
        "total": sum(sex.values()),
        "by_sex": [{"code": s, "label": SEX_LABELS.get(s, s), "count": n} for s, n in sorted(sex.items())],
        "by_age": [{"label": label, "count": n} for label, n in bands.items()],
        "by_municipality": sorted(({"code": code, "count": n,
                                    "label": (f"{known[code]['name']}, {known[code]['department_name']}"
                                              if code in known else code)} for code, n in places.items()),
                                  key=lambda m: (-m["count"], m["label"])),
    }


def findings(year: int) -> dict:
    """Findings of the year's agreements by rule and state (counts; rule titles from the catalogue)."""
    from grants.audit.rules import RULES_BY_CODE

    year = check_year(year)
    rows = db.session.execute(
        select(AuditFinding.rule_code, AuditFinding.status, func.count())
        .where(AuditFinding.agreement_id.in_(_year_agreements(year)))
        .group_by(AuditFinding.rule_code, AuditFinding.status)).all()
    rules: dict[str, dict] = {}
    for code, status, n in rows:
        entry = rules.setdefault(code, {"code": code, "total": 0, **{s: 0 for s in FINDING_STATE_LABELS},
                                        "title": RULES_BY_CODE[code].title if code in RULES_BY_CODE else code})
        entry[status] += n
        entry["total"] += n
    by_rule = [rules[k] for k in sorted(rules)]
    totals = {s: sum(r[s] for r in by_rule) for s in ("total", *FINDING_STATE_LABELS)}
    return {"by_rule": by_rule, "totals": totals, "states": list(FINDING_STATE_LABELS)}


def dashboard(year: int) -> dict:
    year = check_year(year)
    return {"year": year, "execution": execution(year), "overdue": overdue_advances(year),
            "in_flight": payments_in_flight(year), "beneficiaries": beneficiaries(year), "findings": findings(year)}
