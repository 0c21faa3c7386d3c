"""Incidents (incumplimientos) of an agreement and the measure each one takes. Flush, never commit.

* Who records and resolves: the agreement's designated administrator (``FOLLOW_UP_WRITE``) or a
  holder of ``AGREEMENTS_MANAGE`` (legal team, system administration).
* A **termination** incident ends the agreement for good (``agreements.terminate_agreement``),
  so only ``AGREEMENTS_MANAGE`` holders record one; the administrator gets a 403 that says so
  (they may record a suspension and ask the legal team to terminate).
* A **suspension** incident suspends the agreement at once (``agreements.suspend_agreement``,
  FOR UPDATE on the agreement): payments and advances stop in the same transaction. The reason
  on the agreement cites the incident.
* The agreement is in execution, suspended or closing when an incident is recorded; a
  suspension needs it in execution, a termination any state before liquidation.
* Evidence (optional): PDF, JPEG or PNG by its first bytes, within ``INCIDENT_EVIDENCE_MAX_BYTES``
  (default: ``RECEIPT_SCAN_MAX_BYTES``), stored by SHA-256 (``grants.services.files``).
* Resolving records the resolution; ``resume=True`` also resumes the suspended agreement
  (``agreements.resume_agreement``; "resumption is recorded too": in the agreement's history and
  in the ``incident.resolved`` event). It is refused while another open suspension incident of
  the agreement remains.
* Every step is audited; the NGO's users are notified.
"""
from __future__ import annotations

import os

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.extensions import db
from grants.models import Agreement, Incident
from grants.models.base import utcnow
from grants.models.followup import MEASURES, SEVERITIES
from grants.permissions import Permission
from grants.services import agreements, files
from grants.services.errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.services.followup import as_date, clean_text, load_agreement, require_state
from grants.services.notifications import notify, users_of_organization
from grants.workflows.agreement import AgreementState

