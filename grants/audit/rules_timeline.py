"""Liquidation rules on the time axis (issue 10): money that moved before the fact that justifies it,
deposits nobody confirmed, and payments whose basis changed after they were made."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date
from sqlalchemy.orm import Session

from grants import formats
from grants.audit.rules_base import MONEY, FindingRow, Rule, RuleSettings, Scope, money, rows
from grants.models.base import UTCDateTime


def receipt_before_disbursement(reader: Session, scope: Scope, settings: RuleSettings):
    """A receipt (not rejected) dated before its advance's transfer, beyond the agreement's
    pre-financing days (none when the agreement has no such clause)."""
    condition, params = scope.sql("a.agreement_id")
    earliest = settings.days_before("a.transfer_date", "COALESCE(ag.prefinancing_days, 0)")
    # From each transferred advance's statements (a few thousand), the receipts dated before its
    # earliest allowed day, through the (statement, issue date) index: never every receipt.
    found = rows(reader, f"""
        WITH statements AS MATERIALIZED (
            SELECT s.id AS statement_id, a.id AS advance_id, a.tranche_number, a.transfer_date, a.agreement_id,
                   ag.organization_id, ag.number, ag.prefinancing_days, {earliest} AS earliest
            FROM advances a
            JOIN expense_statements s ON s.advance_id = a.id
            JOIN agreements ag ON ag.id = a.agreement_id
            WHERE a.transfer_date IS NOT NULL AND {condition})
        SELECT r.id, st.agreement_id, st.organization_id, st.number, st.prefinancing_days, r.issue_date,
               r.document_number, r.supplier_tax_id, r.amount, st.advance_id, st.tranche_number, st.transfer_date
        FROM statements st
        {settings.each_row_of("expense_receipts", "r", "r.statement_id = st.statement_id AND r.issue_date < st.earliest")}
        WHERE r.status != 'rejected'
        ORDER BY r.id""", params, amount=MONEY, issue_date=Date(), transfer_date=Date())
    for r in found:
        days = (r["transfer_date"] - r["issue_date"]).days
        yield FindingRow(
            "receipt_before_disbursement", "high", r["agreement_id"], r["organization_id"], "receipt", str(r["id"]),
            f"Comprobante {r['document_number']} ({r['supplier_tax_id']}) del {formats.day(r['issue_date'], '—')} por "
            f"{formats.usd(money(r['amount']))}: {days} {'día' if days == 1 else 'días'} antes de la transferencia "
            f"del anticipo "
            f"{r['tranche_number']} ({formats.day(r['transfer_date'], '—')}) del convenio {r['number']}"
            + (f", que permite {r['prefinancing_days']} de prefinanciamiento." if r["prefinancing_days"]
               else ", que no permite prefinanciar."),
            {"agreement": r["number"], "advance_id": r["advance_id"], "document_number": r["document_number"],
             "supplier_tax_id": r["supplier_tax_id"], "issue_date": r["issue_date"],
             "transfer_date": r["transfer_date"], "days_before": days, "prefinancing_days": r["prefinancing_days"],
             "amount": money(r["amount"])}, money(r["amount"]))


def certificate_before_service_end(reader: Session, scope: Scope, settings: RuleSettings):
    """A receipt certificate of a live invoice dated before the end of the service period it certifies."""
    condition, params = scope.sql("i.agreement_id")
    found = rows(reader, f"""
        SELECT i.id, i.agreement_id, i.organization_id, ag.number, i.number AS invoice_number, i.total,
               i.period_start, i.period_end, c.received_on
        FROM receipt_certificates c
        JOIN invoices i ON i.id = c.invoice_id
        JOIN agreements ag ON ag.id = i.agreement_id
        WHERE i.status != 'voided' AND c.received_on < i.period_end AND {condition}
        ORDER BY i.id""", params, total=MONEY, period_start=Date(), period_end=Date(), received_on=Date())
    for r in found:
        yield FindingRow(
            "certificate_before_service_end", "high", r["agreement_id"], r["organization_id"], "invoice", str(r["id"]),
            f"Factura {r['invoice_number']} del convenio {r['number']} por {formats.usd(money(r['total']))}: el acta "
            f"de recepción es del {formats.day(r['received_on'], '—')} y el servicio terminaba el {formats.day(r['period_end'], '—')}.",
            {"agreement": r["number"], "invoice": r["invoice_number"], "period_start": r["period_start"],
             "period_end": r["period_end"], "received_on": r["received_on"],
             "days_early": (r["period_end"] - r["received_on"]).days}, money(r["total"]))


def deposit_unconfirmed(reader: Session, scope: Scope, settings: RuleSettings):
    """A refund the NGO declared that treasury has neither confirmed nor rejected
    ``DEPOSIT_CONFIRMATION_DAYS`` after the declaration."""
    condition, params = scope.sql("f.agreement_id")
    found = rows(reader, f"""
        SELECT f.id, f.agreement_id, ag.organization_id, ag.number, f.amount, f.bank_name, f.bank_reference,
               f.refunded_on, f.recorded_at, a.tranche_number
        FROM refunds f
        JOIN advances a ON a.id = f.advance_id
        JOIN agreements ag ON ag.id = f.agreement_id
        WHERE f.status = 'declared' AND f.recorded_at < :limit AND {condition}
        ORDER BY f.id""", {"limit": settings.now - timedelta(days=settings.deposit_confirmation_days), **params},
        amount=MONEY, refunded_on=Date(), recorded_at=UTCDateTime())
    for r in found:
        waiting = (settings.now - r["recorded_at"]).days
        yield FindingRow(
            "deposit_unconfirmed", "medium", r["agreement_id"], r["organization_id"], "refund", str(r["id"]),
            f"Reintegro de {formats.usd(money(r['amount']))} del anticipo {r['tranche_number']} (convenio "
            f"{r['number']}, referencia {r['bank_reference']} del {formats.day(r['refunded_on'], '—')}): declarado hace "
            f"{waiting} días y tesorería no lo ha confirmado ni rechazado.",
            {"agreement": r["number"], "bank_name": r["bank_name"], "bank_reference": r["bank_reference"],
             "deposit_date": r["refunded_on"], "declared_at": r["recorded_at"], "days_waiting": waiting,
             "amount": money(r["amount"])}, money(r["amount"]))


def payment_before_certificate(reader: Session, scope: Scope, settings: RuleSettings):
    """An executed direct payment whose transfer is dated before the receipt certificate of its invoice."""
    condition, params = scope.sql("p.agreement_id")
    found = rows(reader, f"""
        SELECT p.id, p.agreement_id, p.organization_id, ag.number, i.number AS invoice_number, p.amount,
               p.transfer_date, c.received_on
        FROM payments p
        JOIN invoices i ON i.id = p.invoice_id
        JOIN receipt_certificates c ON c.invoice_id = i.id
        JOIN agreements ag ON ag.id = p.agreement_id
        WHERE p.status = 'executed' AND p.transfer_date < c.received_on AND {condition}
        ORDER BY p.id""", params, amount=MONEY, transfer_date=Date(), received_on=Date())
    for r in found:
        yield FindingRow(
            "payment_before_certificate", "high", r["agreement_id"], r["organization_id"], "payment", str(r["id"]),
            f"Pago {r['id']} (factura {r['invoice_number']}, convenio {r['number']}) por "
            f"{formats.usd(money(r['amount']))}: transferido el {formats.day(r['transfer_date'], '—')}, antes del acta de "
            f"recepción del {formats.day(r['received_on'], '—')}.",
            {"agreement": r["number"], "invoice": r["invoice_number"], "transfer_date": r["transfer_date"],
             "received_on": r["received_on"], "amount": money(r["amount"])}, money(r["amount"]))


def payment_basis_changed(reader: Session, scope: Scope, settings: RuleSettings):
    """An executed payment that paid units of people whose status was changed **after** the payment,
    with effect on a day of the service period it paid (a back-dated change): the payment stands,
    and someone must look at why the list changed. One finding per payment.

    A payment is executed on or after its period's last day, so such a change was recorded after the
    day it takes effect, or (only when the payment was executed by the end of the period's last day)
    on that day. The query reads those two small sets instead of every paid unit against every
    status period: status periods recorded after their first day (rare: a list kept up to date
    records changes on the day), and payments executed by the end of their period."""
    condition, params = scope.sql("p.agreement_id")
    late, period_over = settings.midnight_after("ep.valid_from"), settings.midnight_after("i.period_end")
    # Each branch starts from its small set, computed first (MATERIALIZED: the planner cannot see
    # how small a comparison across two tables leaves it), then follows indexes to the paid units.
    select_ = """
        SELECT p.id AS payment_id, p.agreement_id, p.organization_id, ag.number, i.number AS invoice_number,
               i.period_start, i.period_end, p.executed_at, il.position AS position, il.unit_price,
               ilb.enrollment_id AS enrollment_id, ep.id AS period_id, ep.status, ep.valid_from, ep.recorded_at"""
    matches = f"""
          AND p.status = 'executed' AND ep.recorded_at > p.executed_at AND ep.valid_from <= i.period_end
          AND ep.status != 'active' AND {condition}
          AND NOT EXISTS (SELECT 1 FROM payment_deductions d WHERE d.payment_id = p.id
                          AND d.invoice_line_id = il.id AND d.enrollment_id = ilb.enrollment_id)"""
    found = rows(reader, f"""
        WITH late_periods AS MATERIALIZED (
            SELECT ep.* FROM enrollment_periods ep WHERE ep.status != 'active' AND ep.recorded_at >= {late}),
        prompt_payments AS MATERIALIZED (
            SELECT p.id FROM payments p JOIN invoices i ON i.id = p.invoice_id
            WHERE p.status = 'executed' AND p.executed_at < {period_over} AND {condition})
        {select_}
        FROM late_periods ep
        JOIN invoice_line_beneficiaries ilb ON ilb.enrollment_id = ep.enrollment_id
        JOIN invoice_lines il ON il.id = ilb.line_id AND il.per_beneficiary
        JOIN invoices i ON i.id = il.invoice_id
        JOIN payments p ON p.invoice_id = i.id
        JOIN agreements ag ON ag.id = p.agreement_id
        WHERE 1 = 1 {matches}
        UNION ALL
        {select_}
        FROM prompt_payments pp
        JOIN payments p ON p.id = pp.id
        JOIN invoices i ON i.id = p.invoice_id
        JOIN invoice_lines il ON il.invoice_id = i.id AND il.per_beneficiary
        JOIN invoice_line_beneficiaries ilb ON ilb.line_id = il.id
        JOIN enrollment_periods ep ON ep.enrollment_id = ilb.enrollment_id
        JOIN agreements ag ON ag.id = p.agreement_id
        WHERE ep.recorded_at < {late} {matches}
        ORDER BY payment_id, position, enrollment_id, period_id""", params,
        unit_price=MONEY, period_start=Date(), period_end=Date(), valid_from=Date(),
        executed_at=UTCDateTime(), recorded_at=UTCDateTime())
    by_payment: dict[int, list] = defaultdict(list)
    for r in found:
        by_payment[r["payment_id"]].append(r)
    for payment_id, changes in by_payment.items():
        first = changes[0]
        units = {(c["position"], c["enrollment_id"]): c for c in changes}
        amount = money(sum((c["unit_price"] for c in units.values()), money(0)))
        yield FindingRow(
            "payment_basis_changed", "medium", first["agreement_id"], first["organization_id"], "payment",
            str(payment_id),
            f"Pago {payment_id} (factura {first['invoice_number']}, convenio {first['number']}): después de "
            f"ejecutado se cambió con fecha pasada el estado de {len(units)} "
            f"{'persona pagada' if len(units) == 1 else 'personas pagadas'} por "
            f"{formats.usd(amount)} del período {formats.day(first['period_start'], '—')} – {formats.day(first['period_end'], '—')}.",
            {"agreement": first["number"], "invoice": first["invoice_number"], "executed_at": first["executed_at"],
             "period_start": first["period_start"], "period_end": first["period_end"], "amount": amount,
             "changes": [{"invoice_line": c["position"], "enrollment_id": c["enrollment_id"], "status": c["status"],
                          "effective": c["valid_from"], "recorded_at": c["recorded_at"]} for c in changes]},
            amount)


RULES = [
    Rule("receipt_before_disbursement", "high", _l("Comprobante anterior al desembolso de su anticipo"),
         _l("Comprobantes (no rechazados) fechados antes de la transferencia de su anticipo, más allá de los días de "
            "prefinanciamiento que permite el convenio (ninguno si no tiene esa cláusula)."),
         _l("Un anticipo paga lo que se gasta después de recibirlo; un gasto anterior se hizo con otro dinero o el "
            "comprobante no corresponde."), receipt_before_disbursement),
    Rule("certificate_before_service_end", "high", _l("Acta de recepción anterior al fin del servicio"),
         _l("Actas de recepción de facturas vigentes fechadas antes de que terminara el período del servicio "
            "facturado."),
         _l("Nadie puede dar por recibido un servicio que aún no termina: se estaría pagando por días que no habían "
            "ocurrido."), certificate_before_service_end),
    Rule("deposit_unconfirmed", "medium", _l("Reintegro declarado sin confirmar"),
         _l("Reintegros declarados por la organización que tesorería no ha confirmado ni rechazado "
            "DEPOSIT_CONFIRMATION_DAYS días después."),
         _l("Un reintegro solo cuenta cuando el banco lo confirma; uno pendiente por mucho tiempo puede no existir "
            "y deja el anticipo sin liquidar."), deposit_unconfirmed),
    Rule("payment_before_certificate", "high", _l("Pago ejecutado antes del acta de recepción"),
         _l("Pagos directos ejecutados con fecha de transferencia anterior al acta de recepción de su factura."),
         _l("Se paga lo recibido: una transferencia antes del acta paga algo que nadie había certificado."),
         payment_before_certificate),
    Rule("payment_basis_changed", "medium", _l("Pago cuya base cambió después"),
         _l("Pagos ejecutados que pagaron unidades de personas cuyo estado se cambió después del pago, con fecha "
            "efectiva dentro del período pagado (un cambio con fecha pasada)."),
         _l("Un pago ejecutado no se modifica, pero si la lista cambió hacia atrás alguien debe explicar por qué: "
            "o se pagó a quien no correspondía, o se corrigió la lista para otro fin."), payment_basis_changed),
]
