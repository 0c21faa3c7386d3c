"""The yearly report to the Legislative Assembly: plain data for a fiscal year, its three files
(PDF, XLSX, JSON) stored by SHA-256, and sending it (the year's liquidated agreements become
``reported``). Flush, never commit.

``report_data`` reads a whole year in a handful of grouped queries (never one per agreement): the
ledger's balance rows for the money, grouped counts for beneficiaries and findings. Every amount
reconciles to the ledger to the cent (G9).
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import clock
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import (
    Agreement,
    AgreementBalance,
    Allocation,
    AuditFinding,
    BudgetLineBalance,
    FinalLiquidation,
    LegislatureReport,
    Organization,
    PlanVersion,
)
from grants.models.base import utcnow
from grants.workflows.audit_check import FindingState
from grants.permissions import Permission
from grants.services import files, signing
from grants.services.agreements import _change_state
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from grants.services.liquidation_figures import beneficiary_counts, finding_counts, indicator_values
from grants.services.legislature_decrees import by_decree, reconciliation
from grants.services.legislature_rows import incident_counts, no_incidents, rule_names, signoffs
from grants.money import format_amount
from grants.workflows.agreement import AgreementAction, AgreementState
from grants.workflows.final_liquidation import FINAL as FINAL_LIQUIDATION
from grants.money import CENT, ZERO
from grants.workflows.assembly_report import ReportState

FOLDER = "legislature-reports"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "api" / "schemas" / "legislature-report.schema.json"
MINISTRY = "Ministerio de Justicia y Seguridad Pública"
AMOUNTS = ("allocation_amount", "assigned", "paid_directly", "advanced", "liquidated", "refunded", "unspent",
           "committed", "available", "executed", "outstanding", "fines_assessed", "fines_collected")
ROW_AMOUNTS = ("assigned", "paid_directly", "advanced", "liquidated", "refunded", "unspent", "committed", "available",
               "executed", "outstanding")
COUNTS = ("beneficiaries_target", "beneficiaries_validated", "beneficiaries_reached")
# Verdict of a row without a final liquidation: Spanish label by situation.
VERDICT_LABELS = {
    "cumple": "Cumple",
    "cumple_parcialmente": "Cumple parcialmente",
    "no_cumple": "No cumple",
    "en_ejecucion": "En ejecución",
    "terminado": "Terminado sin liquidación",
    "sin_convenio": "Sin convenio",
}
STATUS_LABELS = {
    "draft": "Borrador", "signed": "Firmado", "in_execution": "En ejecución", "suspended": "Suspendido",
    "closing": "En cierre", "liquidated": "Liquidado", "reported": "Informado a la Asamblea",
    "terminated": "Terminado",
}


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def check_year(year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise ValidationFailed(errors={"year": [_l("Indique un ejercicio fiscal entre 2000 y 2100.")]})
    return year


def _verdict(agreement_status: str | None, verdict: str | None) -> str:
    if verdict:
        return verdict
    if agreement_status is None:
        return "sin_convenio"
    if agreement_status == AgreementState.TERMINATED:
        return "terminado"
    return "en_ejecucion"


def report_data(fiscal_year: int) -> dict:
    """The year's report as plain data (Decimals, ints, dates): ``rows`` (one per allocation),
    ``totals``, ``findings_by_rule`` and ``ngos`` (assigned vs executed per NGO, for the chart)."""
    fiscal_year = check_year(fiscal_year)
    a, al, o, bal, fl = Agreement, Allocation, Organization, AgreementBalance, FinalLiquidation
    base = db.session.execute(
        select(al.id, al.decree_number, al.budget_line_code, al.amount, al.purpose, o.id.label("org_id"),
               o.legal_name, o.nit, a.id.label("agreement_id"), a.number, a.status, a.amount.label("agreement_amount"),
               a.start_date, a.end_date, PlanVersion.beneficiaries_target, bal.amount.label("ledger_amount"),
               bal.committed, bal.paid, bal.advanced, bal.refunded, bal.fines_assessed, bal.fines_collected,
               fl.verdict, fl.reasoning, fl.id.label("liquidation_id"))
        .join(o, o.id == al.organization_id)
        .outerjoin(a, a.allocation_id == al.id)
        .outerjoin(PlanVersion, PlanVersion.id == a.plan_version_id)
        .outerjoin(bal, bal.agreement_id == a.id)
        # the decided revision only: a proposal (or a revision sent back) is not the verdict yet
        .outerjoin(fl, (fl.agreement_id == a.id) & fl.status.in_(list(FINAL_LIQUIDATION)))
        .where(al.fiscal_year == fiscal_year)
        .order_by(o.legal_name, al.decree_number, al.id)).all()
    ids = [r.agreement_id for r in base if r.agreement_id is not None]
    liquidated = {k: _cents(v) for k, v in db.session.execute(
        select(BudgetLineBalance.agreement_id, func.sum(BudgetLineBalance.liquidated))
        .where(BudgetLineBalance.agreement_id.in_(ids)).group_by(BudgetLineBalance.agreement_id)).all()} if ids else {}
    people = beneficiary_counts(ids)
    indicators = indicator_values(ids)
    findings = finding_counts(ids)
    measures = incident_counts(ids)
    signed = signoffs([r.liquidation_id for r in base if r.liquidation_id is not None])
    rows = []
    for r in base:
        has = r.agreement_id is not None
        opened = r.ledger_amount is not None
        assigned = _cents(r.agreement_amount) if has else ZERO
        paid, advanced, refunded = (_cents(r.paid), _cents(r.advanced), _cents(r.refunded)) if opened else (ZERO,) * 3
        committed = _cents(r.committed) if opened else ZERO
        liq = liquidated.get(r.agreement_id, ZERO)
        verdict = _verdict(r.status, r.verdict)
        counts = findings.get(r.agreement_id) or {"total": 0, **{s.value: 0 for s in FindingState}, "by_rule": {}}
        rows.append({
            "allocation_id": r.id, "decree_number": r.decree_number, "budget_line_code": r.budget_line_code,
            "purpose": r.purpose, "organization_id": r.org_id, "organization_name": r.legal_name,
            "organization_nit": r.nit, "allocation_amount": _cents(r.amount),
            "agreement_id": r.agreement_id, "agreement_number": r.number, "agreement_status": r.status,
            "agreement_status_label": STATUS_LABELS.get(r.status, "Sin convenio") if has else "Sin convenio",
            "start_date": r.start_date, "end_date": r.end_date,
            "assigned": assigned, "paid_directly": paid, "advanced": advanced, "liquidated": liq,
            "refunded": refunded, "unspent": assigned - paid - liq, "committed": committed,
            "available": assigned - committed - (paid + advanced - refunded),
            "executed": paid + liq, "outstanding": advanced - liq - refunded,
            "beneficiaries_target": (r.beneficiaries_target or 0) if has else 0,
            "beneficiaries_validated": people.get(r.agreement_id, {}).get("validated", 0),
            "beneficiaries_reached": people.get(r.agreement_id, {}).get("reached", 0),
            "indicators": indicators.get(r.agreement_id, []),
            "verdict": verdict, "verdict_label": VERDICT_LABELS[verdict], "reasoning": r.reasoning,
            "findings": counts, "findings_by_rule_name": rule_names(counts["by_rule"]),
            "incidents": measures.get(r.agreement_id, no_incidents()),
            "fines_assessed": _cents(r.fines_assessed) if opened else ZERO,
            "fines_collected": _cents(r.fines_collected) if opened else ZERO,
            "signoffs": signed.get(r.liquidation_id, []),
        })
    decrees = by_decree(rows)
    return {"fiscal_year": fiscal_year, "ministry": MINISTRY, "generated_at": clock.now(),
            "generated_on": clock.today(), "rows": rows, "totals": _totals(rows), "decrees": decrees,
            "reconciliation": reconciliation(rows, decrees),
            "findings_by_rule": _by_rule(rows), "ngos": _per_ngo(rows)}


def _totals(rows: list[dict]) -> dict:
    totals: dict = {name: sum((r[name] for r in rows), ZERO) for name in AMOUNTS}
    totals.update({name: sum(r[name] for r in rows) for name in COUNTS})
    totals["allocations"] = len(rows)
    totals["agreements"] = sum(1 for r in rows if r["agreement_id"] is not None)
    totals["organizations"] = len({r["organization_id"] for r in rows})
    totals["findings"] = {k: sum(r["findings"][k] for r in rows) for k in ("total", *(s.value for s in FindingState))}
    totals["verdicts"] = {code: sum(1 for r in rows if r["verdict"] == code) for code in VERDICT_LABELS}
    return totals


def _by_rule(rows: list[dict]) -> list[dict]:
    """Findings of the year's agreements by rule and status (from the findings, not per row)."""
    ids = [r["agreement_id"] for r in rows if r["agreement_id"] is not None]
    if not ids:
        return []
    out: dict[str, dict] = {}
    for rule, severity, status, n in db.session.execute(
            select(AuditFinding.rule_code, AuditFinding.severity, AuditFinding.status, func.count())
            .where(AuditFinding.agreement_id.in_(ids))
            .group_by(AuditFinding.rule_code, AuditFinding.severity, AuditFinding.status)).all():
        entry = out.setdefault(rule, {"rule_code": rule, "rule": rule_names({rule: 0})[0]["rule"],
                                      "severity": severity, "total": 0, **{s.value: 0 for s in FindingState}})
        entry[status] += n
        entry["total"] += n
    return [out[k] for k in sorted(out)]