EVIDENCE_FOLDER = "incidents"
EVIDENCE_TYPES = ((b"%PDF-", ".pdf"), (b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"))
RECORDING_STATES = (AgreementState.IN_EXECUTION, AgreementState.SUSPENDED, AgreementState.CLOSING)
MAX_TEXT = 10000

SEVERITY_LABELS = {
    "low": _l("Leve"),
    "medium": _l("Moderada"),
    "high": _l("Grave"),
    "critical": _l("Muy grave"),
}
MEASURE_LABELS = {
    "observation": _l("Observación a la organización"),
    "sanction": _l("Sanción"),
    "suspension": _l("Suspensión del convenio"),
    "termination": _l("Terminación anticipada del convenio"),
}
INCIDENT_STATE_LABELS = {"open": _l("Abierto"), "resolved": _l("Resuelto")}


# --- who ---------------------------------------------------------------------------------------

def may_act(user, agreement: Agreement) -> bool:
    """The agreement's administrator, or a holder of AGREEMENTS_MANAGE."""
    return user is not None and (user.can(Permission.AGREEMENTS_MANAGE) or (
        user.can(Permission.FOLLOW_UP_WRITE) and user.id == agreement.administrator_id))


def _require(actor: Actor, agreement: Agreement) -> None:
    if not may_act(actor.user, agreement):
        raise Forbidden(_l("Solo el administrador designado del convenio, el área jurídica o la administración "
                           "del sistema registran y resuelven incumplimientos."))


def _load_incident(actor: Actor, incident_id: int) -> tuple[Incident, Agreement]:
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is None or actor.user is None or not incident.is_visible_to(actor.user):
        raise NotFound()
    _require(actor, incident.agreement)
    # The agreement first (FOR UPDATE, as a suspension takes it), then the incident.
    agreement = db.session.get(Agreement, incident.agreement_id, with_for_update=True, populate_existing=True)
    incident = db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    return incident, agreement


# --- evidence ----------------------------------------------------------------------------------

def evidence_limit() -> int:
    return int(current_app.config["INCIDENT_EVIDENCE_MAX_BYTES"])


def _check_evidence(data: bytes | None, filename: str | None, errors: FieldErrors) -> tuple[str, str] | None:
    """(suffix, clean file name) of an acceptable evidence file; field errors otherwise."""
    limit = evidence_limit()
    if not data:
        errors.add("evidence", _l("Adjunte el archivo."))
        return None
    if len(data) > limit:
        errors.add("evidence", _l("El archivo supera el máximo de %(mb)s MB.", mb=max(1, limit // (1024 * 1024))))
        return None
    suffix = next((s for magic, s in EVIDENCE_TYPES if data.startswith(magic)), None)
    if suffix is None:
        errors.add("evidence", _l("La evidencia debe ser PDF, JPEG o PNG."))
        return None
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200] or f"evidencia{suffix}"
    return suffix, name


def evidence_path(incident: Incident):
    if not incident.evidence_sha256:
        return None
    for _magic, suffix in EVIDENCE_TYPES:
        path = files.stored_path(EVIDENCE_FOLDER, incident.evidence_sha256, suffix)
        if path.exists():
            return path
    return None


def evidence_mimetype(incident: Incident) -> str:
    path = evidence_path(incident)
    suffix = path.suffix if path else ".pdf"
    return {".pdf": "application/pdf", ".jpg": "image/jpeg", ".png": "image/png"}[suffix]


# --- record --------------------------------------------------------------------------------------

def _clean(agreement: Agreement, data: dict, errors: FieldErrors) -> dict:
    occurred_on = as_date(data.get("occurred_on"), "occurred_on", errors)
    if occurred_on is not None:
        earliest = agreement.signed_on or agreement.start_date
        if occurred_on > today():
            errors.add("occurred_on", _l("La fecha del incumplimiento no puede ser futura."))
        elif occurred_on < earliest:
            errors.add("occurred_on", _l("La fecha del incumplimiento es anterior a la firma del convenio (%(day)s).",
                                         day=earliest.strftime("%d/%m/%Y")))
    severity = data.get("severity")
    if severity not in SEVERITIES:
        errors.add("severity", _l("Elija la gravedad: leve, moderada, grave o muy grave."))
    measure = data.get("measure")
    if measure not in MEASURES:
        errors.add("measure", _l("Elija la medida: observación, sanción, suspensión o terminación."))
    return {"occurred_on": occurred_on, "severity": severity, "measure": measure,
            "description": clean_text(data.get("description"), "description", MAX_TEXT, errors, required=True),
            "measure_detail": clean_text(data.get("measure_detail"), "measure_detail", MAX_TEXT, errors,
                                         required=True)}


def _measure_allowed(actor: Actor, agreement: Agreement, measure: str) -> None:
    if measure == "termination":
        if not actor.user.can(Permission.AGREEMENTS_MANAGE):
            raise Forbidden(_l("La terminación anticipada la registra el área jurídica o la administración del "
                               "sistema; el administrador del convenio puede suspenderlo y solicitarla."),
                            code="termination_not_allowed")
    elif measure == "suspension" and agreement.status != AgreementState.IN_EXECUTION:
        raise Conflict(_l("El convenio %(number)s no está en ejecución: solo se suspende un convenio en ejecución.",
                          number=agreement.number), code="agreement_not_in_execution")


def _spanish(message) -> str:
    """Reasons stored on the agreement are written in the service's language (Spanish)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(message)


def _reason(incident: Incident, text: str) -> str:
    return _spanish(_l("Incumplimiento N.º %(id)s: %(text)s", id=incident.id, text=text))


def record_incident(actor: Actor, agreement_id: int, data: dict, evidence: bytes | None = None,
                    filename: str | None = None) -> Incident:
    """Record an incident and take its measure (suspension and termination at once)."""
    agreement = load_agreement(actor, agreement_id)
    _require(actor, agreement)
    agreement = db.session.get(Agreement, agreement.id, with_for_update=True, populate_existing=True)
    require_state(agreement, RECORDING_STATES, _l("los incumplimientos se registran con el convenio en ejecución, "
                                                  "suspendido o en cierre."))
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    values = _clean(agreement, data, errors)
    checked = _check_evidence(evidence, filename, errors) if evidence is not None else None
    errors.raise_if_any()
    _measure_allowed(actor, agreement, values["measure"])
    incident = Incident(agreement_id=agreement.id, organization_id=agreement.organization_id,
                        reported_by_id=actor.user_id, status="open", **values)
    if checked:
        suffix, name = checked
        incident.evidence_sha256 = files.store(evidence, EVIDENCE_FOLDER, suffix).sha256
        incident.evidence_filename = name
    db.session.add(incident)
    db.session.flush()
    record_event(db.session, actor, "incident.recorded", "incident", incident.id, after=snapshot(incident),
                 organization_id=incident.organization_id)
    notify(users_of_organization(agreement.organization_id), "incident.recorded",
           _l("Incumplimiento registrado en el convenio %(number)s", number=agreement.number),
           _l("Gravedad: %(severity)s. Medida: %(measure)s. %(detail)s", severity=SEVERITY_LABELS[incident.severity],
              measure=MEASURE_LABELS[incident.measure], detail=incident.measure_detail),
           link=f"/incidents/{incident.id}")
    if incident.measure == "suspension":
        agreements.suspend_agreement(actor, agreement.id, _reason(incident, incident.measure_detail))
    elif incident.measure == "termination":
        agreements.terminate_agreement(actor, agreement.id, _reason(incident, incident.measure_detail))
    return incident


def attach_evidence(actor: Actor, incident_id: int, data: bytes, filename: str | None = None) -> Incident:
    """Attach (or replace) the evidence of an open incident."""
    incident, _agreement = _load_incident(actor, incident_id)
    errors = FieldErrors()
    checked = _check_evidence(data, filename, errors)
    errors.raise_if_any()
    if incident.status != "open":
        raise Conflict(_l("El incumplimiento ya está resuelto: su evidencia no cambia."), code="incident_resolved")
    suffix, name = checked
    before = snapshot(incident)
    incident.evidence_sha256 = files.store(data, EVIDENCE_FOLDER, suffix).sha256
    incident.evidence_filename = name
    db.session.flush()
    record_event(db.session, actor, "incident.evidence_attached", "incident", incident.id, before=before,
                 after=snapshot(incident), organization_id=incident.organization_id)
    return incident


# --- resolve -------------------------------------------------------------------------------------

def resolve_incident(actor: Actor, incident_id: int, resolution: str, resume: bool = False) -> Incident:
    """Record how the incident was resolved; ``resume`` also resumes the suspended agreement."""
    incident, agreement = _load_incident(actor, incident_id)
    text = str(resolution or "").strip()
    if not text:
        raise ValidationFailed(errors={"resolution": [_l("Indique cómo se resolvió el incumplimiento.")]})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(errors={"resolution": [_l("Máximo %(n)s caracteres.", n=MAX_TEXT)]})
    if incident.status != "open":
        raise Conflict(_l("El incumplimiento N.º %(id)s ya está resuelto.", id=incident.id),
                       code="incident_resolved")
    if resume:
        if agreement.status != AgreementState.SUSPENDED:
            raise Conflict(_l("El convenio %(number)s no está suspendido: no hay nada que reanudar.",
                              number=agreement.number), code="agreement_not_suspended")
        others = db.session.scalars(select(Incident.id).where(
            Incident.agreement_id == agreement.id, Incident.id != incident.id, Incident.status == "open",
            Incident.measure == "suspension").order_by(Incident.id)).all()
        if others:
            raise Conflict(_l("No se reanuda el convenio mientras sigan abiertos otros incumplimientos con "
                              "suspensión: N.º %(ids)s.", ids=", ".join(str(i) for i in others)),
                           code="open_suspensions")
    before = snapshot(incident)
    incident.status = "resolved"
    incident.resolution = text
    incident.resolved_by_id = actor.user_id
    incident.resolved_at = utcnow()
    db.session.flush()
    record_event(db.session, actor, "incident.resolved", "incident", incident.id, before=before,
                 after={**snapshot(incident), "resumed": bool(resume)}, organization_id=incident.organization_id)
    notify(users_of_organization(agreement.organization_id), "incident.resolved",
           _l("Incumplimiento N.º %(id)s resuelto (convenio %(number)s)", id=incident.id, number=agreement.number),
           text, link=f"/incidents/{incident.id}")
    if resume:
        agreements.resume_agreement(actor, agreement.id, _spanish(_l("Incumplimiento N.º %(id)s resuelto: %(text)s",
                                                                     id=incident.id, text=text)))
    return incident
