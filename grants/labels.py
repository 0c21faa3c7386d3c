"""Spanish labels (English through the catalogue) for states, disciplines, decisions, sections."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
