"""Meeting pages as people use them: the «Mesas técnicas» section of the agreement, plan and
allocation pages, the form that records a meeting with participants and commitments, the meeting
page (signed PDF, commitments done/cancelled), and «Compromisos vencidos» on the owner's home page."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlalchemy import select

from grants.extensions import db
from grants.models import Commitment, Meeting, Notification
from grants.services import plans
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.helpers import csrf_token, html_of, login, refusal
from tests.meetings.helpers import act, commitment, recorded
from tests.pdfs import tiny_pdf
from tests.timeline import iso, today


def meeting_form(client, path: str, owner, **overrides) -> dict:
    data = {"csrf_token": csrf_token(client, path), "held_on": iso("2026-06-15"),
            "place": "Casa comunal de la colonia El Palmar", "subject": "Avance de los talleres",
            "minutes": "Se acordó completar las listas de asistencia.",
            "participants-0-name": "Ing. Ricardo Molina", "participants-0-institution": "ministry",
            "participants-0-position": "Administrador del convenio",
            "participants-1-name": "Carlos Menjívar", "participants-1-institution": "ngo",
            "participants-1-position": "Representante legal",
            "commitments-0-description": "Entregar las listas de asistencia de junio.",
            "commitments-0-owner_id": str(owner.id), "commitments-0-due_on": iso("2026-06-30")}
    data.update(overrides)
    return data


def test_the_administrator_records_a_meeting_from_the_agreement_page(client, ctx):
    agreement, ngo = ctx["agreement"], ctx["ngo"]
    login(client, ctx["administrator"])
    page = html_of(client.get(f"/agreements/{agreement.id}"))
    assert "No hay mesas técnicas registradas." in page
    path = f"/agreements/{agreement.id}/meetings/new"
    assert f'href="{path}"' in page
    # one side only: refused next to the participants, nothing written
    response = client.post(path, data=meeting_form(client, path, ngo, **{"participants-1-institution": "ministry"}))
    assert response.status_code == 422
    assert "Anote al menos una persona del ministerio y una de la organización." in html_of(response)
    assert db.session.scalar(select(Meeting.id)) is None

    response = client.post(path, data=meeting_form(client, path, ngo))
    assert response.status_code == 303
    meeting = db.session.scalars(select(Meeting)).one()
    assert response.headers["Location"].endswith(f"/meetings/{meeting.id}")
    page = html_of(client.get(f"/meetings/{meeting.id}"))
    for text in ("Casa comunal de la colonia El Palmar", "Carlos Menjívar", "Representante legal",
                 "Entregar las listas de asistencia de junio.", f'datetime="{iso("2026-06-30")}"', "Abierto"):
        assert text in page, text
    section = html_of(client.get(f"/agreements/{agreement.id}"))
    assert "Avance de los talleres" in section and "Entregar las listas de asistencia de junio." in section
    assert db.session.scalars(select(Notification.link).where(Notification.user_id == ngo.id,
                                                              Notification.kind == "commitment.assigned")).all() \
        == [f"/meetings/{meeting.id}"]

    login(client, ngo)
    page = html_of(client.get(f"/agreements/{agreement.id}"))
    assert "Avance de los talleres" in page and f'href="{path}"' not in page
    assert client.get(path).status_code == 403


def test_commitments_are_added_marked_done_by_their_owner_and_cancelled_by_the_recorder(client, ctx):
    ngo, administrator = ctx["ngo"], ctx["administrator"]
    meeting = recorded(ctx, commitments=[commitment(ngo, iso("2026-06-30"))])
    page_path = f"/meetings/{meeting.id}"
    login(client, administrator)
    response = client.post(f"/meetings/{meeting.id}/commitments", data={
        "csrf_token": csrf_token(client, page_path), "description": "Visitar los talleres.",
        "owner_id": str(administrator.id), "due_on": iso("2026-06-01")})
    assert response.status_code == 422
    assert "El plazo no puede ser anterior a la mesa técnica" in html_of(response)
    response = client.post(f"/meetings/{meeting.id}/commitments", data={
        "csrf_token": csrf_token(client, page_path), "description": "Visitar los talleres.",
        "owner_id": str(administrator.id), "due_on": iso("2026-07-10")})
    assert response.status_code == 303
    visit = db.session.scalar(select(Commitment).where(Commitment.description == "Visitar los talleres."))

    login(client, ngo)
    page = html_of(client.get(page_path))
    assert page.count('data-testid="mark-done"') == 1 and 'data-testid="cancel-commitment"' not in page
    assert 'data-testid="commitment-form"' not in page
    lists = meeting.commitments[0]
    response = client.post(f"/commitments/{lists.id}/done", data={"csrf_token": csrf_token(client, page_path),
                                                                  "note": "Entregadas el 29/06."})
    assert response.status_code == 303
    page = html_of(client.get(page_path))
    assert re.search(rf'data-commitment="{lists.id}".*?Cumplido.*?Entregadas el 29/06\.', page, re.S)
    assert client.post(f"/commitments/{visit.id}/done", data={
        "csrf_token": csrf_token(client, page_path)}).status_code == 403

    login(client, administrator)
    response = client.post(f"/commitments/{visit.id}/cancel", data={"csrf_token": csrf_token(client, page_path),
                                                                   "note": ""})
    assert response.status_code == 422
    assert refusal(html_of(response)) == "Indique el motivo para cancelar el compromiso."
    response = client.post(f"/commitments/{visit.id}/cancel", data={"csrf_token": csrf_token(client, page_path),
                                                                   "note": "Se hará en la próxima mesa."})
    assert response.status_code == 303
    assert db.session.get(Commitment, visit.id).status == "cancelled"
    response = client.post(f"/commitments/{visit.id}/done", data={"csrf_token": csrf_token(client, page_path)})
    assert response.status_code == 409 and "ya está «Cancelado»" in refusal(html_of(response))


def test_the_signed_minutes_are_uploaded_and_downloaded_and_another_ngo_finds_nothing(client, ctx):
    meeting = recorded(ctx)
    page_path = f"/meetings/{meeting.id}"
    login(client, ctx["administrator"])
    assert "Todavía no se adjuntó el acta firmada." in html_of(client.get(page_path))
    response = client.post(f"/meetings/{meeting.id}/minutes", data={
        "csrf_token": csrf_token(client, page_path), "file": (io.BytesIO(b"no soy un PDF"), "acta.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "El archivo debe ser PDF" in html_of(response)
    response = client.post(f"/meetings/{meeting.id}/minutes", data={
        "csrf_token": csrf_token(client, page_path), "file": (io.BytesIO(tiny_pdf("Acta")), "acta-firmada.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    link = re.search(r'href="(/attachments/\d+)" data-testid="attachment">acta-firmada\.pdf<',
                     html_of(client.get(page_path))).group(1)

    login(client, ctx["ngo"])
    assert 'data-testid="minutes-form"' not in html_of(client.get(page_path))
    download = client.get(link)
    assert (download.status_code, download.mimetype) == (200, "application/pdf")
    assert download.data.startswith(b"%PDF-")

    login(client, agreement_in_execution()["ngo"])
    assert client.get(page_path).status_code == 404
    assert client.get(link).status_code == 404
    assert client.get(f"/agreements/{ctx['agreement'].id}/meetings/new").status_code == 404


def test_the_home_page_shows_overdue_commitments_to_their_owner_only(client, ctx):
    ngo, administrator = ctx["ngo"], ctx["administrator"]
    yesterday = (today() - timedelta(days=1)).isoformat()
    recorded(ctx, held_on=iso("2026-10-01"), commitments=[
        commitment(administrator, yesterday, "Visitar el espacio seguro de la colonia."),
        commitment(ngo, today().isoformat(), "Entregar las facturas de octubre.")])
    login(client, administrator)
    home = html_of(client.get("/"))
    assert 'data-testid="overdue-commitments"' in home
    assert "Visitar el espacio seguro de la colonia." in home and "1 día de atraso" in home
    assert "Entregar las facturas de octubre." not in home
    for other in (ngo, ctx["monitoring"]):  # due today is not overdue; the monitoring reviewer owns nothing
        login(client, other)
        assert 'data-testid="overdue-commitments"' not in html_of(client.get("/"))


def test_before_the_plan_meetings_are_on_the_allocation_and_the_plan_page_lists_them(client, app):
    organization = make_organization()
    allocation = make_allocation(organization)
    ngo, monitoring = make_user(["ngo"], organization=organization), make_user(["monitoring_reviewer"])
    login(client, monitoring)
    listing = html_of(client.get("/admin/allocations"))
    assert f'href="/allocations/{allocation.id}/meetings"' in listing
    path = f"/allocations/{allocation.id}/meetings/new"
    assert f'href="{path}"' in html_of(client.get(f"/allocations/{allocation.id}/meetings"))
    response = client.post(path, data=meeting_form(client, path, ngo, subject="Cómo formular el plan",
                                                   held_on=iso("2026-01-10"), **{"commitments-0-due_on": iso("2026-01-25")}))
    assert response.status_code == 303

    plan = plans.create_plan(act(ngo), allocation.id, "Plan", plan_content())
    db.session.commit()
    page = html_of(client.get(f"/plans/{plan.id}"))
    assert "Cómo formular el plan" in page and "Antes del plan" in page
    assert f'href="/plans/{plan.id}/meetings/new"' in page
    allocation_page = html_of(client.get(f"/allocations/{allocation.id}/meetings"))
    assert "La asignación ya tiene plan de trabajo: registre la mesa técnica en el plan." in allocation_page
    response = client.post(path, data=meeting_form(client, path, ngo))
    assert response.status_code == 409
    assert refusal(html_of(response)) == "La asignación ya tiene plan de trabajo: registre la mesa técnica en el plan."
