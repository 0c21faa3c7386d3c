"""Incidents (incumplimientos) of an agreement and the measure each one takes. Flush, never commit.

* Who records and resolves: the agreement's designated administrator (``FOLLOW_UP_WRITE``) or a
  holder of ``AGREEMENTS_MANAGE`` (legal team, system administration).
* A **termination** ends the agreement for good, so only ``AGREEMENTS_MANAGE`` holders propose one;
  the administrator gets a 403 that says so (they may propose a suspension and ask the legal team).
* **Due process** (issue 10 §5, ``grants.services.due_process``): an observation is the record itself
  and is in effect at once; a **sanction, suspension or termination** is notified to the NGO, which
  may reply (descargo, with attachments) within ``INCIDENT_REPLY_WORKING_DAYS`` working days; the
  measure takes effect only when the ministry applies it after the reply or the deadline
  (``measure_status``: ``pending_reply`` → ``in_effect`` | ``withdrawn``) — unless it is **urgent**,
  says why, and takes effect at once. Taking effect: a suspension suspends the agreement
  (``agreements.suspend_agreement``, FOR UPDATE: payments and advances stop in the same
  transaction), a termination terminates it, a fine is assessed in the agreement's ledger.
* A sanction states its type (written warning or fine) and a fine its amount; fines are collected by
  deposit (treasury confirms) or withheld from a later advance with the NGO's acceptance
  (``grants.services.fines``).
* The agreement is in execution, suspended or closing when an incident is recorded; a suspension
  needs it in execution, a termination any state before liquidation.
* Evidence (optional): attachments of kind ``incident_evidence`` (PDF, JPEG or PNG by content,
  within ``INCIDENT_EVIDENCE_MAX_BYTES``), ``grants.services.attachments``.
* Resolving records the resolution (not while a measure waits for its decision); ``resume=True``
  also resumes the suspended agreement (in the agreement's history and in the ``incident.resolved``
  event). It is refused while another open suspension incident of the agreement remains.
* Every step is audited; the NGO's users are notified.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.clock import add_working_days, today
from grants.extensions import db
from grants.models import Agreement, Incident
from grants.models.base import utcnow
from grants.models.followup import DUE_PROCESS_MEASURES, MEASURES, SANCTION_TYPES, SEVERITIES
from grants.permissions import Permission
from grants.services import agreements, attachments, ledger
from grants.domain_errors import Conflict, FieldErrors, FileTooLarge, Forbidden, NotFound, ValidationFailed
from grants.services.followup import as_date, clean_text, load_agreement, require_state
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization
from grants.workflows import incident as lifecycle
from grants.workflows.agreement import AgreementState
from grants.workflows.incident import IncidentAction, IncidentState

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
MEASURE_STATE_LABELS = {
    "pending_reply": _l("Propuesta: espera el descargo de la organización"),
    "in_effect": _l("En vigor"),
    "withdrawn": _l("Retirada"),
}
SANCTION_LABELS = {"written_warning": _l("Amonestación escrita"), "fine": _l("Multa")}


# --- who ---------------------------------------------------------------------------------------

def _require(actor: Actor, agreement: Agreement) -> None:
    if not agreement.overseen_by(actor.user):
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
    return attachments.kind_limit("incident_evidence")


def _check_evidence(data: bytes | None, filename: str | None, errors: FieldErrors) -> bool:
    """Whether the evidence is acceptable (PDF, JPEG or PNG by content, within the limit); field
    errors otherwise, collected with the form's others."""
    try:
        attachments.check_file(data, attachments.KINDS["incident_evidence"].types, evidence_limit(), "evidence")
        return True
    except FileTooLarge:
        raise  # 413, whatever else the form holds
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                errors.add(field, message)
        return False


# --- record --------------------------------------------------------------------------------------

