"""Due process of an incident's measure (issue 10 §5). Flush, never commit.

A sanction, suspension or termination that is not urgent is *proposed*: the NGO is notified and may
answer (descargo) until ``reply_due`` (``INCIDENT_REPLY_WORKING_DAYS`` working days), with
attachments. The ministry then **applies** the measure (it takes effect: ``incidents.take_effect``)
or **withdraws** it, saying why — but never before the NGO replied or its deadline passed: nobody is
sanctioned without being heard. Every step is audited and notified.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import Agreement, Incident, IncidentReply
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.services import attachments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.services.incidents import MAX_TEXT, MEASURE_LABELS, take_effect
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows.incident import MEASURE_LIFECYCLE, MeasureAction

MAX_REPLY_FILES = 10


def _incident_for_update(incident_id: int, user) -> tuple[Incident, Agreement]:
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is None or user is None or not incident.is_visible_to(user):
        raise NotFound()
    agreement = db.session.get(Agreement, incident.agreement_id, with_for_update=True, populate_existing=True)
    return db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True), agreement


def reply_to_incident(actor: Actor, incident_id: int, text: str | None,
                      files: list[tuple[str, bytes]] | None = None) -> IncidentReply:
    """The NGO's descargo: text and attachments (PDF, JPEG or PNG), once, by the deadline."""
    user = actor.user
    incident, agreement = _incident_for_update(incident_id, user)
    refusal = incident.refusal_for(user, "reply")
    if refusal == "forbidden":
        raise Forbidden(_l("El descargo lo presenta la organización del convenio."))
    if refusal == "no_reply_expected":
        raise Conflict(_l("Este incumplimiento no espera descargo: su medida ya fue decidida o no lo requiere."),
                       code="no_reply_expected")
    if refusal == "reply_exists":
        raise Conflict(_l("La organización ya presentó su descargo."), code="reply_exists")
    if refusal == "reply_overdue":
        raise Conflict(_l("El plazo del descargo venció el %(day)s.", day=formats.day(incident.reply_due)),
                       code="reply_overdue")
    body = (text or "").strip() if isinstance(text, (str, type(None))) else ""
    if not body:
        raise ValidationFailed(errors={"text": [_l("Escriba el descargo.")]})
    if len(body) > MAX_TEXT:
        raise ValidationFailed(errors={"text": [_l("Máximo %(n)s caracteres.", n=MAX_TEXT)]})
    files = [f for f in (files or []) if f and (f[0] or f[1])]  # a named empty file is refused, not dropped
    if len(files) > MAX_REPLY_FILES:
        raise ValidationFailed(errors={"files": [_l("Máximo %(n)s archivos.", n=MAX_REPLY_FILES)]})
    reply = IncidentReply(incident=incident, organization_id=incident.organization_id, text=body,
                          submitted_by_id=actor.user_id, submitted_at=utcnow())
    db.session.add(reply)
    db.session.flush()
    record_event(db.session, actor, "incident.reply_submitted", "incident", incident.id,
                 after={"reply": snapshot(reply)}, organization_id=incident.organization_id)
    for name, data in files:
        attachments.attach(actor, reply, "incident_reply", name, data, organization_id=incident.organization_id,
                           field="files")
    staff = [agreement.administrator] if agreement.administrator else []
    notify(staff + users_with_role(Role.LEGAL_REVIEWER), "incident.replied",
           _l("Descargo presentado: incumplimiento N.º %(id)s (convenio %(number)s)", id=incident.id,
              number=agreement.number),
           _l("La organización respondió a la medida propuesta; decida si se aplica o se retira."),
           link=f"/incidents/{incident.id}")
    return reply


def decide_measure(actor: Actor, incident_id: int, apply: bool, note: str | None) -> Incident:
    """After the reply (or its deadline) the ministry applies the measure or withdraws it (with the reason)."""
    incident, agreement = _incident_for_update(incident_id, actor.user)
    refusal = incident.refusal_for(actor.user, "decide_measure")
    if refusal == "forbidden":
        raise Forbidden(_l("Solo el administrador del convenio, el área jurídica o la administración del sistema "
                           "deciden la medida."))
    if refusal == "measure_decided":
        raise Conflict(_l("La medida ya fue decidida."), code="measure_decided")
    if refusal == "reply_period_open":
        raise Conflict(_l("La organización puede presentar su descargo hasta el %(day)s: la medida se decide después "
                          "de su respuesta o de ese día.", day=formats.day(incident.reply_due)),
                       code="reply_period_open")
    text = (note or "").strip() if isinstance(note, (str, type(None))) else ""
    if not apply and not text:
        raise ValidationFailed(errors={"note": [_l("Explique por qué se retira la medida.")]})
    if len(text) > MAX_TEXT:
        raise ValidationFailed(errors={"note": [_l("Máximo %(n)s caracteres.", n=MAX_TEXT)]})
    if apply and incident.measure == "termination" and not actor.user.can(Permission.AGREEMENTS_MANAGE):
        raise Forbidden(_l("La terminación la aplica el área jurídica o la administración del sistema."),
                        code="termination_not_allowed")
    before = snapshot(incident)
    incident.measure_status = MEASURE_LIFECYCLE.next_state(incident.measure_status, MeasureAction.APPLY if apply
                                                                   else MeasureAction.WITHDRAW)
    incident.measure_decided_by_id, incident.measure_decided_at = actor.user_id, utcnow()
    incident.measure_decision_note = text or None
    db.session.flush()
    record_event(db.session, actor, "incident.measure_applied" if apply else "incident.measure_withdrawn",
                 "incident", incident.id, before=before, after=snapshot(incident),
                 organization_id=incident.organization_id)
    if apply:
        take_effect(actor, incident, agreement)
    notify(users_of_organization(incident.organization_id), "incident.measure_decided",
           _l("Medida aplicada: %(measure)s (incumplimiento N.º %(id)s)", measure=MEASURE_LABELS[incident.measure],
              id=incident.id) if apply else
           _l("Medida retirada: %(measure)s (incumplimiento N.º %(id)s)", measure=MEASURE_LABELS[incident.measure],
              id=incident.id),
           text or "", link=f"/incidents/{incident.id}")
    return incident