def _per_ngo(rows: list[dict]) -> list[dict]:
    by: dict[int, dict] = {}
    for r in rows:
        entry = by.setdefault(r["organization_id"], {"name": r["organization_name"], "nit": r["organization_nit"],
                                                     "assigned": ZERO, "executed": ZERO})
        entry["assigned"] += r["assigned"]
        entry["executed"] += r["executed"]
    return sorted(by.values(), key=lambda e: (-e["assigned"], e["name"]))


# --- JSON ------------------------------------------------------------------------------------

def _money(value) -> str | None:
    return None if value is None else format_amount(value)


def report_json(data: dict) -> dict:
    """The report as published JSON (amounts as strings with two decimals), valid against
    ``legislature-report.schema.json``."""
    def row(r: dict) -> dict:
        agreement = None
        if r["agreement_id"] is not None:
            agreement = {"number": r["agreement_number"], "status": r["agreement_status"],
                         "start_date": r["start_date"].isoformat(), "end_date": r["end_date"].isoformat()}
        return {
            "decree_number": r["decree_number"], "budget_line_code": r["budget_line_code"],
            "organization": {"name": r["organization_name"], "nit": r["organization_nit"]},
            "allocation_amount": _money(r["allocation_amount"]), "agreement": agreement,
            "amounts": {k: _money(r[k]) for k in ROW_AMOUNTS},
            "beneficiaries": {"target": r["beneficiaries_target"], "validated": r["beneficiaries_validated"],
                              "reached": r["beneficiaries_reached"]},
            "indicators": [{"name": i["name"], "unit": i["unit"], "baseline": _money(i["baseline"]),
                            "target": _money(i["target"]), "achieved": _money(i["achieved"])}
                           for i in r["indicators"]],
            "verdict": {"code": r["verdict"], "label": r["verdict_label"], "reasoning": r["reasoning"]},
            "findings": {k: r["findings"][k] for k in ("total", *(s.value for s in FindingState))},
            "findings_by_rule": r["findings_by_rule_name"],
            "incidents": r["incidents"],
            "fines": {"assessed": _money(r["fines_assessed"]), "collected": _money(r["fines_collected"])},
            "signoffs": [{"discipline": e["discipline"], "name": e["name"], "signed_on": e["signed_on"].isoformat()}
                         for e in r["signoffs"]],
        }

    def figures(entry: dict) -> dict:
        return {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in entry.items()}

    t = data["totals"]
    return {
        "fiscal_year": data["fiscal_year"], "ministry": data["ministry"], "currency": "USD",
        "generated_at": data["generated_at"].isoformat(timespec="seconds"),
        "decrees": [figures(d) for d in data["decrees"]],
        "reconciliation": {"totals": figures(data["reconciliation"]["totals"]),
                           "checks": [figures(c) for c in data["reconciliation"]["checks"]],
                           "holds": data["reconciliation"]["holds"]},
        "allocations": [row(r) for r in data["rows"]],
        "totals": {**{k: _money(t[k]) for k in AMOUNTS},
                   "beneficiaries": {"target": t["beneficiaries_target"], "validated": t["beneficiaries_validated"],
                                     "reached": t["beneficiaries_reached"]},
                   "allocations": t["allocations"], "agreements": t["agreements"],
                   "organizations": t["organizations"], "findings": t["findings"], "verdicts": t["verdicts"]},
        "findings_by_rule": data["findings_by_rule"],
    }


