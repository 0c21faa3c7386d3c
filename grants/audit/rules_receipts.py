"""Liquidation rules on advances and the receipts that account for them."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date
from sqlalchemy.orm import Session

from grants import formats
from grants.audit.rules_base import MONEY, FindingRow, Rule, RuleSettings, Scope, as_date, money, receipt_sums, rows
from grants.models.base import UTCDateTime


def advance_overdue(reader: Session, scope: Scope, settings: RuleSettings):
    """A disbursed advance whose expense statement was due (``liquidation_due``) before today and
    that still has money not accounted for by accepted receipts or refunds."""
    condition, params = scope.sql("a.agreement_id")
    found = rows(reader, f"""
        SELECT a.id, a.agreement_id, a.organization_id, ag.number, a.tranche_number, a.amount,
               a.liquidated_amount, a.refunded_amount, a.transfer_date, a.liquidation_due
        FROM advances a JOIN agreements ag ON ag.id = a.agreement_id
        WHERE a.status = 'disbursed' AND a.liquidation_due < :today
          AND ROUND(a.amount - a.liquidated_amount - a.refunded_amount, 2) > 0 AND {condition}
        ORDER BY a.id""", {"today": settings.today, **params},
        amount=MONEY, liquidated_amount=MONEY, refunded_amount=MONEY, transfer_date=Date(), liquidation_due=Date())
    for r in found:
        outstanding = money(r["amount"] - r["liquidated_amount"] - r["refunded_amount"])
        days = (settings.today - r["liquidation_due"]).days
        yield FindingRow(
            "advance_overdue", "high", r["agreement_id"], r["organization_id"], "advance", str(r["id"]),
            f"Anticipo {r['tranche_number']} del convenio {r['number']}: {formats.usd(outstanding)} sin liquidar; "
            f"la liquidación vencía el {formats.day(r['liquidation_due'], '—')} ({days} días de atraso).",
            {"agreement": r["number"], "tranche": r["tranche_number"], "disbursed": money(r["amount"]),
             "transfer_date": r["transfer_date"], "liquidated": money(r["liquidated_amount"]),
             "refunded": money(r["refunded_amount"]), "outstanding": outstanding,
             "liquidation_due": r["liquidation_due"], "days_overdue": days, "checked_on": settings.today},
            outstanding)


def receipt_outside_term(reader: Session, scope: Scope, settings: RuleSettings):
    """A receipt (not rejected) of an expense statement dated before the agreement's start or after its end."""
    condition, params = scope.sql("r.agreement_id")
    # First the agreements whose receipts' dates (from the run's receipt sums: the first and last
    # issue date per group) pass the term; then only their receipts are read (through
    # ix_expense_receipts_agreement_id, their ids written in), not every receipt.
    agreements = sorted({r["agreement_id"] for r in rows(reader, f"""
        SELECT DISTINCT s.agreement_id FROM {receipt_sums(scope, settings)} s
        JOIN agreements sg ON sg.id = s.agreement_id
        WHERE s.first_issue < sg.start_date OR s.last_issue > sg.end_date""", params)})
    if not agreements:
        return
    found = rows(reader, f"""
        SELECT r.id, r.agreement_id, ag.organization_id, ag.number, ag.start_date, ag.end_date, r.issue_date,
               r.document_type, r.document_number, r.supplier_tax_id, r.amount, r.status, s.advance_id
        FROM expense_receipts r
        JOIN agreements ag ON ag.id = r.agreement_id
        JOIN expense_statements s ON s.id = r.statement_id
        WHERE r.status != 'rejected' AND (r.issue_date < ag.start_date OR r.issue_date > ag.end_date)
          AND {condition} AND r.agreement_id IN ({", ".join(str(int(a)) for a in agreements)})
        ORDER BY r.id""", params, amount=MONEY, start_date=Date(), end_date=Date(), issue_date=Date())
    for r in found:
        yield FindingRow(
            "receipt_outside_term", "medium", r["agreement_id"], r["organization_id"], "receipt", str(r["id"]),
            f"Comprobante {r['document_number']} ({r['supplier_tax_id']}) del {formats.day(r['issue_date'], '—')} por "
            f"{formats.usd(money(r['amount']))}: fuera del plazo del convenio {r['number']} "
            f"({formats.day(r['start_date'], '—')} – {formats.day(r['end_date'], '—')}).",
            {"agreement": r["number"], "advance_id": r["advance_id"], "document_type": r["document_type"],
             "document_number": r["document_number"], "supplier_tax_id": r["supplier_tax_id"],
             "issue_date": r["issue_date"], "term_start": r["start_date"], "term_end": r["end_date"],
             "receipt_status": r["status"], "amount": money(r["amount"])},
            money(r["amount"]))


