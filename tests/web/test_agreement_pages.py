"""Agreement pages: created from an approved plan, signed with a real PDF, administrator,
execution, suspension and resumption; the PDF document; NGO scoping."""
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from grants.audit import Actor
from grants.extensions import db
from grants.models import Agreement, AuditEvent
from grants.services import agreements, plans
from grants.services.agreements import DEFAULT_TEXTS
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.helpers import csrf_token, web_login
from tests.pdfs import tiny_pdf
from tests.timeline import day, days_from_today, iso, year


def act(user):
    return Actor.for_user(user)


@pytest.fixture
def people(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    org = make_organization(legal_name="Fundación Paz y Futuro")
    p = {
        "org": org, "allocation": make_allocation(org, amount="100000.00"),
        "ngo": make_user(["ngo"], organization=org),
        "legal": make_user(["legal_reviewer"]), "financial": make_user(["financial_reviewer"]),
        "monitoring": make_user(["monitoring_reviewer"]), "administrator": make_user(["administrator"]),
    }
    plan = plans.create_plan(act(p["ngo"]), p["allocation"].id, "Jóvenes con futuro", plan_content())
    plans.submit_plan(act(p["ngo"]), plan.id)
    for discipline in ("legal", "financial", "monitoring"):
        plans.record_review(act(p[discipline]), plan.id, 1, discipline, "approve", [])
    db.session.commit()
    p["plan"] = plan
    return p


def agreement_form(token, **overrides):
    data = {"csrf_token": token, "object": "Prevención de la violencia juvenil en San Salvador Centro.",
            **DEFAULT_TEXTS, "liquidation_threshold": "80",
            "start_date": iso("2026-02-01"), "end_date": iso("2026-11-30"),
            "ministry_signatory_name": "Gustavo Villatoro", "ministry_signatory_title": "Ministro",
            "ngo_signatory_name": "Representante de Prueba", "ngo_signatory_title": "Representante legal"}
    data.update(overrides)
    return data


def error_after(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def make_agreement(p, **data):
    agreement = agreements.create_agreement(act(p["legal"]), p["plan"].id, {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T",
        "ngo_signatory_name": "N", "ngo_signatory_title": "R", **data})
    db.session.commit()
    return agreement


def test_the_full_agreement_flow_through_the_pages(client, people):
    p = people
    plan = p["plan"]
    web_login(client, p["legal"].email)
    plan_page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert f'href="/plans/{plan.id}/agreement/new"' in plan_page

    new_url = f"/plans/{plan.id}/agreement/new"
    form = client.get(new_url).get_data(as_text=True)
    assert "Pagar directamente a los proveedores validados" in form  # prefilled from DEFAULT_TEXTS
    assert f'value="{iso("2026-02-01")}"' in form and f'value="{iso("2026-11-30")}"' in form  # the plan's term
    assert 'value="100.00"' in form

    token = csrf_token(client, new_url)
    response = client.post(new_url, data=agreement_form(token, ministry_signatory_name="", liquidation_threshold="150"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Este campo es obligatorio." in error_after(html, "ministry_signatory_name")
    assert "mayor que 0 y hasta 100" in error_after(html, "liquidation_threshold")
    assert db.session.scalar(select(Agreement)) is None

    response = client.post(new_url, data=agreement_form(token))
    assert response.status_code == 303
    agreement = db.session.scalars(select(Agreement)).one()
    url = f"/agreements/{agreement.id}"
    assert response.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert f"MJSP-CONV-{year()}-0001" in page and "Borrador" in page and "Fundación Paz y Futuro" in page
    assert "$100,000.00" in page and "Instructores" in page and "Sin firmar" in page
    assert client.get(new_url).status_code == 302  # one agreement per plan

    # edit the draft
    edit = client.get(f"{url}/edit").get_data(as_text=True)
    assert 'value="80.00"' in edit
    response = client.post(f"{url}/edit", data=agreement_form(token, liquidation_threshold="75"))
    assert response.status_code == 303
    db.session.refresh(agreement)
    assert str(agreement.liquidation_threshold) == "75.00"

    # sign: a file that is not a PDF is refused next to the field; a real PDF is stored
    response = client.post(f"{url}/sign", data={"csrf_token": token, "signed_on": iso("2026-01-20"),
                                                "scan": (io.BytesIO(b"GIF89a not a pdf"), "firma.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "El archivo debe ser PDF" in error_after(html, "scan")
    assert 'enctype="multipart/form-data"' in html
    db.session.refresh(agreement)
    assert agreement.status == "draft"

    response = client.post(f"{url}/sign", data={"csrf_token": token, "signed_on": days_from_today(1).isoformat(),
                                                "scan": (io.BytesIO(tiny_pdf()), "firma.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "no puede ser futura" in error_after(response.get_data(as_text=True), "signed_on")

    scan = tiny_pdf(f"Convenio MJSP-CONV-{year()}-0001 firmado")
    response = client.post(f"{url}/sign", data={"csrf_token": token, "signed_on": iso("2026-01-20"),
                                                "scan": (io.BytesIO(scan), "firma.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.refresh(agreement)
    assert agreement.status == "signed" and agreement.signed_scan_size == len(scan)
    page = client.get(url).get_data(as_text=True)
    assert agreement.signed_scan_sha256 in page and f"{len(scan)} bytes" in page
    download = client.get(f"{url}/signed.pdf")
    assert download.status_code == 200 and download.data == scan
    assert download.mimetype == "application/pdf"

    # administrator: a plan reviewer is refused (segregation of duties), then the administrator
    assert 'data-testid="start-form"' in page and "Designe primero al administrador" in page
    response = client.post(f"{url}/administrator", data={"csrf_token": token, "user_id": str(p["financial"].id)})
    assert response.status_code == 422
    assert "rol de administrador de programa" in error_after(response.get_data(as_text=True), "user_id")
    assert client.post(f"{url}/start", data={"csrf_token": token, "confirm": "y"}).status_code == 409
    response = client.post(f"{url}/administrator", data={"csrf_token": token, "user_id": str(p["administrator"].id)})
    assert response.status_code == 303
    assert p["administrator"].full_name in client.get(url).get_data(as_text=True)

    # execution, suspension (a reason is required) and resumption
    assert client.post(f"{url}/start", data={"csrf_token": token, "confirm": "y"}).status_code == 302
    db.session.refresh(agreement)
    assert agreement.status == "in_execution"
    response = client.post(f"{url}/suspend", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Indique el motivo." in error_after(html, "reason")
    assert 'id="suspend-reason"' in html
    response = client.post(f"{url}/suspend", data={"csrf_token": token, "reason": "Informe de avance atrasado"})
    assert response.status_code == 303
    db.session.refresh(agreement)
    assert agreement.status == "suspended"
    page = client.get(url).get_data(as_text=True)
    assert "Suspendido" in page and "Informe de avance atrasado" in page and 'data-testid="resume-form"' in page
    response = client.post(f"{url}/resume", data={"csrf_token": token, "reason": "Informe entregado"})
    assert response.status_code == 303
    db.session.refresh(agreement)
    assert agreement.status == "in_execution"
    assert [(h.to_status, h.reason) for h in agreement.history] == [
        ("draft", None), ("signed", None), ("in_execution", None),
        ("suspended", "Informe de avance atrasado"), ("in_execution", "Informe entregado")]
    history = client.get(url).get_data(as_text=True).split('data-testid="history"', 1)[1]
    assert "Suspensión" in history and "Reanudación" in history and "Informe entregado" in history

    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "agreement")
                                 .order_by(AuditEvent.seq)).all()
    assert actions == ["agreement.created", "agreement.updated", "agreement.signed",
                       "agreement.administrator_designated", "agreement.execution_started",
                       "agreement.suspended", "agreement.resumed"]

    # the agreement document
    response = client.get(f"{url}/document.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"MJSP-CONV-{year()}-0001.pdf" in response.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert f"MJSP-CONV-{year()}-0001" in text
    assert "Fundación Paz y Futuro" in text


def test_terminate_needs_a_reason(client, people):
    p = people
    agreement = make_agreement(p)
    web_login(client, p["legal"].email)
    url = f"/agreements/{agreement.id}"
    token = csrf_token(client, url)
    response = client.post(f"{url}/terminate", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422
    assert "Indique el motivo." in error_after(response.get_data(as_text=True), "reason")
    response = client.post(f"{url}/terminate", data={"csrf_token": token, "reason": "La organización desistió"})
    assert response.status_code == 303
    db.session.refresh(agreement)
    assert agreement.status == "terminated"
    page = client.get(url).get_data(as_text=True)
    assert "Terminado" in page and 'data-testid="terminate-form"' not in page
    assert client.get(f"{url}/edit").status_code == 409


def test_the_ngo_sees_its_own_agreement_but_not_anothers(client, people):
    p = people
    agreement = make_agreement(p)
    agreements.sign_agreement(act(p["legal"]), agreement.id, day("2026-01-20"), tiny_pdf())
    db.session.commit()

    web_login(client, p["ngo"].email)
    url = f"/agreements/{agreement.id}"
    page = client.get(url).get_data(as_text=True)
    assert f"MJSP-CONV-{year()}-0001" in page and "Firmado" in page
    assert 'data-testid="sign-form"' not in page and 'data-testid="signed-scan"' not in page
    assert client.get(f"{url}/document.pdf").status_code == 200
    assert client.get(f"{url}/signed.pdf").status_code == 403
    assert client.get(f"{url}/edit").status_code == 403
    token = csrf_token(client, url)
    assert client.post(f"{url}/terminate", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert f"MJSP-CONV-{year()}-0001" in client.get("/agreements").get_data(as_text=True)
    logout(client)

    stranger = make_user(["ngo"], organization=make_organization())
    web_login(client, stranger.email)
    for path in (url, f"{url}/document.pdf", f"{url}/signed.pdf", f"{url}/edit",
                 f"/plans/{p['plan'].id}/agreement/new"):
        assert client.get(path).status_code in (403, 404), path
    for path in (url, f"{url}/document.pdf", f"{url}/signed.pdf"):
        assert client.get(path).status_code == 404, path
    assert f"MJSP-CONV-{year()}-0001" not in client.get("/agreements").get_data(as_text=True)


def test_the_agreements_own_administrator_may_suspend_and_resume(client, people):
    p = people
    agreement = make_agreement(p)
    agreements.sign_agreement(act(p["legal"]), agreement.id, day("2026-01-20"), tiny_pdf())
    agreements.designate_administrator(act(p["legal"]), agreement.id, p["administrator"].id)
    agreements.start_execution(act(p["legal"]), agreement.id)
    db.session.commit()
    url = f"/agreements/{agreement.id}"

    other = make_user(["administrator"])
    web_login(client, other.email)
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="suspend-form"' not in page
    assert client.post(f"{url}/suspend", data={"csrf_token": csrf_token(client, url), "reason": "x"}).status_code == 403
    logout(client)

    web_login(client, p["administrator"].email)
    home = client.get("/").get_data(as_text=True)
    assert f'href="{url}"' in home  # the agreements it administers
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="suspend-form"' in page and 'data-testid="terminate-form"' not in page
    token = csrf_token(client, url)
    assert client.post(f"{url}/suspend", data={"csrf_token": token, "reason": "Visita de campo"}).status_code == 303
    assert client.post(f"{url}/resume", data={"csrf_token": token, "reason": "Corregido"}).status_code == 303
    assert client.post(f"{url}/terminate", data={"csrf_token": token, "reason": "x"}).status_code == 403
    db.session.refresh(agreement)
    assert agreement.status == "in_execution"


def test_only_agreement_managers_create_and_only_from_an_approved_plan(client, people):
    p = people
    web_login(client, p["financial"].email)
    assert client.get(f"/plans/{p['plan'].id}/agreement/new").status_code == 403
    logout(client)

    draft = plans.create_plan(act(p["ngo"]), make_allocation(p["org"], decree_number="D.L. N.º 88").id,
                              "Borrador", plan_content())
    db.session.commit()
    web_login(client, p["legal"].email)
    url = f"/plans/{draft.id}/agreement/new"
    response = client.get(url)
    assert response.status_code == 409
    token = csrf_token(client, "/agreements")
    response = client.post(url, data=agreement_form(token))
    assert response.status_code == 409
    assert "Solo un plan aprobado" in response.get_data(as_text=True)
