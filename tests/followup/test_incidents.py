"""Incidents: who records them, their measure (a suspension stops payments and advances at once;
termination only by the legal team / system administration), evidence, resolution and resumption."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent, Incident, Notification
from grants.services import advances, agreements, attachments, incidents, payments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import make_agreement_in_execution, make_user
from tests.followup.helpers import JPEG, PNG, URGENT, act, incident_data, recorded
from tests.money import payment_helpers as ph
from tests.timeline import days_from_today, dmy, iso


@pytest.fixture
def ctx(app):
    return ph.payments_setup(beneficiaries=False)


def actions(entity_type, entity_id) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.seq)))


def notes(user, kind) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                              Notification.kind == kind)))


def request_advance(ctx, tranche=1):
    return advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": tranche,
                                                                           "purpose": "Talleres"})


# --- suspension and resumption -------------------------------------------------------------------

def test_a_suspension_incident_stops_payments_and_advances_at_once_and_resumption_lets_them_through(ctx):
    invoice = ph.certified(ctx, [ph.line(1, "2", "50.00")])
    incident = recorded(ctx, "suspension", **URGENT, measure_detail="Suspender hasta que entregue las listas.")
    agreement = ctx["agreement"]
    assert agreement.status == "suspended"
    assert agreement.status_reason == f"Incumplimiento N.º {incident.id}: Suspender hasta que entregue las listas."
    assert (agreement.history[-1].action, agreement.history[-1].actor_id) == ("suspend", ctx["administrator"].id)

    with pytest.raises(Conflict) as caught:
        payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    assert caught.value.code == "agreement_not_in_execution" and "Suspendido" in caught.value.detail
    with pytest.raises(Conflict) as caught:
        request_advance(ctx)
    assert caught.value.code == "agreement_not_in_execution"
    db.session.rollback()

    resolved = incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Listas entregadas el 20/04.",
                                          resume=True)
    db.session.commit()
    assert (resolved.status, resolved.resolution, resolved.resolved_by_id) == (
        "resolved", "Listas entregadas el 20/04.", ctx["administrator"].id)
    assert resolved.resolved_at is not None
    assert agreement.status == "in_execution"
    assert agreement.history[-1].reason == f"Incumplimiento N.º {incident.id} resuelto: Listas entregadas el 20/04."
    payment = payments.prepare_payment(act(ctx["treasury"]), invoice.id)
    advance = request_advance(ctx)
    db.session.commit()
    assert (payment.status, str(payment.amount), advance.status) == ("prepared", "100.00", "requested")

    assert actions("incident", incident.id) == ["incident.recorded", "incident.resolved"]
    assert actions("agreement", agreement.id)[-2:] == ["agreement.suspended", "agreement.resumed"]
    resolved_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "incident.resolved"))
    assert (resolved_event.before["status"], resolved_event.after["status"], resolved_event.after["resumed"]) == (
        "open", "resolved", True)
    for kind in ("incident.recorded", "incident.resolved", "agreement.suspended", "agreement.resumed"):
        assert len(notes(ctx["ngo"], kind)) == 1, kind
    assert notes(ctx["ngo"], "incident.recorded")[0].link == f"/incidents/{incident.id}"


def test_resolving_without_resuming_leaves_the_agreement_suspended(ctx):
    incident = recorded(ctx, "suspension", **URGENT)
    incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Se tramitará la terminación.")
    db.session.commit()
    assert (incident.status, ctx["agreement"].status) == ("resolved", "suspended")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "incident.resolved"))
    assert event.after["resumed"] is False


def test_resume_refused_when_not_suspended_or_while_another_suspension_is_open(ctx):
    observation = recorded(ctx, "observation")
    with pytest.raises(Conflict) as caught:
        incidents.resolve_incident(act(ctx["administrator"]), observation.id, "Corregido", resume=True)
    assert caught.value.code == "agreement_not_suspended"
    db.session.rollback()
    first = recorded(ctx, "suspension", **URGENT)
    agreements.resume_agreement(act(ctx["legal"]), ctx["agreement"].id, "Reanudado por el área jurídica")
    second = recorded(ctx, "suspension", **URGENT, occurred_on=iso("2026-05-02"))
    with pytest.raises(Conflict) as caught:
        incidents.resolve_incident(act(ctx["administrator"]), second.id, "Corregido", resume=True)
    assert caught.value.code == "open_suspensions" and f"N.º {first.id}" in caught.value.detail
    db.session.rollback()
    incidents.resolve_incident(act(ctx["administrator"]), first.id, "Corregido")
    incidents.resolve_incident(act(ctx["administrator"]), second.id, "Corregido", resume=True)
    assert ctx["agreement"].status == "in_execution"


def test_a_suspension_needs_an_agreement_in_execution(ctx):
    recorded(ctx, "suspension", **URGENT)
    with pytest.raises(Conflict) as caught:
        recorded(ctx, "suspension", **URGENT)
    assert caught.value.code == "agreement_not_in_execution"
    db.session.rollback()
    assert recorded(ctx, "sanction", sanction_type="written_warning").measure == "sanction"  # other measures
    assert ctx["agreement"].status == "suspended"


# --- termination ----------------------------------------------------------------------------------

def test_only_the_legal_team_or_system_administration_records_a_termination(ctx):
    with pytest.raises(Forbidden) as caught:
        recorded(ctx, "termination", **URGENT)
    assert caught.value.code == "termination_not_allowed"
    assert "área jurídica" in caught.value.detail
    db.session.rollback()
    assert ctx["agreement"].status == "in_execution"
    assert db.session.scalar(select(Incident.id)) is None
    incident = recorded(ctx, "termination", **URGENT, by="legal",
                        measure_detail="Terminación por desvío de fondos.")
    agreement = ctx["agreement"]
    assert (agreement.status, agreement.status_reason) == (
        "terminated", f"Incumplimiento N.º {incident.id}: Terminación por desvío de fondos.")
    assert incident.reported_by_id == ctx["legal"].id
    with pytest.raises(Conflict):
        request_advance(ctx)


# --- who, what, evidence -------------------------------------------------------------------------

def test_who_records_and_resolves(ctx):
    for user in (make_user(["administrator"]), ctx["ngo"], ctx["monitoring"], ctx["treasury"]):
        with pytest.raises(Forbidden):
            incidents.record_incident(act(user), ctx["agreement"].id, incident_data())
    with pytest.raises(NotFound):
        incidents.record_incident(act(make_agreement_in_execution()["ngo"]), ctx["agreement"].id, incident_data())
    incident = recorded(ctx, by="legal")
    with pytest.raises(Forbidden):
        incidents.resolve_incident(act(make_user(["administrator"])), incident.id, "Corregido")
    with pytest.raises(Forbidden):
        incidents.resolve_incident(act(ctx["ngo"]), incident.id, "Corregido")
    assert incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Corregido").status == "resolved"


def test_incident_fields_are_checked(ctx):
    cases = [
        ({"severity": "extreme"}, "severity"),
        ({"measure": "fine"}, "measure"),
        ({"description": "  "}, "description"),
        ({"measure_detail": ""}, "measure_detail"),
        ({"occurred_on": days_from_today(1).isoformat()}, "occurred_on"),  # tomorrow: future
        ({"occurred_on": iso("2026-01-01")}, "occurred_on"),     # before the signature (20/01/2026)
        ({"occurred_on": dmy("2026-04-10")}, "occurred_on"),          # dd/mm/yyyy: not a date here
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, incident_data(**overrides))
        assert list(caught.value.errors) == [field], overrides
    incident = recorded(ctx, occurred_on=iso("2026-01-20"), severity="critical")
    assert (incident.occurred_on.isoformat(), incident.severity, incident.status) == (iso("2026-01-20"), "critical", "open")


def test_evidence_is_a_pdf_jpeg_or_png_within_the_limit(ctx, app):
    incident = recorded(ctx, evidence=PNG)
    [evidence] = attachments.attachments_of(incident, "incident_evidence")
    assert (evidence.sha256, evidence.filename) == (hashlib.sha256(PNG).hexdigest(), "evidencia.png")
    assert (attachments.path_of(evidence).read_bytes(), evidence.content_type) == (PNG, "image/png")
    for data, words in ((b"GIF89a" + b"\x00" * 10, "PDF, JPEG, PNG"), (b"", "Adjunte")):
        with pytest.raises(ValidationFailed) as caught:
            incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, incident_data(), data, "x.gif")
        assert list(caught.value.errors) == ["evidence"] and words in str(caught.value.errors["evidence"][0])
    limit = app.config["INCIDENT_EVIDENCE_MAX_BYTES"]
    app.config["INCIDENT_EVIDENCE_MAX_BYTES"] = 32
    try:
        with pytest.raises(ValidationFailed) as caught:
            incidents.attach_evidence(act(ctx["administrator"]), incident.id, JPEG, "foto.jpg")
        assert "máximo" in str(caught.value.errors["evidence"][0])
    finally:
        app.config["INCIDENT_EVIDENCE_MAX_BYTES"] = limit
    incidents.attach_evidence(act(ctx["administrator"]), incident.id, JPEG, "C:\\fotos\\visita.jpg")
    db.session.commit()
    second = attachments.attachments_of(incident, "incident_evidence")[-1]
    assert (second.filename, second.content_type) == ("visita.jpg", "image/jpeg")
    assert actions("incident", incident.id) == ["incident.recorded"]
    assert [a.after["kind"] for a in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "attachment.added"))] == ["incident_evidence", "incident_evidence"]
    incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Corregido")
    with pytest.raises(Conflict) as caught:
        incidents.attach_evidence(act(ctx["administrator"]), incident.id, PNG, "otra.png")
    assert caught.value.code == "incident_resolved"


def test_resolution_is_required_and_happens_once(ctx):
    incident = recorded(ctx)
    with pytest.raises(ValidationFailed) as caught:
        incidents.resolve_incident(act(ctx["administrator"]), incident.id, "   ")
    assert list(caught.value.errors) == ["resolution"]
    incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Corregido")
    with pytest.raises(Conflict) as caught:
        incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Otra vez")
    assert caught.value.code == "incident_resolved"
