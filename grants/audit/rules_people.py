"""Liquidation rules on beneficiaries, suppliers' ties to the NGO, and the audit chain itself."""
from __future__ import annotations

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, text
from sqlalchemy.orm import Session

from grants import formats
from grants.audit.chain import verify_chain
from grants.audit.rules_base import MONEY, FindingRow, Rule, RuleSettings, Scope, money, rows
from grants.validation.supplier import account_key, address_key, phone_key
from grants.money import ZERO

_PEOPLE_CHUNK = 5000


def units_paid_inactive(reader: Session, scope: Scope, settings: RuleSettings):
    """Units of per-beneficiary invoice lines paid (not deducted) by an executed payment although
    the beneficiary was not active on every day of the invoice's service period — a safety net
    over the eligibility rule of direct payments (e.g. an inactivity recorded later, effective
    inside the period). One finding per payment, listing the units (no personal data)."""
    condition, params = scope.sql("p.agreement_id")
    dn = settings.day_number
    end1 = f"({dn('u.period_end')} + 1)"
    upper = f"CASE WHEN ep.valid_to IS NOT NULL AND {dn('ep.valid_to')} < {end1} THEN {dn('ep.valid_to')} ELSE {end1} END"
    lower = (f"CASE WHEN ep.valid_from > u.period_start THEN {dn('ep.valid_from')} "
             f"ELSE {dn('u.period_start')} END")
    # Active days = the sum over the active periods overlapping the service period, clipped to it
    # (each overlapping period adds at least one day). So a unit with one active period covering the
    # whole service period is never a finding: ``units`` leaves those out with an anti-join (an
    # index probe on ix_enrollment_periods_active per unit) and only the few others are summed.
    found = rows(reader, f"""
        WITH units AS (
            SELECT p.id AS payment_id, p.agreement_id, p.organization_id, i.id AS invoice_id,
                   i.number AS invoice_number, i.period_start, i.period_end, il.id AS line_id, il.position,
                   il.unit_price, ilb.enrollment_id
            FROM payments p
            JOIN invoices i ON i.id = p.invoice_id
            JOIN invoice_lines il ON il.invoice_id = i.id AND il.per_beneficiary
            JOIN invoice_line_beneficiaries ilb ON ilb.line_id = il.id
            WHERE p.status = 'executed' AND {condition}
              AND NOT EXISTS (SELECT 1 FROM enrollment_periods c WHERE c.enrollment_id = ilb.enrollment_id
                              AND c.status = 'active' AND c.valid_from <= i.period_start
                              AND (c.valid_to IS NULL OR c.valid_to > i.period_end))
              AND NOT EXISTS (SELECT 1 FROM payment_deductions d WHERE d.payment_id = p.id
                              AND d.invoice_line_id = il.id AND d.enrollment_id = ilb.enrollment_id))
        SELECT u.payment_id, u.agreement_id, u.organization_id, ag.number, u.invoice_id, u.invoice_number,
               u.period_start, u.period_end, u.line_id, u.position, u.unit_price, u.enrollment_id, e.beneficiary_id,
               COALESCE(SUM(CASE WHEN ep.id IS NULL THEN 0 ELSE {upper} - {lower} END), 0) AS active_days,
               ({dn('u.period_end')} - {dn('u.period_start')} + 1) AS period_days
        FROM units u
        JOIN agreements ag ON ag.id = u.agreement_id
        JOIN enrollments e ON e.id = u.enrollment_id
        LEFT JOIN enrollment_periods ep ON ep.enrollment_id = u.enrollment_id AND ep.status = 'active'
             AND ep.valid_from <= u.period_end AND (ep.valid_to IS NULL OR ep.valid_to > u.period_start)
             AND (ep.valid_to IS NULL OR ep.valid_to > ep.valid_from)
        GROUP BY u.payment_id, u.agreement_id, u.organization_id, ag.number, u.invoice_id, u.invoice_number,
                 u.period_start, u.period_end, u.line_id, u.position, u.unit_price, u.enrollment_id, e.beneficiary_id
        HAVING COALESCE(SUM(CASE WHEN ep.id IS NULL THEN 0 ELSE {upper} - {lower} END), 0)
               < ({dn('u.period_end')} - {dn('u.period_start')} + 1)
        ORDER BY u.payment_id, u.position, u.enrollment_id""", params,
        unit_price=MONEY, period_start=Date(), period_end=Date())
    by_payment: dict[int, list] = defaultdict(list)
    for r in found:
        by_payment[r["payment_id"]].append(r)
    for payment_id, units in by_payment.items():
        first = units[0]
        amount = money(sum((u["unit_price"] for u in units), ZERO))
        yield FindingRow(
            "units_paid_inactive", "high", first["agreement_id"], first["organization_id"], "payment", str(payment_id),
            f"Pago {payment_id} (convenio {first['number']}, factura {first['invoice_number']}): {len(units)} "
            f"{'unidad pagada' if len(units) == 1 else 'unidades pagadas'} por {formats.usd(amount)} por beneficiarios "
            f"no activos todo el período "
            f"{formats.day(first['period_start'], '—')} – {formats.day(first['period_end'], '—')}.",
            {"agreement": first["number"], "invoice_id": first["invoice_id"], "invoice": first["invoice_number"],
             "period_start": first["period_start"], "period_end": first["period_end"], "amount": amount,
             "units": [{"invoice_line": u["position"], "enrollment_id": u["enrollment_id"],
                        "beneficiary_id": u["beneficiary_id"], "unit_price": money(u["unit_price"]),
                        "active_days": int(u["active_days"]), "period_days": int(u["period_days"])}
                       for u in units]},
            amount)