# Invoices are fiscal documents (factura or crédito fiscal); receipts of those types are compared with them.
_KIND = "CASE WHEN r.document_type IN ('factura', 'ccf') THEN 'fiscal' ELSE r.document_type END"
# The suppliers with a key (NIT/DUI, kind, number) used more than once among invoices and receipts
# together: a key is repeated when two receipts share it, or two invoices, or an invoice and a
# (fiscal) receipt. Each part reads the key in the order of an index on that very expression
# (ix_expense_receipts_document_key, ix_invoices_document_key: migration 0007), so the receipts'
# numbers are neither normalised again nor sorted; the third part probes the receipts' index.
_REPEATED_TAXES = f"""
    SELECT r.supplier_tax_id AS tax_id FROM expense_receipts r WHERE r.status != 'rejected'
    GROUP BY r.supplier_tax_id, {_KIND}, UPPER(TRIM(r.document_number)) HAVING COUNT(*) > 1
    UNION
    SELECT i.supplier_tax_id FROM invoices i WHERE i.status != 'voided'
    GROUP BY i.supplier_tax_id, UPPER(TRIM(i.number)) HAVING COUNT(*) > 1
    UNION
    SELECT i.supplier_tax_id FROM invoices i
    JOIN expense_receipts r ON r.supplier_tax_id = i.supplier_tax_id AND {_KIND} = 'fiscal'
         AND UPPER(TRIM(r.document_number)) = UPPER(TRIM(i.number)) AND r.status != 'rejected'
    WHERE i.status != 'voided'
"""
_USES = f"""
    SELECT 'invoice' AS use_type, i.id AS use_id, i.agreement_id, i.organization_id, i.supplier_tax_id AS tax_id,
           'fiscal' AS kind, UPPER(TRIM(i.number)) AS num, i.number AS shown, i.issue_date AS day,
           i.total AS amount, i.created_at AS used_at
    FROM invoices i WHERE i.status != 'voided' AND i.supplier_tax_id IN ({{taxes}})
    UNION ALL
    SELECT 'receipt', r.id, r.agreement_id, s2.organization_id, r.supplier_tax_id, {_KIND},
           UPPER(TRIM(r.document_number)), r.document_number, r.issue_date, r.amount, st.submitted_at
    FROM expense_receipts r
    JOIN expense_statements st ON st.id = r.statement_id
    JOIN advances s2 ON s2.id = st.advance_id
    WHERE r.status != 'rejected' AND r.supplier_tax_id IN ({{taxes}})
"""


def document_reused(reader: Session, scope: Scope, settings: RuleSettings):
    """The same supplier document (NIT/DUI, kind, number) used more than once, in any agreement: an
    invoice paid directly and also presented as a receipt of an advance, or twice as a receipt.
    Every use after the first is a finding (evidence: all the uses)."""
    # First the suppliers with a repeated key (see _REPEATED_TAXES); then every use of
    # the suppliers concerned, grouped again: a key's uses all share its supplier, so the groups
    # found among those suppliers' documents are the same as among all of them.
    taxes = sorted({r["tax_id"] for r in rows(reader, _REPEATED_TAXES, {})})
    if not taxes:
        return
    params = {f"tax_{n}": tax for n, tax in enumerate(taxes)}
    found = rows(reader, f"""
        WITH uses AS ({_USES.format(taxes=", ".join(f":{name}" for name in params))}),
        reused AS (SELECT tax_id, kind, num FROM uses GROUP BY tax_id, kind, num HAVING COUNT(*) > 1)
        SELECT u.*, ag.number AS agreement_number
        FROM uses u JOIN reused d ON d.tax_id = u.tax_id AND d.kind = u.kind AND d.num = u.num
        JOIN agreements ag ON ag.id = u.agreement_id
        ORDER BY u.tax_id, u.kind, u.num, u.used_at, u.use_type, u.use_id""", params,
        amount=MONEY, day=Date(), used_at=UTCDateTime())
    groups: dict[tuple, list] = defaultdict(list)
    for r in found:
        groups[(r["tax_id"], r["kind"], r["num"])].append(r)
    in_scope = scope.agreement_ids(reader)
    for (tax_id, _kind, _num), uses in groups.items():
        if in_scope is not None and not any(u["agreement_id"] in in_scope for u in uses):
            continue
        listed = [{"use": u["use_type"], "id": u["use_id"], "agreement": u["agreement_number"],
                   "document_number": u["shown"], "date": as_date(u["day"]), "amount": money(u["amount"]),
                   "used_at": u["used_at"]} for u in uses]
        first = uses[0]
        for u in uses[1:]:
            what = "La factura" if u["use_type"] == "invoice" else "El comprobante"
            yield FindingRow(
                "document_reused", "high", u["agreement_id"], u["organization_id"], u["use_type"], str(u["use_id"]),
                f"{what} {u['shown']} del proveedor {tax_id} ({formats.usd(money(u['amount']))}, convenio "
                f"{u['agreement_number']}) ya se había usado en el convenio {first['agreement_number']} "
                f"({'factura' if first['use_type'] == 'invoice' else 'comprobante'} {first['shown']}).",
                {"supplier_tax_id": tax_id, "uses": listed}, money(u["amount"]))


