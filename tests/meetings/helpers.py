"""Builders for the meeting tests: an agreement in execution (``tests.agreement_helpers``), meeting
and commitment bodies on the tests' calendar (``tests.timeline``)."""
from __future__ import annotations

from grants.audit import Actor
from grants.extensions import db
from grants.services import meetings
from tests.timeline import iso


def act(user) -> Actor:
    return Actor.for_user(user)


def participants() -> list[dict]:
    return [{"name": "Licda. Karla Mejía", "institution": "ministry", "position": "Seguimiento y contraloría"},
            {"name": "Carlos Menjívar", "institution": "ngo", "position": "Representante legal"}]


def commitment(owner, due: str, description: str = "Entregar la lista de asistencia de junio.") -> dict:
    return {"description": description, "owner_id": owner.id, "due_on": due}


def meeting_data(held_on: str | None = None, commitments=(), **overrides) -> dict:
    data = {"held_on": held_on or iso("2026-06-15"), "place": "Oficinas del MJSP, San Salvador",
            "subject": "Avance del primer trimestre",
            "minutes": "Se revisó el avance de los talleres; la organización presentará las listas pendientes.",
            "participants": participants(), "commitments": list(commitments)}
    data.update(overrides)
    return data


def recorded(ctx, by: str = "administrator", stage: str = "agreement", record=None, **kwargs):
    record = record if record is not None else ctx["agreement"]
    meeting = meetings.record_meeting(act(ctx[by]), stage, record.id, meeting_data(**kwargs))
    db.session.commit()
    return meeting
