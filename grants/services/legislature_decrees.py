"""The headline of the report to the Assembly: by legislative decree, from what was legislated.

For each decree of the fiscal year (its allocations): **legislated** (the allocations' amounts),
**under agreements** (the amounts of the agreements signed on them), **executed** (direct payments
+ accepted receipts), **refunded** (confirmed refunds), **outstanding** (advanced and neither
justified nor refunded yet), **never transferred** (legislated − paid directly − advanced) and
**not executed** = legislated − executed. An allocation without an agreement is legislated money
that was not executed, entirely. The reconciliation shows the identities the figures obey:

    legislated = executed + refunded + outstanding + never transferred   (per decree and in total)
    not executed = refunded + outstanding + never transferred
    Σ decrees = the totals of the allocations, to the cent (G9)
"""
from __future__ import annotations

from grants.money import ZERO

FIGURES = ("legislated", "under_agreements", "without_agreement", "executed", "refunded", "outstanding",
           "never_transferred", "not_executed")


def _figures(rows: list[dict]) -> dict:
    legislated = sum((r["allocation_amount"] for r in rows), ZERO)
    under = sum((r["assigned"] for r in rows), ZERO)
    executed = sum((r["executed"] for r in rows), ZERO)
    refunded = sum((r["refunded"] for r in rows), ZERO)
    outstanding = sum((r["outstanding"] for r in rows), ZERO)
    transferred_gross = sum((r["paid_directly"] + r["advanced"] for r in rows), ZERO)
    return {"legislated": legislated, "under_agreements": under, "without_agreement": legislated - under,
            "executed": executed, "refunded": refunded, "outstanding": outstanding,
            "never_transferred": legislated - transferred_gross, "not_executed": legislated - executed,
            "allocations": len(rows), "agreements": sum(1 for r in rows if r["agreement_id"] is not None)}


def by_decree(rows: list[dict]) -> list[dict]:
    decrees: dict[str, list[dict]] = {}
    for r in rows:
        decrees.setdefault(r["decree_number"], []).append(r)
    return [{"decree_number": number, **_figures(members)} for number, members in sorted(decrees.items())]


def reconciliation(rows: list[dict], decrees: list[dict]) -> dict:
    """The checks a reader can redo with the report in hand; each says whether it holds."""
    total = _figures(rows)
    sums = {name: sum((d[name] for d in decrees), ZERO) for name in FIGURES}
    checks = [
        {"label": "Suma de los decretos = total de las asignaciones", "left": sums["legislated"],
         "right": total["legislated"]},
        {"label": "Legislado = ejecutado + reintegrado + anticipos por rendir + nunca transferido",
         "left": total["legislated"],
         "right": total["executed"] + total["refunded"] + total["outstanding"] + total["never_transferred"]},
        {"label": "No ejecutado = legislado − ejecutado", "left": total["not_executed"],
         "right": total["legislated"] - total["executed"]},
        {"label": "Suma por decreto de lo no ejecutado = total no ejecutado", "left": sums["not_executed"],
         "right": total["not_executed"]},
        {"label": "Legislado = bajo convenio + sin convenio", "left": total["legislated"],
         "right": total["under_agreements"] + total["without_agreement"]},
    ]
    for check in checks:
        check["holds"] = check["left"] == check["right"]
    return {"totals": total, "checks": checks, "holds": all(c["holds"] for c in checks)}