def _clean(agreement: Agreement, data: dict, errors: FieldErrors) -> dict:
    occurred_on = as_date(data.get("occurred_on"), "occurred_on", errors)
    if occurred_on is not None:
        earliest = agreement.signed_on or agreement.start_date
        if occurred_on > today():
            errors.add("occurred_on", _l("La fecha del incumplimiento no puede ser futura."))
        elif occurred_on < earliest:
            errors.add("occurred_on", _l("La fecha del incumplimiento es anterior a la firma del convenio (%(day)s).",
                                         day=formats.day(earliest)))
    severity = data.get("severity")
    if severity not in SEVERITIES:
        errors.add("severity", _l("Elija la gravedad: leve, moderada, grave o muy grave."))
    measure = data.get("measure")
    if measure not in MEASURES:
        errors.add("measure", _l("Elija la medida: observación, sanción, suspensión o terminación."))
    values = {"occurred_on": occurred_on, "severity": severity, "measure": measure,
              "description": clean_text(data.get("description"), "description", MAX_TEXT, errors, required=True),
              "measure_detail": clean_text(data.get("measure_detail"), "measure_detail", MAX_TEXT, errors,
                                           required=True)}
    urgent = data.get("urgent", False)
    if not isinstance(urgent, bool):
        errors.add("urgent", _l("Indique sí o no."))
        urgent = False
    values["urgent"] = urgent and measure in DUE_PROCESS_MEASURES
    values["urgent_reason"] = clean_text(data.get("urgent_reason"), "urgent_reason", MAX_TEXT, errors,
                                         required=values["urgent"]) or None
    values["sanction_type"], values["fine_amount"] = None, None
    if measure == "sanction":
        kind = data.get("sanction_type")
        if kind not in SANCTION_TYPES:
            errors.add("sanction_type", _l("Indique el tipo de sanción: amonestación escrita o multa."))
        values["sanction_type"] = kind if kind in SANCTION_TYPES else None
        if kind == "fine":
            try:
                raw = data.get("fine_amount")
                if raw in (None, ""):
                    raise ValueError("missing")
                amount = parse_amount(raw)
                if amount <= 0 or amount > agreement.amount:
                    raise ValueError("range")
                values["fine_amount"] = amount
            except (ValueError, TypeError):
                errors.add("fine_amount", _l("Indique el monto de la multa: mayor que cero y no mayor que el convenio "
                                             "(%(amount)s).", amount=formats.usd(agreement.amount)))
        elif data.get("fine_amount") not in (None, ""):
            errors.add("fine_amount", _l("Solo una multa tiene monto."))
    return values


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
    waits = values["measure"] in DUE_PROCESS_MEASURES and not values["urgent"]
    incident = Incident(agreement_id=agreement.id, organization_id=agreement.organization_id,
                        reported_by_id=actor.user_id, status=IncidentState.OPEN,
                        measure_status=lifecycle.first_measure_state(waits),
                        reply_due=reply_deadline() if waits else None, **values)
    db.session.add(incident)
    db.session.flush()
    record_event(db.session, actor, "incident.recorded", "incident", incident.id, after=snapshot(incident),
                 organization_id=incident.organization_id)
    if checked:
        attachments.attach(actor, incident, "incident_evidence", filename, evidence,
                           organization_id=incident.organization_id, field="evidence")
    if waits:
        notify(users_of_organization(agreement.organization_id), "incident.recorded",
               _l("Incumplimiento notificado en el convenio %(number)s: puede presentar su descargo", number=agreement.number),
               _l("Medida propuesta: %(measure)s. %(detail)s Presente su descargo con sus pruebas a más tardar el "
                  "%(due)s; la medida no se aplica antes.", measure=MEASURE_LABELS[incident.measure],
                  detail=incident.measure_detail, due=formats.day(incident.reply_due)),
               link=f"/incidents/{incident.id}")
        return incident
    notify(users_of_organization(agreement.organization_id), "incident.recorded",
           _l("Incumplimiento registrado en el convenio %(number)s", number=agreement.number),
           _l("Gravedad: %(severity)s. Medida: %(measure)s. %(detail)s", severity=SEVERITY_LABELS[incident.severity],
              measure=MEASURE_LABELS[incident.measure], detail=incident.measure_detail),
           link=f"/incidents/{incident.id}")
    take_effect(actor, incident, agreement)
    return incident


def reply_deadline():
    """``INCIDENT_REPLY_WORKING_DAYS`` working days from today (El Salvador's date)."""
    return add_working_days(today(), int(current_app.config["INCIDENT_REPLY_WORKING_DAYS"]))


def take_effect(actor: Actor, incident: Incident, agreement: Agreement) -> None:
    """The measure applies now: a suspension suspends, a termination terminates, a fine is assessed
    in the agreement's ledger (an observation or a written warning is the record itself)."""
    if incident.measure == "suspension":
        agreements.suspend_agreement(actor, agreement.id, _reason(incident, incident.measure_detail))
    elif incident.measure == "termination":
        agreements.terminate_agreement(actor, agreement.id, _reason(incident, incident.measure_detail))
    elif incident.sanction_type == "fine":
        ledger.assess_fine(agreement.id, incident.fine_amount)


def attach_evidence(actor: Actor, incident_id: int, data: bytes, filename: str | None = None) -> Incident:
    """Add evidence to an open incident (PDF, JPEG or PNG by content; an attachment, audited)."""
    incident, _agreement = _load_incident(actor, incident_id)
    if incident.status != IncidentState.OPEN:
        raise Conflict(_l("El incumplimiento ya está resuelto: su evidencia no cambia."), code="incident_resolved")
    attachments.attach(actor, incident, "incident_evidence", filename, data,
                       organization_id=incident.organization_id, field="evidence")
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
    refusal = incident.refusal_for(actor.user, "resolve")
    if refusal == "incident_resolved":
        raise Conflict(_l("El incumplimiento N.º %(id)s ya está resuelto.", id=incident.id),
                       code="incident_resolved")
    if refusal == "measure_pending":
        raise Conflict(_l("La medida del incumplimiento N.º %(id)s espera el descargo de la organización (o su "
                          "plazo, %(due)s): decida primero si se aplica o se retira.", id=incident.id,
                          due=formats.day(incident.reply_due)), code="measure_pending")
    if resume:
        if agreement.status != AgreementState.SUSPENDED:
            raise Conflict(_l("El convenio %(number)s no está suspendido: no hay nada que reanudar.",
                              number=agreement.number), code="agreement_not_suspended")
        others = db.session.scalars(select(Incident.id).where(
            Incident.agreement_id == agreement.id, Incident.id != incident.id, Incident.status == IncidentState.OPEN,
            Incident.measure == "suspension").order_by(Incident.id)).all()
        if others:
            raise Conflict(_l("No se reanuda el convenio mientras sigan abiertos otros incumplimientos con "
                              "suspensión: N.º %(ids)s.", ids=", ".join(str(i) for i in others)),
                           code="open_suspensions")
    before = snapshot(incident)
    incident.status = lifecycle.next_state(incident.status, IncidentAction.RESOLVE)
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
