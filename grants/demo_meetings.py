"""The demo's technical meeting (mesa técnica) on ngo2's agreement, through the real services.

Held on the story's day 60 (two months into the term) by the agreement's administrator with
monitoring and two people of the NGO; the minutes are written and the signed PDF uploaded two days
later. Three commitments, so each state shows on the day the demo is loaded (day 150, see
``grants.demo``): the NGO completed its attendance list on time (done); the NGO's closing schedule
is due a month after the load (open, not yet due); the administrator's verification visit was due
on day 120 and is still open — it waits, overdue, on ``administrator@``'s home page.
"""
from __future__ import annotations

from grants import clock
from grants.services import meetings
from grants.services.demo_scan import demo_signed_scan

MINUTES = (
    "1. El administrador presentó el avance de los dos primeros meses: sesiones semanales en las colonias "
    "El Palmar y San Rafael, con asistencia estable.\n"
    "2. La organización informó que dos participantes nuevos no figuran en la lista de mayo; se acordó "
    "completarla antes del pago de la factura de refrigerios.\n"
    "3. Seguimiento y contraloría recordó que solo se pagan unidades de beneficiarios activos en el periodo "
    "del servicio.\n"
    "4. Se acordó una visita de verificación del mobiliario adquirido para los espacios seguros."
)


def demo_meetings(t, as_, agreement) -> None:
    """``t``: the demo's Timeline; ``as_(key)``: the Actor of a demo user; ``agreement``: ngo2's."""
    from grants.demo import DAYS_SINCE_START

    ngo, administrator = as_("ngo2").user, as_("administrator").user
    with clock.at(t.day(60)):
        meeting = meetings.record_meeting(as_("administrator"), "agreement", agreement.id, {
            "held_on": t.iso(60), "place": "Casa comunal de la colonia El Palmar, Santa Ana",
            "subject": "Avance de los dos primeros meses y listas de asistencia", "minutes": MINUTES,
            "participants": [
                {"name": "Ing. Ricardo Molina", "institution": "ministry", "position": "Administrador del convenio"},
                {"name": "Licda. Karla Mejía", "institution": "ministry", "position": "Seguimiento y contraloría"},
                {"name": agreement.organization.legal_rep_name, "institution": "ngo",
                 "position": "Representante legal"},
                {"name": "Rosa Amelia Guardado Pineda", "institution": "ngo", "position": "Coordinadora del programa"},
            ],
            "commitments": [
                {"description": "Completar la lista de asistencia de mayo con los dos participantes nuevos.",
                 "owner_id": ngo.id, "due_on": t.iso(75)},
                {"description": "Presentar el calendario de actividades de cierre del programa.",
                 "owner_id": ngo.id, "due_on": t.iso(DAYS_SINCE_START + 30)},
                {"description": "Visitar los dos espacios seguros y verificar el mobiliario adquirido.",
                 "owner_id": administrator.id, "due_on": t.iso(120)},
            ]})
    with clock.at(t.day(62)):
        meetings.attach_minutes(as_("administrator"), meeting.id, "acta-mesa-tecnica-dia-60.pdf",
                                demo_signed_scan(f"{agreement.number} · acta de la mesa técnica"))
    attendance = next(c for c in meeting.commitments if c.due_on == t.day(75))
    with clock.at(t.day(72)):
        meetings.complete_commitment(as_("ngo2"), attendance.id, "Lista de mayo completa, entregada al administrador.")
