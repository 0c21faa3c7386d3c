"""Work-plan pages: the editor (errors next to the fields, rows added and removed without
JavaScript), submission, the reviewers' queue and review page, the inbox and the home links."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.extensions import db
from grants.models import AuditEvent, Notification, Plan, ReviewObservation
from grants.services import plans
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.helpers import csrf_token, web_login
from tests.timeline import year


def act(user):
    return Actor.for_user(user)


@pytest.fixture
def people(app):
    org = make_organization()
    return {
        "org": org, "allocation": make_allocation(org, amount="100000.00"),
        "ngo": make_user(["ngo"], organization=org),
        "legal": make_user(["legal_reviewer"]), "financial": make_user(["financial_reviewer"]),
        "monitoring": make_user(["monitoring_reviewer"]),
    }


def editor_data(token, content=None, title="Jóvenes con futuro", **overrides) -> dict:
    """The editor's form fields for a content dict shaped like ``plan_content()``."""
    c = content or plan_content()
    data = {"csrf_token": token, "save": "1", "title": title,
            "start_date": c["start_date"], "end_date": c["end_date"], "territory": list(c["territory"]),
            "beneficiaries_target": str(c["beneficiaries"]["target"]),
            "beneficiaries_age_min": str(c["beneficiaries"]["age_min"]),
            "beneficiaries_age_max": str(c["beneficiaries"]["age_max"]),
            "beneficiaries_profile": c["beneficiaries"]["profile"]}
    for name in ("justification", "objectives", "ministry_alignment", "monitoring", "internal_controls"):
        data[name] = c[name]
    for i, a in enumerate(c["activities"]):
        for key in ("name", "description", "responsible", "quarter", "start_date", "end_date"):
            data[f"activities-{i}-{key}"] = a.get(key, "")
        data[f"activities-{i}-municipality_codes"] = ", ".join(a["municipality_codes"])
    for i, b in enumerate(c["budget_lines"]):
        for key in ("category", "description", "amount"):
            data[f"budget_lines-{i}-{key}"] = b[key]
    for i, x in enumerate(c["indicators"]):
        for key, value in x.items():
            data[f"indicators-{i}-{key}"] = value
    for i, t in enumerate(c["tranches"]):
        data[f"tranches-{i}-planned_date"] = t["planned_date"]
        data[f"tranches-{i}-amount"] = t["amount"]
        data[f"tranches-{i}-budget_lines"] = ", ".join(str(n) for n in t["budget_lines"])
    data.update(overrides)
    return data


def second_quarter_plan() -> dict:
    """``plan_content()`` with its workshops given as the quarter T2, a calendar quarter of the fiscal
    year: the term is the reference one (01/02–30/11) in the fiscal year itself, so that it contains T2
    whatever the test day (a term moved to the test day may start after June)."""
    y = year()
    content = plan_content(start_date=f"{y}-02-01", end_date=f"{y}-11-30")
    workshops, tutoring = content["activities"]
    del workshops["start_date"], workshops["end_date"]
    workshops["quarter"] = "T2"
    tutoring.update(start_date=f"{y}-03-01", end_date=f"{y}-10-31")
    for tranche, planned in zip(content["tranches"], ("02-15", "06-15", "09-15")):
        tranche["planned_date"] = f"{y}-{planned}"
    return content


def error_after(html: str, field: str) -> str:
    """The messages shown next to one field (``data-field`` of the error paragraphs)."""
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))


def new_plan_url(p):
    return f"/allocations/{p['allocation'].id}/plan/new"


def create_through_editor(client, p, content=None):
    token = csrf_token(client, new_plan_url(p))
    response = client.post(new_plan_url(p), data=editor_data(token, content))
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(select(Plan).where(Plan.allocation_id == p["allocation"].id)).one()


def submitted_plan(p, title="Jóvenes con futuro", allocation=None, ngo=None):
    plan = plans.create_plan(act(ngo or p["ngo"]), (allocation or p["allocation"]).id, title, plan_content())
    plans.submit_plan(act(ngo or p["ngo"]), plan.id)
    db.session.commit()
    return plan


# --- editor ----------------------------------------------------------------------------------

