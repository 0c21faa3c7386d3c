"""The plan editor shows the reviewers' observations beside each section while the NGO revises:
each with the reviewer's discipline and day, the general ones at the top; only to that NGO."""
import re

from sqlalchemy import select

from grants import formats
from grants.extensions import db
from grants.models import Review
from grants.services import plans
from tests.factories import make_organization, make_user
from tests.helpers import csrf_token, web_login
from tests.web.test_plan_pages import act, people, review_data, submitted_plan  # noqa: F401 (fixture)

NOTES = {"monitoring": ("request_changes", {"indicators": "Agregue un indicador de permanencia escolar.",
                                            "general": "Revise todo el plan con el equipo técnico."}),
         "financial": ("approve", {"budget": "Detalle el costo unitario de los refrigerios."}),
         "legal": ("approve", {})}


def returned_plan(client, p):
    plan = submitted_plan(p)
    url = f"/plans/{plan.id}/review"
    for who, (decision, notes) in NOTES.items():
        web_login(client, p[who].email)
        response = client.post(url, data=review_data(csrf_token(client, url), discipline=who, decision=decision,
                                                     **notes))
        assert response.status_code == 303, response.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    plans.revise_plan(act(p["ngo"]), plan.id)   # version 2, the draft the NGO now edits
    db.session.commit()
    return plan


def box(html: str, section: str) -> str:
    found = re.search(rf'<aside class="notes review-notes" data-testid="notes-{section}">(.*?)</aside>', html, re.S)
    return found.group(1) if found else ""


def test_the_editor_shows_each_observation_beside_its_section_with_discipline_and_day(client, people):
    plan = returned_plan(client, people)
    web_login(client, people["ngo"].email)
    html = client.get(f"/plans/{plan.id}/edit").get_data(as_text=True)
    assert "Editar plan de trabajo · versión 2" in html
    assert 'data-testid="revising-notes"' in html

    indicators = box(html, "indicators")
    assert "Agregue un indicador de permanencia escolar." in indicators and "Seguimiento y contraloría" in indicators
    budget = box(html, "budget")
    assert "Detalle el costo unitario de los refrigerios." in budget and "Financiera" in budget
    financial = db.session.scalars(select(Review).where(Review.discipline == "financial")).one()
    assert re.search(r'<span class="muted small">(\d\d/\d\d/\d{4})</span>', budget).group(1) == \
        formats.day(financial.created_at)
    # beside its section: inside that section's card, after its heading and before the next card
    for section, card in (("indicators", "indicators"), ("budget", "budget_lines")):
        start = html.index(f'<section class="card" id="{card}">')
        assert start < html.index(f'data-testid="notes-{section}"') < html.index("</section>", start)
    # the general one at the top, before the first card
    assert html.index('data-testid="notes-general"') < html.index('<section class="card" id="general">')
    assert "Revise todo el plan con el equipo técnico." in box(html, "general")
    assert 'data-testid="notes-justification"' not in html     # no observation there


def test_another_ngo_never_sees_them(client, people):
    plan = returned_plan(client, people)
    org = make_organization()
    stranger = make_user(["ngo"], organization=org)
    db.session.commit()
    web_login(client, stranger.email)
    for url in (f"/plans/{plan.id}/edit", f"/plans/{plan.id}"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Agregue un indicador de permanencia escolar." not in response.get_data(as_text=True)
