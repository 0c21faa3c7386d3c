"""The public transparency portal's figures for a fiscal year (no login): read only, public data only.

The decrees, agreements and verdicts come from the report to the Assembly (``legislature.report_data``),
so the portal says what the report says; the NGO figures are the dashboard's (the ledger's). Only
public fields leave this module — organizations, agreements, decrees, amounts, suppliers paid
directly (a supplier identified by a personal DUI shows its name only) — never a beneficiary:
no names, documents or birth dates.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import Agreement, Allocation, Payment, Supplier
from grants.models.closing import VERDICTS
from grants.money import CENT
from grants.services import dashboard, legislature
from grants.workflows.payment import PaymentState

# Each row's verdict, as the portal names it (a final liquidation's, or the agreement's situation).
VERDICT_WORDS = {"cumple": _l("Cumple"), "cumple_parcialmente": _l("Cumple parcialmente"), "no_cumple": _l("No cumple"),
                 "en_ejecucion": _l("En ejecución"), "terminado": _l("Terminado sin liquidación"),
                 "sin_convenio": _l("Sin convenio")}
PUBLIC_ROW = ("decree_number", "organization_name", "organization_nit", "agreement_number", "agreement_status",
              "allocation_amount", "assigned", "executed", "verdict")


def years() -> list[int]:
    """The fiscal years that have allocations, latest first."""
    return list(db.session.scalars(select(Allocation.fiscal_year).distinct()
                                   .order_by(Allocation.fiscal_year.desc())).all())


def suppliers(year: int) -> list[dict]:
    """Direct payments executed in the year's agreements, by supplier (most paid first)."""
    rows = db.session.execute(
        select(Supplier.legal_name, Supplier.tax_id, Supplier.tax_id_type, func.count(Payment.id),
               func.sum(Payment.amount))
        .join(Supplier, Supplier.id == Payment.supplier_id)
        .join(Agreement, Agreement.id == Payment.agreement_id)
        .join(Allocation, Allocation.id == Agreement.allocation_id)
        .where(Allocation.fiscal_year == year, Payment.status == PaymentState.EXECUTED)
        .group_by(Supplier.legal_name, Supplier.tax_id, Supplier.tax_id_type)).all()
    out = [{"name": name, "nit": tax_id if kind == "nit" else None, "payments": n,
            "amount": Decimal(amount or 0).quantize(CENT)} for name, tax_id, kind, n, amount in rows]
    return sorted(out, key=lambda s: (-s["amount"], s["name"]))


def year_page(year: int) -> dict:
    year = legislature.check_year(year)
    data = legislature.report_data(year)
    rows = [{**{k: r[k] for k in PUBLIC_ROW}, "not_executed": r["assigned"] - r["executed"]} for r in data["rows"]]
    sent = legislature.sent_report(year)
    return {
        "year": year, "decrees": data["decrees"], "totals": data["reconciliation"]["totals"],
        "agreements": [r for r in rows if r["agreement_number"]],
        "without_agreement": [r for r in rows if not r["agreement_number"]],
        "execution": dashboard.execution(year), "suppliers": suppliers(year),
        "verdicts": [{"code": v, "label": VERDICT_WORDS[v], "count": data["totals"]["verdicts"][v]} for v in VERDICTS],
        "report_sent": sent.sent_at if sent is not None else None,
    }
