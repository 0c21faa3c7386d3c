"""Builders for the follow-up tests: an agreement in execution with money and enrollments
(``tests.money.payment_helpers.payments_setup``), report bodies and incident bodies."""
from __future__ import annotations

from grants.audit import Actor
from grants.extensions import db
from grants.services import followup, incidents
from tests.pdfs import tiny_jpeg, tiny_png
from tests.timeline import iso

PNG = tiny_png()
JPEG = tiny_jpeg()
# A measure that takes effect at once (urgent, with its reason): the tests of what a suspension or a
# termination does; the due process before a measure is tested in test_due_process.py.
URGENT = {"urgent": True, "urgent_reason": "Riesgo inminente para los fondos públicos."}


def act(user) -> Actor:
    return Actor.for_user(user)


def report_data(ctx, start=iso("2026-03-01"), end=iso("2026-03-31"), progress=("25.00", "10.50"), value="40.00",
                **overrides) -> dict:
    version = ctx["agreement"].plan_version
    activities = sorted(version.activities, key=lambda a: a.position)
    indicators = sorted(version.indicators, key=lambda i: i.position)
    data = {"period_start": start, "period_end": end,
            "activities": [{"activity_id": a.id, "progress": p, "notes": f"Avance de {a.name}"}
                           for a, p in zip(activities, progress)],
            "indicators": [] if value is None else [{"indicator_id": indicators[0].id, "value": value,
                                                     "notes": "Listas de asistencia"}],
            "observations": "Sin novedades."}
    data.update(overrides)
    return data


def reported(ctx, **kwargs):
    report = followup.create_report(act(ctx["administrator"]), ctx["agreement"].id, report_data(ctx, **kwargs))
    db.session.commit()
    return report


def incident_data(measure="observation", **overrides) -> dict:
    data = {"occurred_on": iso("2026-04-10"), "severity": "high",
            "description": "La organización no presentó las listas de asistencia de marzo.",
            "measure": measure, "measure_detail": "Entregar las listas en diez días hábiles."}
    data.update(overrides)
    return data


def recorded(ctx, measure="observation", by="administrator", evidence=None, **overrides):
    incident = incidents.record_incident(act(ctx[by]), ctx["agreement"].id, incident_data(measure, **overrides),
                                         evidence, "evidencia.png" if evidence else None)
    db.session.commit()
    return incident