def round_amount_receipts(reader: Session, scope: Scope, settings: RuleSettings):
    """An agreement whose receipts (not rejected) are mostly whole hundreds (…00.00): at least
    AUDIT_ROUND_AMOUNT_MIN_RECEIPTS receipts, of which at least AUDIT_ROUND_AMOUNT_SHARE are round."""
    _, params = scope.sql("r.agreement_id")
    # Counted per agreement from the run's receipt sums (rules_base.receipt_sums: every receipt not
    # rejected, counted and summed once per run), labels joined afterwards.
    found = rows(reader, f"""
        SELECT c.agreement_id, ag.organization_id, ag.number, c.receipts, c.round_receipts, c.round_amount, c.total
        FROM (SELECT s.agreement_id, CAST(SUM(s.receipts) AS INTEGER) AS receipts,
                     CAST(SUM(s.round_receipts) AS INTEGER) AS round_receipts,
                     ROUND(SUM(s.round_amount), 2) AS round_amount, ROUND(SUM(s.amount), 2) AS total
              FROM {receipt_sums(scope, settings)} s
              GROUP BY s.agreement_id
              HAVING SUM(s.receipts) >= :minimum) c
        JOIN agreements ag ON ag.id = c.agreement_id
        ORDER BY c.agreement_id""", {"minimum": settings.round_amount_min_receipts, **params},
        round_amount=MONEY, total=MONEY)
    for r in found:
        share = (Decimal(r["round_receipts"]) / Decimal(r["receipts"])).quantize(Decimal("0.0001"))
        if share < settings.round_amount_share:
            continue
        yield FindingRow(
            "round_amount_receipts", "low", r["agreement_id"], r["organization_id"], "agreement",
            str(r["agreement_id"]),
            f"Convenio {r['number']}: {r['round_receipts']} de {r['receipts']} comprobantes ({share:.0%}) son montos "
            f"redondos en centenas, por {formats.usd(money(r['round_amount']))}.",
            {"agreement": r["number"], "receipts": r["receipts"], "round_receipts": r["round_receipts"],
             "share": share, "threshold_share": settings.round_amount_share,
             "minimum_receipts": settings.round_amount_min_receipts, "round_amount": money(r["round_amount"]),
             "total": money(r["total"])},
            money(r["round_amount"]))


RULES = [
    Rule("advance_overdue", "high", _l("Anticipo vencido sin liquidar"),
         _l("Anticipos desembolsados cuya liquidación venció (fecha límite anterior a hoy) y que aún tienen saldo "
         "sin justificar con comprobantes aceptados ni reintegros."),
         _l("El dinero entregado por adelantado debe rendirse a tiempo; un saldo vencido es dinero público sin "
         "justificar y bloquea el cierre del convenio."), advance_overdue),
    Rule("receipt_outside_term", "medium", _l("Comprobante fuera del plazo del convenio"),
         _l("Comprobantes de liquidaciones (no rechazados) fechados antes del inicio o después del fin del convenio."),
         _l("Solo son elegibles los gastos hechos durante la ejecución: un gasto fuera del plazo no pertenece al "
         "programa."), receipt_outside_term),
    Rule("document_reused", "high", _l("Documento del proveedor usado dos veces"),
         _l("El mismo documento (NIT/DUI del proveedor, tipo fiscal y número) usado más de una vez, en cualquier "
         "convenio: una factura pagada directamente y presentada también como comprobante de un anticipo, o "
         "dos comprobantes iguales."),
         _l("Es la forma más simple de cobrar dos veces el mismo gasto."), document_reused),
    Rule("round_amount_receipts", "low", _l("Concentración de comprobantes de monto redondo"),
         _l("Convenios con al menos AUDIT_ROUND_AMOUNT_MIN_RECEIPTS comprobantes en los que la proporción de montos "
         "exactos en centenas (…00.00) alcanza AUDIT_ROUND_AMOUNT_SHARE."),
         _l("Los gastos reales rara vez son cifras redondas; muchas juntas sugieren comprobantes hechos a la medida."),
         round_amount_receipts),
]