def double_active_enrollment(reader: Session, scope: Scope, settings: RuleSettings):
    """The same person (beneficiary) active in two agreements over overlapping dates, from the
    enrollments' status periods. Reported even when monitoring allowed the double enrollment
    (the evidence says so: the auditor may mark it justified)."""
    condition_a, params = scope.sql("a.agreement_id")
    condition_b, _ = scope.sql("b.agreement_id")
    # Only people with more than one enrollment (one per agreement: a unique key) can be active in two
    # agreements. They are found first (a grouped scan of ix_enrollments_beneficiary_id: a few thousand
    # in a year of a million), then only their active periods are paired, in chunks of people.
    several = reader.execute(text(
        "SELECT beneficiary_id FROM enrollments GROUP BY beneficiary_id HAVING COUNT(*) > 1 "
        "ORDER BY beneficiary_id")).scalars().all()
    found = []
    for i in range(0, len(several), _PEOPLE_CHUNK):
        people = ", ".join(str(int(x)) for x in several[i:i + _PEOPLE_CHUNK])
        found += rows(reader, f"""
            WITH act AS (
                SELECT e.id AS enrollment_id, e.agreement_id, e.organization_id, e.beneficiary_id,
                       e.double_enrollment, ep.valid_from, ep.valid_to
                FROM enrollments e JOIN enrollment_periods ep ON ep.enrollment_id = e.id
                WHERE e.beneficiary_id IN ({people}) AND ep.status = 'active'
                  AND (ep.valid_to IS NULL OR ep.valid_to > ep.valid_from))
            SELECT a.beneficiary_id, a.enrollment_id AS first_enrollment, a.agreement_id AS first_agreement,
                   b.enrollment_id AS second_enrollment, b.agreement_id AS second_agreement,
                   b.organization_id, a.double_enrollment AS first_double, b.double_enrollment AS second_double,
                   a.valid_from AS a_from, a.valid_to AS a_to, b.valid_from AS b_from, b.valid_to AS b_to,
                   ga.number AS first_number, gb.number AS second_number
            FROM act a JOIN act b ON b.beneficiary_id = a.beneficiary_id AND b.agreement_id != a.agreement_id
                 AND a.enrollment_id < b.enrollment_id
                 AND (b.valid_to IS NULL OR a.valid_from < b.valid_to)
                 AND (a.valid_to IS NULL OR b.valid_from < a.valid_to)
            JOIN agreements ga ON ga.id = a.agreement_id JOIN agreements gb ON gb.id = b.agreement_id
            WHERE ({condition_a}) OR ({condition_b})""", params,
            a_from=Date(), a_to=Date(), b_from=Date(), b_to=Date())
    found.sort(key=lambda r: (r["first_enrollment"], r["second_enrollment"], r["a_from"], r["b_from"]))
    seen: set[tuple[int, int]] = set()
    for r in found:
        key = (r["first_enrollment"], r["second_enrollment"])
        if key in seen:
            continue
        seen.add(key)
        since = max(r["a_from"], r["b_from"])
        ends = [d for d in (r["a_to"], r["b_to"]) if d is not None]
        until = min(ends) if ends else None
        allowed = "allowed" in (r["first_double"], r["second_double"])
        yield FindingRow(
            "double_active_enrollment", "medium", r["second_agreement"], r["organization_id"], "enrollment_pair",
            f"{r['first_enrollment']}:{r['second_enrollment']}",
            f"Beneficiario {r['beneficiary_id']} activo a la vez en los convenios {r['first_number']} y "
            f"{r['second_number']} desde el {formats.day(since, '—')}" + (f" hasta el {formats.day(until, '—')}" if until else "") +
            (" (doble inscripción autorizada por seguimiento)." if allowed else "."),
            {"beneficiary_id": r["beneficiary_id"],
             "enrollments": [{"enrollment_id": r["first_enrollment"], "agreement": r["first_number"]},
                             {"enrollment_id": r["second_enrollment"], "agreement": r["second_number"]}],
             "overlap_from": since, "overlap_until": until, "allowed_by_monitoring": allowed},
            None)