@cache
def published_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_json(document: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if the document does not follow the published schema."""
    import jsonschema

    jsonschema.validate(document, published_schema(), cls=jsonschema.Draft202012Validator)


def json_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


# --- files, generation and sending -----------------------------------------------------------

def build_file(data: dict, kind: str) -> bytes:
    """One of the report's files (``pdf``, ``xlsx`` or ``json``) from ``report_data``."""
    if kind == "pdf":
        from grants.reports.legislature_pdf import build_legislature_pdf

        return build_legislature_pdf(data)
    if kind == "xlsx":
        from grants.reports.legislature_xlsx import build_legislature_xlsx

        return build_legislature_xlsx(data)
    document = report_json(data)
    validate_json(document)
    return json_bytes(document)


def build_files(data: dict) -> dict[str, bytes]:
    return {kind: build_file(data, kind) for kind in ("pdf", "xlsx", "json")}


def _require(actor: Actor) -> None:
    if actor.user is None or not actor.user.can(Permission.LEGISLATURE_REPORTS):
        raise Forbidden(_l("Solo auditoría interna y la administración generan y envían el informe a la Asamblea."))


def sent_report(year: int) -> LegislatureReport | None:
    return db.session.scalar(select(LegislatureReport).where(LegislatureReport.fiscal_year == year,
                                                             LegislatureReport.status == ReportState.SENT))


def stored_file(report: LegislatureReport, kind: str) -> Path:
    return files.stored_path(FOLDER, getattr(report, f"{kind}_sha256"), f".{kind}")


def _generate(actor: Actor, year: int) -> tuple[LegislatureReport, dict]:
    year = check_year(year)
    if sent_report(year) is not None:
        raise Conflict(_l("El informe del ejercicio %(year)s ya fue enviado a la Asamblea.", year=year),
                       code="report_already_sent")
    data = report_data(year)
    if not data["rows"]:
        raise Conflict(_l("No hay asignaciones del ejercicio %(year)s: no hay nada que informar.", year=year),
                       code="empty_year")
    built = build_files(data)
    # the PDF is issued as the ministry: signed, recorded per fiscal year (grants/services/signing.py);
    # the same content as the year's last issued version gives that same signed file back
    built["pdf"] = signing.issue("legislature_report", ("fiscal_year", year), built["pdf"], actor=actor)
    stored = {kind: files.store(content, FOLDER, f".{kind}") for kind, content in built.items()}
    totals = report_json(data)["totals"]
    report = LegislatureReport(fiscal_year=year, status=ReportState.GENERATED, agreements=data["totals"]["agreements"],
                               totals=totals, pdf_sha256=stored["pdf"].sha256, xlsx_sha256=stored["xlsx"].sha256,
                               json_sha256=stored["json"].sha256, generated_by_id=actor.user_id)
    db.session.add(report)
    db.session.flush()
    return report, data


def generate_report(actor: Actor, year: int) -> LegislatureReport:
    """Build the year's three files, store them by SHA-256 and record their hashes."""
    _require(actor)
    report, _ = _generate(actor, year)
    record_event(db.session, actor, "legislature_report.generated", "legislature_report", report.id,
                 after=snapshot(report))
    return report


def send_report(actor: Actor, year: int) -> LegislatureReport:
    """Generate the files as they stand, mark them sent, and mark the year's liquidated agreements
    ``reported``. A year is sent once (a partial unique index backs this)."""
    _require(actor)
    report, data = _generate(actor, year)
    report.status, report.sent_at, report.sent_by_id = "sent", utcnow(), actor.user_id
    db.session.flush()
    ids = [r["agreement_id"] for r in data["rows"] if r["agreement_status"] == AgreementState.LIQUIDATED]
    reported = []
    for agreement in db.session.scalars(select(Agreement).where(Agreement.id.in_(ids)).order_by(Agreement.id)
                                        .with_for_update()).all() if ids else []:
        if agreement.status == AgreementState.LIQUIDATED:
            _change_state(actor, agreement, AgreementAction.REPORT, None, "agreement.reported")
            reported.append(agreement.number)
    record_event(db.session, actor, "legislature_report.sent", "legislature_report", report.id,
                 after={**snapshot(report), "reported_agreements": reported})
    return report


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