def test_the_ngo_creates_its_plan_in_the_editor_and_submits_it(client, people):
    p = people
    web_login(client, p["ngo"].email)
    page = client.get(new_plan_url(p))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nuevo plan de trabajo" in html and "$100,000.00" in html
    assert html.count('<option value="') >= 44  # the 44 municipalities
    assert 'name="add_activity"' in html and 'name="remove_budget_line-0"' in html

    content = second_quarter_plan()
    content["activities"][0]["municipality_codes"] = ["San Salvador Centro"]  # a name becomes its code
    plan = create_through_editor(client, p, content)
    assert plan.status == "draft" and plan.title == "Jóvenes con futuro"
    version = plan.latest_version
    assert [str(b.amount) for b in version.budget_lines] == ["60000.00", "25000.50", "14999.50"]
    assert str(version.budget_total) == "100000.00"
    assert version.activities[0].municipality_codes == ["0623"]
    assert (version.activities[0].start_date, version.activities[0].end_date) == (  # T2
        date(year(), 4, 1), date(year(), 6, 30))
    assert [t.budget_line_numbers for t in version.tranches] == [[1, 2], [1, 2, 3], [1, 3]]

    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "Borrador" in page and "puede enviarse a revisión" in page
    assert 'class="todo"' not in page
    assert "Talleres vocacionales" in page and "San Salvador Centro, San Salvador" in page

    # the draft opens again in the editor with what was saved (T2 shown as the quarter)
    editor = client.get(f"/plans/{plan.id}/edit").get_data(as_text=True)
    assert 'value="Instructores"' in editor and 'value="60000.00"' in editor
    assert re.search(r'<option selected value="T2">|<option value="T2" selected>', editor)

    token = csrf_token(client, f"/plans/{plan.id}")
    response = client.post(f"/plans/{plan.id}/submit", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    db.session.refresh(plan)
    assert plan.status == "submitted"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "plan").order_by(AuditEvent.seq)).all()
    assert actions == ["plan.created", "plan.submitted"]
    assert "Enviado" in client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert client.get(f"/plans/{plan.id}/edit").status_code == 409


