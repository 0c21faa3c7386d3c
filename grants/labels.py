"""Spanish labels (English through the catalogue) for states, disciplines, decisions, sections, and
the data of a finding's evidence (``evidence_label``/``evidence_value``: what pages and workbooks show)."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from grants import formats

PLAN_STATE_LABELS = {
    "draft": _l("Borrador"),
    "submitted": _l("Enviado"),
    "in_review": _l("En revisión"),
    "approved": _l("Aprobado"),
    "changes_requested": _l("Cambios solicitados"),
    "rejected": _l("Rechazado"),
}

AGREEMENT_STATE_LABELS = {
    "draft": _l("Borrador"),
    "signed": _l("Firmado"),
    "in_execution": _l("En ejecución"),
    "suspended": _l("Suspendido"),
    "closing": _l("En cierre"),
    "liquidated": _l("Liquidado"),
    "reported": _l("Informado a la Asamblea"),
    "terminated": _l("Terminado"),
}

DISCIPLINE_LABELS = {
    "legal": _l("Jurídica"),
    "financial": _l("Financiera"),
    "monitoring": _l("Seguimiento y contraloría"),
}

DECISION_LABELS = {
    "approve": _l("Aprueba"),
    "request_changes": _l("Solicita cambios"),
    "reject": _l("Rechaza"),
}

SECTION_LABELS = {
    "general": _l("Plazo"),
    "justification": _l("Justificación"),
    "objectives": _l("Objetivos"),
    "ministry_alignment": _l("Vinculación con los objetivos del ministerio"),
    "activities": _l("Actividades"),
    "budget": _l("Presupuesto"),
    "indicators": _l("Resultados e indicadores"),
    "territory": _l("Territorio"),
    "beneficiaries": _l("Beneficiarios"),
    "monitoring": _l("Mecanismos de seguimiento"),
    "internal_controls": _l("Controles internos"),
    "financial_programming": _l("Programación financiera"),
}

ENROLLMENT_STATE_LABELS = {
    "pending": _l("Pendiente"),
    "validated": _l("Validada"),
    "active": _l("Activa"),
    "inactive": _l("Inactiva"),
    "withdrawn": _l("Retirada"),
}

BATCH_STATE_LABELS = {
    "processing": _l("Procesando"),
    "ready": _l("Lista para confirmar"),
    "failed": _l("Rechazada"),
    "confirmed": _l("Confirmada"),
    "validated": _l("Validada"),
    "discarded": _l("Descartada"),
}

INVOICE_STATE_LABELS = {
    "registered": _l("Registrada"),
    "certified": _l("Recibida conforme"),
    "paid": _l("Pagada"),
    "voided": _l("Anulada"),
}

PAYMENT_STATE_LABELS = {
    "prepared": _l("Preparado"),
    "authorized": _l("Autorizado"),
    "executed": _l("Ejecutado"),
    "cancelled": _l("Cancelado"),
}

PAYMENT_BATCH_STATE_LABELS = {
    "open": _l("Abierto"),
    "issued": _l("Emitido"),
    "cancelled": _l("Anulado"),
}

ADVANCE_STATE_LABELS = {
    "requested": _l("Solicitado"),
    "approved": _l("Aprobado"),
    "rejected": _l("Rechazado"),
    "prepared": _l("Desembolso preparado"),
    "disbursed": _l("Desembolsado"),
    "liquidated": _l("Liquidado"),
}

STATEMENT_STATE_LABELS = {
    "submitted": _l("Presentada"),
    "reviewed": _l("Revisada"),
}

RECEIPT_STATE_LABELS = {
    "pending": _l("Pendiente"),
    "accepted": _l("Aceptado"),
    "rejected": _l("Rechazado"),
}

SUPPLIER_STATE_LABELS = {
    "proposed": _l("Propuesto"),
    "validated": _l("Validado"),
    "rejected": _l("Rechazado"),
    "superseded": _l("Reemplazado por una versión nueva"),
}

FINDING_STATE_LABELS = {
    "open": _l("Abierto"),
    "justified": _l("Justificado"),
    "confirmed": _l("Confirmado"),
    "resolved": _l("Resuelto"),
}

CHECK_RUN_STATE_LABELS = {
    "running": _l("En curso"),
    "finished": _l("Terminada"),
    "failed": _l("Fallida"),
}

FINDING_SEVERITY_LABELS = {
    "high": _l("Alta"),
    "medium": _l("Media"),
    "low": _l("Baja"),
}

# What a finding is about (its ``entity_type``), for people (the raw key stays in exports and the API).
FINDING_ENTITY_LABELS = {
    "advance": _l("Anticipo"),
    "agreement": _l("Convenio"),
    "agreement_supplier": _l("Proveedor del convenio"),
    "allocation": _l("Asignación"),
    "audit_chain": _l("Bitácora"),
    "budget_line": _l("Línea presupuestaria"),
    "enrollment_pair": _l("Inscripciones simultáneas"),
    "invoice": _l("Factura"),
    "invoice_series": _l("Serie de facturas"),
    "payment": _l("Pago"),
    "receipt": _l("Comprobante"),
    "refund": _l("Reintegro"),
    "supplier": _l("Proveedor"),
}


# A finding's evidence: the name of each datum and of the kinds of things it names (never the raw key).
EVIDENCE_LABELS = {
    "active_days": _l("Días activo"),
    "advance_id": _l("Anticipo N.º"),
    "agreement": _l("Convenio"),
    "agreement_amount": _l("Monto del convenio"),
    "agreement_spending": _l("Gasto del convenio"),
    "agreement_status": _l("Estado del convenio"),
    "agreements": _l("Convenios"),
    "allocation_amount": _l("Monto asignado"),
    "allowed_by_monitoring": _l("Permitido por seguimiento"),
    "amount": _l("Monto"),
    "approved": _l("Aprobado"),
    "bank_name": _l("Banco"),
    "bank_reference": _l("Referencia bancaria"),
    "beneficiary_id": _l("Beneficiario N.º"),
    "budget_line": _l("Línea presupuestaria"),
    "category": _l("Categoría"),
    "changes": _l("Cambios"),
    "checked_on": _l("Revisado el"),
    "date": _l("Fecha"),
    "days": _l("Días"),
    "days_before": _l("Días antes"),
    "days_early": _l("Días de anticipación"),
    "days_overdue": _l("Días de atraso"),
    "days_waiting": _l("Días de espera"),
    "declared_at": _l("Declarado el"),
    "decree": _l("Decreto"),
    "deposit_date": _l("Fecha del depósito"),
    "disbursed": _l("Desembolsado"),
    "document_number": _l("Número de documento"),
    "document_type": _l("Tipo de documento"),
    "effective": _l("Vigente desde"),
    "enrollment_id": _l("Inscripción N.º"),
    "enrollments": _l("Inscripciones"),
    "events_verified": _l("Eventos verificados"),
    "excess": _l("Exceso"),
    "executed_at": _l("Ejecutado el"),
    "field": _l("Dato"),
    "first_broken_seq": _l("Primera secuencia rota"),
    "fiscal_year": _l("Año fiscal"),
    "id": _l("N.º"),
    "invoice": _l("Factura"),
    "invoice_id": _l("Factura N.º"),
    "invoice_line": _l("Línea de la factura"),
    "invoices": _l("Facturas"),
    "issue_date": _l("Fecha de emisión"),
    "kind": _l("Tipo"),
    "liquidated": _l("Liquidado"),
    "liquidation_due": _l("Liquidación vence el"),
    "matches": _l("Coincidencias"),
    "minimum_receipts": _l("Mínimo de comprobantes"),
    "moved_at": _l("Movido el"),
    "name": _l("Nombre"),
    "number": _l("Número"),
    "outstanding": _l("Saldo pendiente"),
    "overlap_from": _l("Coinciden desde"),
    "overlap_until": _l("Coinciden hasta"),
    "paid": _l("Pagado"),
    "period_days": _l("Días del período"),
    "period_end": _l("Fin del período"),
    "period_start": _l("Inicio del período"),
    "phone": _l("Teléfono"),
    "position": _l("Cargo"),
    "prefinancing_days": _l("Días de prefinanciamiento"),
    "reason": _l("Motivo"),
    "receipt_status": _l("Estado del comprobante"),
    "receipts": _l("Comprobantes"),
    "received_on": _l("Recibido el"),
    "recorded_at": _l("Registrado el"),
    "refunded": _l("Reintegrado"),
    "round_amount": _l("Monto en cifras redondas"),
    "round_receipts": _l("Comprobantes en cifras redondas"),
    "share": _l("Proporción"),
    "since": _l("Desde"),
    "spent": _l("Gastado"),
    "status": _l("Estado"),
    "superseded_at": _l("Reemplazado el"),
    "supplier_decided_at": _l("Proveedor decidido el"),
    "supplier_id": _l("Proveedor N.º"),
    "supplier_name": _l("Proveedor"),
    "supplier_status": _l("Estado del proveedor"),
    "supplier_tax_id": _l("NIT o DUI del proveedor"),
    "supplier_version": _l("Versión del proveedor"),
    "suppliers": _l("Proveedores"),
    "term_end": _l("Fin del plazo"),
    "term_start": _l("Inicio del plazo"),
    "threshold": _l("Umbral"),
    "threshold_share": _l("Proporción límite"),
    "total": _l("Total"),
    "tranche": _l("Desembolso"),
    "transfer_date": _l("Fecha de transferencia"),
    "transferred": _l("Transferido"),
    "unit_price": _l("Precio unitario"),
    "units": _l("Unidades"),
    "until": _l("Hasta"),
    "use": _l("Uso"),
    "used_at": _l("Usado el"),
    "uses": _l("Usos"),
    "with": _l("Con"),
}

EVIDENCE_VALUE_LABELS = {
    "payment": _l("Pago"),
    "advance": _l("Anticipo"),
    "invoice": _l("Factura"),
    "receipt": _l("Comprobante"),
    "tax_id": _l("NIT/DUI"),
    "bank_account": _l("Cuenta bancaria"),
    "address": _l("Dirección"),
    "organization_nit": _l("NIT de la organización"),
    "legal_representative": _l("Representante legal"),
    "board_member": _l("Miembro de la junta directiva"),
    "organization_bank_account": _l("Cuenta bancaria de la organización"),
    "organization_address": _l("Dirección de la organización"),
    "organization_phone": _l("Teléfono de la organización"),
}

_EVIDENCE_MONEY = {"agreement_amount", "agreement_spending", "allocation_amount", "amount", "approved", "disbursed",
                   "excess", "liquidated", "outstanding", "paid", "refunded", "round_amount", "spent", "threshold",
                   "total", "transferred", "unit_price"}
_EVIDENCE_SHARES = {"share", "threshold_share"}
_EVIDENCE_STATES = {"agreement_status": AGREEMENT_STATE_LABELS, "receipt_status": RECEIPT_STATE_LABELS,
                    "supplier_status": SUPPLIER_STATE_LABELS, "status": ENROLLMENT_STATE_LABELS}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def evidence_label(key: str):
    """The name of a datum of a finding's evidence (the key itself only for one no rule writes)."""
    return EVIDENCE_LABELS.get(key, key)


def evidence_value(key: str, value) -> str:
    """One plain datum of a finding's evidence as people read it: days dd/mm/yyyy, moments with the hour
    (El Salvador), amounts in dollars, shares in percent, states and kinds by their label, yes/no."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("Sí") if value else _l("No"))
    if key in _EVIDENCE_STATES and value in _EVIDENCE_STATES[key]:
        return str(_EVIDENCE_STATES[key][value])
    if isinstance(value, str) and value in EVIDENCE_VALUE_LABELS:
        return str(EVIDENCE_VALUE_LABELS[value])
    if key in _EVIDENCE_MONEY:
        return formats.usd(value)
    if key in _EVIDENCE_SHARES:
        return formats.percent(Decimal(str(value)) * 100)
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        return formats.moment(value)
    if isinstance(value, str) and _ISO_DAY.match(value):
        return formats.day(value)
    return str(value)


def evidence_text(key: str, value) -> str:
    """A datum of the evidence on one line (a workbook cell): nested data as «name: value» pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{evidence_label(k)}: {evidence_text(k, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(evidence_text(key, v) for v in value)
    return evidence_value(key, value)