def supplier_conflict(reader: Session, scope: Scope, settings: RuleSettings):
    """A validated (or paid) supplier that shares its NIT/DUI with the NGO, its legal
    representative or a board member, or the NGO's bank account, address or phone — compared
    with the organization's data as it is now (it may have changed since the validation)."""
    condition, params = scope.sql("s.agreement_id")
    suppliers = rows(reader, f"""
        SELECT s.id, s.agreement_id, s.organization_id, s.tax_id, s.legal_name, s.version, s.status, s.address,
               s.phone, s.bank_account, ag.number, o.nit, o.legal_rep_dui, o.legal_rep_name,
               o.bank_account AS org_account, o.address AS org_address, o.legal_name AS org_name
        FROM suppliers s JOIN agreements ag ON ag.id = s.agreement_id
        JOIN organizations o ON o.id = s.organization_id
        WHERE (s.status = 'validated' OR EXISTS (SELECT 1 FROM payments p WHERE p.supplier_id = s.id
                                                 AND p.status = 'executed')) AND {condition}
        ORDER BY s.id""", params)
    if not suppliers:
        return
    organizations = sorted({s["organization_id"] for s in suppliers})
    in_list = ", ".join(str(int(x)) for x in organizations)
    board: dict[int, list] = defaultdict(list)
    for m in rows(reader, f"SELECT organization_id, name, dui, position FROM board_members WHERE organization_id IN ({in_list})",
                  {}):
        board[m["organization_id"]].append(m)
    phones: dict[int, set] = defaultdict(set)
    for p in rows(reader, f"SELECT organization_id, number FROM organization_phones WHERE organization_id IN ({in_list})", {}):
        phones[p["organization_id"]].add(phone_key(p["number"]))
    for s in suppliers:
        matches = []
        if s["tax_id"] == s["nit"]:
            matches.append({"field": "tax_id", "with": "organization_nit"})
        if s["tax_id"] == s["legal_rep_dui"]:
            matches.append({"field": "tax_id", "with": "legal_representative", "name": s["legal_rep_name"]})
        for m in board[s["organization_id"]]:
            if s["tax_id"] == m["dui"]:
                matches.append({"field": "tax_id", "with": "board_member", "name": m["name"],
                                "position": m["position"]})
        if account_key(s["bank_account"]) and account_key(s["bank_account"]) == account_key(s["org_account"]):
            matches.append({"field": "bank_account", "with": "organization_bank_account"})
        if address_key(s["address"]) and address_key(s["address"]) == address_key(s["org_address"]):
            matches.append({"field": "address", "with": "organization_address"})
        phone = phone_key(s["phone"])
        if phone and phone in phones[s["organization_id"]]:
            matches.append({"field": "phone", "with": "organization_phone", "phone": phone})
        if not matches:
            continue
        fields = ", ".join(sorted({_FIELD_NAMES[m["field"]] for m in matches}))
        yield FindingRow(
            "supplier_conflict", "high", s["agreement_id"], s["organization_id"], "supplier", str(s["id"]),
            f"Proveedor {s['legal_name']} ({s['tax_id']}, versión {s['version']}) del convenio {s['number']} "
            f"comparte {fields} con la organización {s['org_name']} o su junta directiva.",
            {"agreement": s["number"], "supplier_tax_id": s["tax_id"], "supplier_status": s["status"],
             "matches": matches},
            None)