def test_budget_over_the_allocation_is_shown_above_the_budget_table_and_nothing_is_saved(client, people):
    p = people
    web_login(client, p["ngo"].email)
    token = csrf_token(client, new_plan_url(p))
    data = editor_data(token, **{"budget_lines-0-amount": "90000.00", "budget_lines-2-amount": "1.234"})
    response = client.post(new_plan_url(p), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Monto no válido" in error_after(html, "budget_lines-2-amount")
    data["budget_lines-2-amount"] = "14999.50"
    response = client.post(new_plan_url(p), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "El presupuesto suma 130000.00 y supera la asignación de 100000.00" in error_after(html, "budget_lines")
    assert 'data-testid="budget-total" data-budget-total>$130,000.00' in html
    assert 'value="Insumos de talleres"' in html  # what was typed stays in the form
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_unknown_municipalities_are_shown_next_to_their_fields(client, people):
    p = people
    web_login(client, p["ngo"].email)
    token = csrf_token(client, new_plan_url(p))
    content = plan_content(territory=["0623", "9998"])
    content["activities"][1]["municipality_codes"] = ["0622", "9999"]
    response = client.post(new_plan_url(p), data=editor_data(token, content))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "El municipio 9999 no existe." in error_after(html, "activities-1-municipality_codes")
    assert "El municipio 9998 no existe." in error_after(html, "territory")
    assert error_after(html, "activities-0-municipality_codes") == ""
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_row_errors_skip_blank_rows(client, people):
    """A blank row in the middle is not sent: errors of the rows after it still land on them."""
    p = people
    web_login(client, p["ngo"].email)
    token = csrf_token(client, new_plan_url(p))
    data = editor_data(token)
    for key in ("category", "description", "amount"):  # move line 3 to row 4, leaving row 3 blank
        data[f"budget_lines-3-{key}"] = data[f"budget_lines-2-{key}"]
        data[f"budget_lines-2-{key}"] = ""
    data["budget_lines-3-description"] = ""
    response = client.post(new_plan_url(p), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Este campo es obligatorio." in error_after(html, "budget_lines-3-description")
    assert error_after(html, "budget_lines-2-description") == ""


def test_tranches_not_adding_up_stop_the_submission_with_the_message_above_the_table(client, people):
    p = people
    web_login(client, p["ngo"].email)
    content = plan_content()
    content["tranches"][2]["amount"] = "10000.00"
    plan = create_through_editor(client, p, content)  # a draft may be incomplete

    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert re.search(r'class="todo" data-section="financial_programming"', page)
    assert "Los desembolsos suman 90000.00 y el presupuesto 100000.00" in page

    token = csrf_token(client, f"/plans/{plan.id}")
    response = client.post(f"/plans/{plan.id}/submit", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-testid="submit-failed"' in html
    assert "Los desembolsos suman 90000.00 y el presupuesto 100000.00: deben ser iguales." in error_after(
        html, "tranches")
    assert f'action="/plans/{plan.id}/edit"' in html
    db.session.refresh(plan)
    assert plan.status == "draft" and plan.latest_version.submitted_at is None


def test_add_and_remove_row_buttons_rerender_without_saving(client, people):
    p = people
    web_login(client, p["ngo"].email)
    token = csrf_token(client, new_plan_url(p))
    data = editor_data(token)
    del data["save"]

    response = client.post(new_plan_url(p), data={**data, "add_activity": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="activity-row"') == 3
    assert 'name="activities-2-name"' in html and 'value="Tutorías escolares"' in html
    assert html.count('data-testid="budget-row"') == 3

    response = client.post(new_plan_url(p), data={**data, "add_tranche": "1"})
    assert response.get_data(as_text=True).count('data-testid="tranche-row"') == 4

    response = client.post(new_plan_url(p), data={**data, "remove_budget_line-1": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="budget-row"') == 2
    assert 'value="Insumos de talleres"' not in html
    assert re.search(r'name="budget_lines-1-description"[^>]*value="Refrigerios"', html)
    assert 'data-budget-total>$74,999.50' in html  # the running total follows the rows

    response = client.post(new_plan_url(p), data={**data, "remove_indicator-0": "1"})
    html = response.get_data(as_text=True)
    assert html.count('data-testid="indicator-row"') == 1  # never fewer than one (blank) row
    assert "Jóvenes que terminan un taller" not in html
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_an_ngo_gets_404_for_another_organizations_plan(client, people):
    p = people
    plan = submitted_plan(p)
    other_org = make_organization()
    other_allocation = make_allocation(other_org)
    stranger = make_user(["ngo"], organization=other_org)
    web_login(client, stranger.email)
    for path in (f"/plans/{plan.id}", f"/plans/{plan.id}/edit", f"/allocations/{p['allocation'].id}/plan/new",
                 f"/plans/{plan.id}?version=1"):
        assert client.get(path).status_code == 404, path
    token = csrf_token(client, "/plans")
    assert client.post(f"/plans/{plan.id}/submit", data={"csrf_token": token, "confirm": "y"}).status_code == 404
    assert client.post(f"/plans/{plan.id}/revise", data={"csrf_token": token}).status_code == 404
    listing = client.get("/plans").get_data(as_text=True)
    assert "Jóvenes con futuro" not in listing
    assert f"/allocations/{other_allocation.id}/plan/new" in listing  # its own allocation waits for a plan
    assert client.get("/reviews").status_code == 403
    assert client.get(f"/plans/{plan.id}/review").status_code == 403


def test_staff_cannot_write_an_organizations_plan(client, people):
    p = people
    web_login(client, p["legal"].email)
    assert client.get(new_plan_url(p)).status_code == 403
    plan = submitted_plan(p)
    assert client.get(f"/plans/{plan.id}").status_code == 200
    assert client.get(f"/plans/{plan.id}/edit").status_code == 403


# --- reviews ---------------------------------------------------------------------------------

def queue_titles(client, query="") -> list[str]:
    html = client.get(f"/reviews{query}").get_data(as_text=True)
    table = html.split('data-testid="review-queue"', 1)[1]
    return re.findall(r'/review">([^<]+)</a>', table)


def test_the_reviewers_queue_filters_by_discipline_and_state(client, people):
    p = people
    first = submitted_plan(p, "Plan primero")
    org2 = make_organization()
    submitted_plan(p, "Plan segundo", allocation=make_allocation(org2),
                            ngo=make_user(["ngo"], organization=org2))
    plans.record_review(act(p["legal"]), first.id, 1, "legal", "approve", [])
    db.session.commit()

    web_login(client, p["legal"].email)
    assert queue_titles(client) == ["Plan segundo"]  # default: waiting for the user's disciplines
    assert queue_titles(client, "?discipline=all") == ["Plan primero", "Plan segundo"]  # oldest first
    assert queue_titles(client, "?discipline=financial") == ["Plan primero", "Plan segundo"]
    assert queue_titles(client, "?discipline=all&state=in_review") == ["Plan primero"]
    assert queue_titles(client, "?discipline=all&state=submitted") == ["Plan segundo"]
    html = client.get("/reviews?discipline=all").get_data(as_text=True)
    assert "Aprueba" in html and "Pendiente" in html
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="waiting-legal"><strong>1</strong>', home)

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    web_login(client, p["monitoring"].email)
    assert queue_titles(client) == ["Plan primero", "Plan segundo"]
    assert queue_titles(client, "?discipline=legal") == ["Plan segundo"]


def review_data(token, version=1, discipline="legal", decision="approve", reason="", **observations):
    data = {"csrf_token": token, "version": str(version), "discipline": discipline, "decision": decision,
            "reason": reason}
    for section, text in observations.items():
        data[f"observations-{section}"] = text
    return data


def test_one_person_cannot_decide_two_disciplines_of_a_version(client, people):
    p = people
    plan = submitted_plan(p)
    both = make_user(["legal_reviewer", "financial_reviewer"])
    web_login(client, both.email)
    url = f"/plans/{plan.id}/review"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<option value="legal">Jurídica</option>', page)
    assert re.search(r'<option value="financial">Financiera</option>', page)

    response = client.post(url, data=review_data(csrf_token(client, url), discipline="legal"))
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert '<option value="legal">' not in page and '<option value="financial">' in page
    assert "Usted ya decidió por Jurídica en esta versión" in page

    response = client.post(url, data=review_data(csrf_token(client, url), discipline="financial"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'data-testid="review-conflict"' in html
    assert "Una misma persona no puede decidir dos disciplinas de una versión." in html
    db.session.refresh(plan)
    assert [r.discipline for r in plan.submitted_version.reviews] == ["legal"]


def test_review_errors_are_shown_next_to_the_fields(client, people):
    p = people
    plan = submitted_plan(p)
    web_login(client, p["monitoring"].email)
    url = f"/plans/{plan.id}/review"
    token = csrf_token(client, url)
    response = client.post(url, data=review_data(token, discipline="monitoring", decision="request_changes"))
    assert response.status_code == 422
    assert "al menos una observación" in error_after(response.get_data(as_text=True), "decision")
    response = client.post(url, data=review_data(token, discipline="monitoring", decision="reject"))
    assert response.status_code == 422
    assert "El rechazo necesita un motivo." in error_after(response.get_data(as_text=True), "reason")
    response = client.post(url, data=review_data(token, discipline="legal"))
    assert response.status_code == 403  # not a legal reviewer

    response = client.post(url, data=review_data(
        token, discipline="monitoring", decision="request_changes",
        indicators="Agregue un indicador de permanencia escolar.", budget="  "))
    assert response.status_code == 303
    notes = db.session.scalars(select(ReviewObservation)).all()
    assert [(n.section, n.text) for n in notes] == [("indicators", "Agregue un indicador de permanencia escolar.")]


def test_a_full_round_through_the_pages_with_the_diff_of_the_new_version(client, people):
    p = people
    plan = submitted_plan(p)
    url = f"/plans/{plan.id}/review"
    for who, decision, notes in (("legal", "approve", {}), ("financial", "approve", {}),
                                 ("monitoring", "request_changes",
                                  {"indicators": "Agregue un indicador de permanencia escolar."})):
        web_login(client, p[who].email)
        page = client.get(url).get_data(as_text=True)
        assert 'data-changed="true"' not in page  # the first version has nothing to compare with
        response = client.post(url, data=review_data(csrf_token(client, url), discipline=who,
                                                     decision=decision, **notes))
        assert response.status_code == 303, response.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    web_login(client, p["ngo"].email)
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count"[^>]*>\d+<', home)
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "Cambios solicitados" in page
    assert "Agregue un indicador de permanencia escolar." in page
    assert 'data-testid="notes-indicators"' in page

    token = csrf_token(client, f"/plans/{plan.id}")
    response = client.post(f"/plans/{plan.id}/revise", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/plans/{plan.id}/edit")
    content = plan_content()
    content["indicators"].append({"expected_result": "Permanencia", "name": "Jóvenes que siguen estudiando",
                                  "unit": "%", "baseline": "60", "target": "80",
                                  "means_of_verification": "Constancias escolares"})
    response = client.post(f"/plans/{plan.id}/edit", data=editor_data(csrf_token(client, f"/plans/{plan.id}/edit"),
                                                                      content))
    assert response.status_code == 303
    response = client.post(f"/plans/{plan.id}/submit", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    web_login(client, p["monitoring"].email)
    page = client.get(url).get_data(as_text=True)
    assert "versión 2" in page
    assert 'data-section="indicators" data-changed="true"' in page
    assert 'data-section="justification" data-changed="false"' in page
    assert "1 de 12 secciones cambiaron" in page
    assert "Jóvenes que siguen estudiando" in page
    assert "Observaciones de rondas anteriores" in page


# --- inbox and home --------------------------------------------------------------------------

def test_the_inbox_lists_marks_read_and_marks_all(client, people):
    p = people
    submitted_plan(p)
    submitted_plan(p, allocation=make_allocation(p["org"], decree_number="D.L. N.º 77"), title="Otro plan")
    web_login(client, p["legal"].email)
    html = client.get("/inbox").get_data(as_text=True)
    assert html.count('data-testid="notification"') == 2
    assert html.count("notification unread") == 2
    assert re.search(r'data-testid="unread-count"[^>]*>2<', html)
    assert "Otro plan" in html.split('data-testid="notification"')[1]  # newest first

    note = db.session.scalars(select(Notification).where(Notification.user_id == p["legal"].id)
                              .order_by(Notification.id)).first()
    token = csrf_token(client, "/inbox")
    assert client.post(f"/inbox/{note.id}/read", data={"csrf_token": token}).status_code == 302
    html = client.get("/inbox").get_data(as_text=True)
    assert html.count("notification unread") == 1
    assert client.post("/inbox/read-all", data={"csrf_token": token}).status_code == 302
    html = client.get("/inbox").get_data(as_text=True)
    assert "notification unread" not in html and 'data-testid="unread-count"' not in html

    other = db.session.scalars(select(Notification).where(Notification.user_id == p["financial"].id)).first()
    assert client.post(f"/inbox/{other.id}/read", data={"csrf_token": token}).status_code == 404


def test_home_links_per_role(client, people):
    p = people
    web_login(client, p["ngo"].email)
    html = client.get("/").get_data(as_text=True)
    assert f'href="/allocations/{p["allocation"].id}/plan/new"' in html and "Crear plan de trabajo" in html

    plan = submitted_plan(p)
    html = client.get("/").get_data(as_text=True)
    assert f'href="/allocations/{p["allocation"].id}/plan/new"' not in html
    assert f'href="/plans/{plan.id}"' in html
    for discipline in ("legal", "financial", "monitoring"):
        plans.record_review(act(p[discipline]), plan.id, 1, discipline, "approve", [])
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    web_login(client, p["legal"].email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="approved-without-agreement"' in html
    assert f'href="/plans/{plan.id}/agreement/new"' in html
    assert re.search(r'data-testid="waiting-legal"><strong>0</strong>', html)
    for path in ("/plans", f"/plans/{plan.id}", "/plans?state=approved", "/reviews", f"/plans/{plan.id}/review",
                 "/agreements", "/inbox"):
        assert client.get(path).status_code == 200, path
