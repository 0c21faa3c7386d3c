"""Liquidation rules on direct payments, budget lines and transfers."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date
from sqlalchemy.orm import Session

from grants import formats
from grants.audit.rules_base import MONEY, FindingRow, Rule, RuleSettings, Scope, money, receipt_sums, rows
from grants.models.base import UTCDateTime
from grants.money import ZERO



def payment_supplier_not_validated(reader: Session, scope: Scope, settings: RuleSettings):
    """An executed payment whose supplier version was not validated when the payment was executed:
    never decided, decided after the execution, rejected, or already superseded by a newer version
    (the version's successor was created before the execution)."""
    condition, params = scope.sql("p.agreement_id")
    found = rows(reader, f"""
        SELECT p.id, p.agreement_id, p.organization_id, ag.number, p.amount, p.executed_at, p.transfer_date,
               s.id AS supplier_id, s.legal_name, s.tax_id, s.version, s.status AS supplier_status, s.decided_at,
               s.decision_reason, nxt.created_at AS superseded_at
        FROM payments p
        JOIN suppliers s ON s.id = p.supplier_id
        JOIN agreements ag ON ag.id = p.agreement_id
        LEFT JOIN suppliers nxt ON nxt.supersedes_id = s.id
        WHERE p.status = 'executed' AND {condition}
          AND NOT (s.status IN ('validated', 'superseded') AND s.decided_at IS NOT NULL
                   AND s.decided_at <= p.executed_at AND (s.status = 'validated' OR s.decision_reason IS NULL)
                   AND (nxt.id IS NULL OR nxt.created_at > p.executed_at))
        ORDER BY p.id""", params, amount=MONEY, executed_at=UTCDateTime(), decided_at=UTCDateTime(),
        superseded_at=UTCDateTime(), transfer_date=Date())
    for r in found:
        if r["supplier_status"] == "rejected" or (r["supplier_status"] == "superseded" and r["decision_reason"]):
            reason, text_ = "rejected", "estaba rechazado"
        elif r["decided_at"] is None:
            reason, text_ = "never_validated", "nunca fue validado"
        elif r["decided_at"] > r["executed_at"]:
            reason, text_ = "validated_after_payment", f"se validó después ({formats.day(r['decided_at'], '—')})"
        else:
            reason, text_ = "superseded_before_payment", "ya había sido reemplazado por una versión nueva"
        yield FindingRow(
            "payment_supplier_not_validated", "high", r["agreement_id"], r["organization_id"], "payment", str(r["id"]),
            f"Pago {r['id']} de {formats.usd(money(r['amount']))} (convenio {r['number']}) ejecutado el "
            f"{formats.day(r['executed_at'], '—')} a {r['legal_name']} ({r['tax_id']}), versión {r['version']}, que {text_}.",
            {"agreement": r["number"], "supplier_id": r["supplier_id"], "supplier_tax_id": r["tax_id"],
             "supplier_version": r["version"], "supplier_status": r["supplier_status"], "reason": reason,
             "supplier_decided_at": r["decided_at"], "superseded_at": r["superseded_at"],
             "executed_at": r["executed_at"], "transfer_date": r["transfer_date"], "amount": money(r["amount"])},
            money(r["amount"]))


def budget_line_overspent(reader: Session, scope: Scope, settings: RuleSettings):
    """A budget line whose spending recomputed from the transactions (executed payment lines plus
    accepted receipts) passes the amount the plan version approved."""
    condition_p, params = scope.sql("p.agreement_id")
    # Each branch is summed per (agreement, budget line) first (a hash aggregate to one row per
    # line), so only ~5 rows per agreement are joined to their labels and grouped again.
    found = rows(reader, f"""
        WITH spent AS (
            SELECT p.agreement_id, pl.budget_line_id, SUM(pl.payable) AS paid, 0 AS liquidated
            FROM payment_lines pl JOIN payments p ON p.id = pl.payment_id
            WHERE p.status = 'executed' AND {condition_p}
            GROUP BY p.agreement_id, pl.budget_line_id
            UNION ALL
            SELECT s.agreement_id, s.budget_line_id, 0, SUM(s.amount)
            FROM {receipt_sums(scope, settings)} s WHERE s.status = 'accepted'
            GROUP BY s.agreement_id, s.budget_line_id)
        SELECT s.agreement_id, ag.organization_id, ag.number, bl.id AS budget_line_id, bl.number AS line_number,
               bl.category, bl.amount AS approved, ROUND(SUM(s.paid), 2) AS paid,
               ROUND(SUM(s.liquidated), 2) AS liquidated
        FROM spent s JOIN agreements ag ON ag.id = s.agreement_id
        JOIN plan_budget_lines bl ON bl.id = s.budget_line_id
        GROUP BY s.agreement_id, ag.organization_id, ag.number, bl.id, bl.number, bl.category, bl.amount
        HAVING ROUND(SUM(s.paid) + SUM(s.liquidated), 2) > bl.amount
        ORDER BY s.agreement_id, bl.number""", params, approved=MONEY, paid=MONEY, liquidated=MONEY)
    for r in found:
        spent = money(r["paid"] + r["liquidated"])
        over = money(spent - r["approved"])
        yield FindingRow(
            "budget_line_overspent", "high", r["agreement_id"], r["organization_id"], "budget_line",
            f"{r['agreement_id']}:{r['budget_line_id']}",
            f"Convenio {r['number']}, línea {r['line_number']} ({r['category']}): gastado {formats.usd(spent)} de "
            f"{formats.usd(money(r['approved']))} aprobados; excede en {formats.usd(over)}.",
            {"agreement": r["number"], "budget_line": r["line_number"], "category": r["category"],
             "approved": money(r["approved"]), "paid": money(r["paid"]), "liquidated": money(r["liquidated"]),
             "spent": spent, "excess": over},
            over)


def split_invoices(reader: Session, scope: Scope, settings: RuleSettings):
    """Invoices of one supplier on one agreement, each under AUDIT_SPLIT_INVOICE_THRESHOLD, issued
    within AUDIT_SPLIT_INVOICE_DAYS of the first of them, that together pass the threshold. Each
    series is reported once, from its first invoice (series do not overlap)."""
    condition, params = scope.sql("i.agreement_id")
    small = (f"SELECT i.id, i.agreement_id, i.organization_id, i.supplier_tax_id, i.issue_date, i.total, i.number "
             f"FROM invoices i WHERE i.status != 'voided' AND i.total < :threshold AND {condition}")
    params = {"threshold": settings.split_invoice_threshold, **params}
    days = settings.split_invoice_days
    # One sort per (agreement, supplier): the window sums the invoices of the next ``days`` days.
    anchors = rows(reader, f"""
        WITH small AS ({small}),
        windows AS (
            SELECT s.id, s.agreement_id, s.supplier_tax_id, s.issue_date,
                   COUNT(*) OVER w AS invoices, SUM(s.total) OVER w AS window_total
            FROM small s
            WINDOW w AS (PARTITION BY s.agreement_id, s.supplier_tax_id {settings.days_window('s.issue_date', days)}))
        SELECT id, agreement_id, supplier_tax_id, issue_date FROM windows
        WHERE invoices > 1 AND ROUND(window_total, 2) > :threshold
        ORDER BY agreement_id, supplier_tax_id, issue_date, id""", params, issue_date=Date())
    if not anchors:
        return
    agreements = sorted({a["agreement_id"] for a in anchors})
    members = rows(reader, f"""
        WITH small AS ({small})
        SELECT s.*, ag.number AS agreement_number FROM small s JOIN agreements ag ON ag.id = s.agreement_id
        WHERE s.agreement_id IN ({", ".join(str(int(x)) for x in agreements)})
        ORDER BY s.issue_date, s.id""", params, issue_date=Date(), total=MONEY)
    by_pair: dict[tuple, list] = defaultdict(list)
    for m in members:
        by_pair[(m["agreement_id"], m["supplier_tax_id"])].append(m)
    covered_until: dict[tuple, object] = {}
    for a in anchors:
        pair = (a["agreement_id"], a["supplier_tax_id"])
        if pair in covered_until and a["issue_date"] <= covered_until[pair]:
            continue  # inside a series already reported
        until = a["issue_date"] + timedelta(days=days)
        series = [m for m in by_pair[pair] if a["issue_date"] <= m["issue_date"] <= until]
        covered_until[pair] = until
        total = money(sum((m["total"] for m in series), ZERO))
        first = series[0]
        yield FindingRow(
            "split_invoices", "medium", first["agreement_id"], first["organization_id"], "invoice_series",
            str(a["id"]),
            f"Convenio {first['agreement_number']}: {len(series)} facturas del proveedor {a['supplier_tax_id']}, "
            f"cada una bajo {formats.usd(settings.split_invoice_threshold)}, emitidas entre el "
            f"{formats.day(series[0]['issue_date'], '—')} y el {formats.day(series[-1]['issue_date'], '—')}, suman {formats.usd(total)}.",
            {"agreement": first["agreement_number"], "supplier_tax_id": a["supplier_tax_id"],
             "threshold": settings.split_invoice_threshold, "days": days, "total": total,
             "invoices": [{"id": m["id"], "number": m["number"], "issue_date": m["issue_date"],
                           "total": money(m["total"])} for m in series]},
            total)


def supplier_concentration(reader: Session, scope: Scope, settings: RuleSettings):
    """One supplier (by NIT/DUI) taking more than AUDIT_SUPPLIER_SHARE of an agreement's spending
    (executed direct payments plus accepted receipts)."""
    condition_p, params = scope.sql("p.agreement_id")
    # The receipts' side comes from the run's receipt sums (rules_base.receipt_sums).
    found = rows(reader, f"""
        WITH spend AS (
            SELECT p.agreement_id, i.supplier_tax_id AS tax_id, s.legal_name AS name, p.amount
            FROM payments p JOIN invoices i ON i.id = p.invoice_id JOIN suppliers s ON s.id = p.supplier_id
            WHERE p.status = 'executed' AND {condition_p}
            UNION ALL
            SELECT s.agreement_id, s.supplier_tax_id, MAX(s.supplier_name), SUM(s.amount)
            FROM {receipt_sums(scope, settings)} s WHERE s.status = 'accepted'
            GROUP BY s.agreement_id, s.supplier_tax_id),
        by_supplier AS (SELECT agreement_id, tax_id, MAX(name) AS name, ROUND(SUM(amount), 2) AS amount
                        FROM spend GROUP BY agreement_id, tax_id),
        totals AS (SELECT agreement_id, ROUND(SUM(amount), 2) AS total, COUNT(*) AS suppliers
                   FROM by_supplier GROUP BY agreement_id)
        SELECT b.agreement_id, b.tax_id, b.name, b.amount, t.total, t.suppliers, ag.number, ag.organization_id
        FROM by_supplier b JOIN totals t ON t.agreement_id = b.agreement_id
        JOIN agreements ag ON ag.id = b.agreement_id
        ORDER BY b.agreement_id, b.tax_id""", params, amount=MONEY, total=MONEY)
    for r in found:
        amount, total = money(r["amount"]), money(r["total"])
        if total <= 0 or amount <= settings.supplier_share * total:
            continue
        share = (amount / total).quantize(Decimal("0.0001"))
        yield FindingRow(
            "supplier_concentration", "medium", r["agreement_id"], r["organization_id"], "agreement_supplier",
            f"{r['agreement_id']}:{r['tax_id']}",
            f"Convenio {r['number']}: {r['name']} ({r['tax_id']}) recibe {formats.usd(amount)} de "
            f"{formats.usd(total)} gastados ({share:.0%}; límite {settings.supplier_share:.0%}).",
            {"agreement": r["number"], "supplier_tax_id": r["tax_id"], "supplier_name": r["name"],
             "amount": amount, "agreement_spending": total, "share": share,
             "threshold_share": settings.supplier_share, "suppliers": r["suppliers"]},
            amount)


def money_after_suspension(reader: Session, scope: Scope, settings: RuleSettings):
    """A direct payment executed or an advance disbursed while the agreement was suspended (between
    a suspension and the next status change) or after it was terminated, from the status history."""
    c_c, params = scope.sql("c.agreement_id")
    c_p, _ = scope.sql("p.agreement_id")
    c_a, _ = scope.sql("a.agreement_id")
    found = rows(reader, f"""
        WITH changes AS (
            SELECT c.agreement_id, c.to_status, c.at AS since,
                   LEAD(c.at) OVER (PARTITION BY c.agreement_id ORDER BY c.at, c.id) AS until
            FROM agreement_status_changes c WHERE {c_c}),
        stops AS (SELECT * FROM changes WHERE to_status IN ('suspended', 'terminated')),
        moves AS (
            SELECT 'payment' AS kind, p.id, p.agreement_id, p.organization_id, p.amount, p.executed_at AS moved_at,
                   p.transfer_date
            FROM payments p WHERE p.status = 'executed' AND {c_p}
            UNION ALL
            SELECT 'advance', a.id, a.agreement_id, a.organization_id, a.amount, a.disbursed_at, a.transfer_date
            FROM advances a WHERE a.status IN ('disbursed', 'liquidated') AND {c_a})
        SELECT m.*, s.to_status, s.since, s.until, ag.number
        FROM moves m JOIN stops s ON s.agreement_id = m.agreement_id AND m.moved_at >= s.since
             AND (s.until IS NULL OR m.moved_at < s.until)
        JOIN agreements ag ON ag.id = m.agreement_id
        ORDER BY m.kind, m.id""", params, amount=MONEY, moved_at=UTCDateTime(), since=UTCDateTime(),
        until=UTCDateTime(), transfer_date=Date())
    for r in found:
        what = f"Pago {r['id']} ejecutado" if r["kind"] == "payment" else f"Anticipo {r['id']} desembolsado"
        state = "suspendido" if r["to_status"] == "suspended" else "terminado"
        yield FindingRow(
            "money_after_suspension", "high", r["agreement_id"], r["organization_id"], r["kind"], str(r["id"]),
            f"{what} el {formats.day(r['moved_at'], '—')} por {formats.usd(money(r['amount']))} con el convenio {r['number']} "
            f"{state} (desde el {formats.day(r['since'], '—')}).",
            {"agreement": r["number"], "kind": r["kind"], "amount": money(r["amount"]), "moved_at": r["moved_at"],
             "transfer_date": r["transfer_date"], "agreement_status": r["to_status"], "since": r["since"],
             "until": r["until"]},
            money(r["amount"]))


def transfers_above_allocation(reader: Session, scope: Scope, settings: RuleSettings):
    """Transfers (executed payments + disbursed advances − refunds) above the allocation's amount
    (all its agreements together), or above the agreement's own amount."""
    c_p, params = scope.sql("p.agreement_id")
    c_a, _ = scope.sql("a.agreement_id")
    c_r, _ = scope.sql("r.agreement_id")
    found = rows(reader, f"""
        WITH moved AS (
            SELECT p.agreement_id, p.amount FROM payments p WHERE p.status = 'executed' AND {c_p}
            UNION ALL
            SELECT a.agreement_id, a.amount FROM advances a WHERE a.status IN ('disbursed', 'liquidated') AND {c_a}
            UNION ALL
            SELECT r.agreement_id, -r.amount FROM refunds r WHERE {c_r}),
        per_agreement AS (SELECT agreement_id, ROUND(SUM(amount), 2) AS transferred FROM moved GROUP BY agreement_id)
        SELECT ag.id, ag.number, ag.organization_id, ag.amount AS agreement_amount, ag.allocation_id,
               al.amount AS allocation_amount, al.decree_number, al.fiscal_year, t.transferred
        FROM per_agreement t JOIN agreements ag ON ag.id = t.agreement_id
        JOIN allocations al ON al.id = ag.allocation_id
        ORDER BY ag.allocation_id, ag.id""", params, agreement_amount=MONEY, allocation_amount=MONEY,
        transferred=MONEY)
    allocations: dict[int, list] = defaultdict(list)
    for r in found:
        allocations[r["allocation_id"]].append(r)
        transferred, amount = money(r["transferred"]), money(r["agreement_amount"])
        if transferred > amount:
            yield FindingRow(
                "transfers_above_allocation", "high", r["id"], r["organization_id"], "agreement", str(r["id"]),
                f"Convenio {r['number']}: transferido {formats.usd(transferred)}, más que su monto "
                f"{formats.usd(amount)} (exceso {formats.usd(transferred - amount)}).",
                {"agreement": r["number"], "transferred": transferred, "agreement_amount": amount,
                 "excess": transferred - amount},
                transferred - amount)
    for allocation_id, agreements in allocations.items():
        first = agreements[0]
        transferred = money(sum((money(r["transferred"]) for r in agreements), ZERO))
        amount = money(first["allocation_amount"])
        if transferred > amount:
            yield FindingRow(
                "transfers_above_allocation", "high", first["id"], first["organization_id"], "allocation",
                str(allocation_id),
                f"Asignación {first['decree_number']} ({first['fiscal_year']}): transferido {formats.usd(transferred)}, "
                f"más que lo asignado {formats.usd(amount)} (exceso {formats.usd(transferred - amount)}).",
                {"decree": first["decree_number"], "fiscal_year": first["fiscal_year"], "allocation_amount": amount,
                 "transferred": transferred, "excess": transferred - amount,
                 "agreements": [{"agreement": r["number"], "transferred": money(r["transferred"])} for r in agreements]},
                transferred - amount)


RULES = [
    Rule("payment_supplier_not_validated", "high", _l("Pago a proveedor no validado en ese momento"),
         _l("Pagos ejecutados cuya versión del proveedor no estaba validada cuando se ejecutaron: nunca decidida, "
         "validada después del pago, rechazada o ya reemplazada por otra versión (p. ej., otra cuenta bancaria)."),
         _l("El ministerio paga solo a proveedores revisados; pagar a una versión no validada es pagar a una cuenta "
         "que nadie verificó."), payment_supplier_not_validated),
    Rule("budget_line_overspent", "high", _l("Línea presupuestaria sobregirada"),
         _l("Líneas cuyo gasto recalculado desde las transacciones (pagos ejecutados + comprobantes aceptados) "
         "supera el monto aprobado en el plan."),
         _l("El plan aprobado fija cuánto se gasta en cada rubro; excederlo es gastar sin aprobación. Es una red de "
         "seguridad sobre el libro mayor."), budget_line_overspent),
    Rule("split_invoices", "medium", _l("Facturas fraccionadas"),
         _l("Facturas del mismo proveedor en el mismo convenio, cada una bajo AUDIT_SPLIT_INVOICE_THRESHOLD, emitidas "
         "dentro de AUDIT_SPLIT_INVOICE_DAYS días, que juntas superan ese umbral."),
         _l("Fraccionar una compra evita los controles que aplican a montos mayores."), split_invoices),
    Rule("supplier_concentration", "medium", _l("Concentración en un proveedor"),
         _l("Un proveedor (por NIT/DUI) que recibe más de AUDIT_SUPPLIER_SHARE del gasto del convenio (pagos directos "
         "ejecutados + comprobantes aceptados)."),
         _l("Un solo proveedor con la mayor parte del dinero sugiere direccionamiento o un intermediario."),
         supplier_concentration),
    Rule("money_after_suspension", "high", _l("Dinero movido con el convenio suspendido o terminado"),
         _l("Pagos ejecutados o anticipos desembolsados mientras el convenio estaba suspendido o después de su "
         "terminación, según el historial de estados."),
         _l("La suspensión detiene todo desembolso; un movimiento en ese período rompe la medida tomada."),
         money_after_suspension),
    Rule("transfers_above_allocation", "high", _l("Transferencias por encima de lo asignado"),
         _l("Transferencias (pagos ejecutados + anticipos desembolsados − reintegros) mayores que el monto de la "
         "asignación (decreto) o que el monto del convenio."),
         _l("Nadie puede recibir más de lo que la Asamblea asignó ni de lo que se firmó."),
         transfers_above_allocation),
]