_FIELD_NAMES = {"tax_id": "NIT/DUI", "bank_account": "cuenta bancaria", "address": "dirección", "phone": "teléfono"}


def audit_chain_broken(reader: Session, scope: Scope, settings: RuleSettings):
    """The hash-chained audit log does not verify (an event edited, deleted or reordered). Not
    scoped by agreement: the chain is one for the whole service."""
    report = verify_chain(reader)
    if report.ok:
        return
    yield FindingRow(
        "audit_chain_broken", "high", None, None, "audit_chain", "chain",
        f"La bitácora de auditoría no verifica desde la secuencia {report.first_broken_seq}: {report.reason}.",
        {"first_broken_seq": report.first_broken_seq, "reason": report.reason, "events_verified": report.events},
        None)


RULES = [
    Rule("units_paid_inactive", "high", _l("Unidades pagadas por beneficiarios inactivos"),
         _l("Unidades de líneas por beneficiario pagadas (no deducidas) por un pago ejecutado aunque la inscripción "
         "no estuvo activa todos los días del período facturado (p. ej., una inactividad registrada después con "
         "fecha efectiva dentro del período)."),
         _l("El ministerio paga solo por beneficiarios efectivamente activos; es la red de seguridad de la regla de "
         "elegibilidad de los pagos directos."), units_paid_inactive),
    Rule("double_active_enrollment", "medium", _l("Beneficiario activo en dos convenios a la vez"),
         _l("Una misma persona activa en dos convenios con fechas que se superponen, según los períodos de estado "
         "de sus inscripciones (también cuando seguimiento autorizó la doble inscripción)."),
         _l("La misma persona contada dos veces infla las metas y puede cobrarse dos veces."),
         double_active_enrollment),
    Rule("supplier_conflict", "high", _l("Proveedor vinculado a la ONG"),
         _l("Proveedores validados (o pagados) que comparten NIT/DUI con la organización, su representante legal o un "
         "miembro de su junta directiva, o su cuenta bancaria, dirección o teléfono, con los datos actuales de la "
         "organización."),
         _l("Pagar a la propia ONG o a sus directivos como proveedores es un conflicto de interés que desvía fondos."),
         supplier_conflict),
    Rule("audit_chain_broken", "high", _l("Bitácora de auditoría alterada"),
         _l("La cadena de eventos de auditoría no verifica: un evento editado, borrado o reordenado (indica la primera "
         "secuencia rota). No depende del convenio."),
         _l("Sin una bitácora íntegra no se puede probar quién hizo qué; toda otra conclusión queda en duda."),
         audit_chain_broken, scoped=False),
]
