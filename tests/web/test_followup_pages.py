"""Follow-up pages: the agreement's follow-up section, the administrator's report form (activities
with progress, indicators with their targets) and report page, incidents with evidence, their
resolution with resumption, and «Iniciar cierre» (refused with money in flight)."""
import io
import re

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.services import attachments
from grants.models import FollowUpReport, Incident
from grants.services import ledger, payments
from tests.factories import make_agreement_in_execution
from tests.followup.helpers import PNG, act
from tests.helpers import csrf_token, html_of, login, refusal
from tests.money import payment_helpers as ph
from tests.timeline import iso


@pytest.fixture(autouse=True)
def invariants(app):
    yield
    assert ledger.check_invariants() == []


@pytest.fixture
def ctx(app):
    return ph.payments_setup()


def field_errors(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))


def report_form(ctx, client, start=iso("2026-03-01"), end=iso("2026-03-31"), progress=("30", "12.5"), value="60"):
    version = ctx["agreement"].plan_version
    path = f"/agreements/{ctx['agreement'].id}/follow-up-reports/new"
    data = {"csrf_token": csrf_token(client, path), "period_start": start, "period_end": end,
            "observations": "Visitas realizadas."}
    for activity, p in zip(sorted(version.activities, key=lambda a: a.position), progress):
        data[f"activity-{activity.id}-progress"] = p
        data[f"activity-{activity.id}-notes"] = "ok"
    data[f"indicator-{version.indicators[0].id}-value"] = value
    return path, data


def test_follow_up_section_is_linked_and_shows_actions_by_role(client, ctx):
    agreement = ctx["agreement"]
    login(client, ctx["administrator"])
    assert f'href="/agreements/{agreement.id}/follow-up"' in html_of(client.get(f"/agreements/{agreement.id}"))
    html = html_of(client.get(f"/agreements/{agreement.id}/follow-up"))
    for testid in ("new-report", "new-incident", "begin-closing"):
        assert f'data-testid="{testid}"' in html, testid
    assert "Aún no hay informes de seguimiento." in html

    login(client, ctx["ngo"])
    response = client.get(f"/agreements/{agreement.id}/follow-up")
    assert response.status_code == 200
    for testid in ("new-report", "new-incident", "begin-closing"):
        assert f'data-testid="{testid}"' not in html_of(response), testid
    assert client.get(f"/agreements/{agreement.id}/follow-up-reports/new").status_code == 403
    assert client.get(f"/agreements/{agreement.id}/incidents/new").status_code == 403

    login(client, make_agreement_in_execution()["ngo"])
    assert client.get(f"/agreements/{agreement.id}/follow-up").status_code == 404


def test_administrator_writes_a_report_from_the_form(client, ctx):
    version = ctx["agreement"].plan_version
    login(client, ctx["administrator"])
    path = f"/agreements/{ctx['agreement'].id}/follow-up-reports/new"
    html = html_of(client.get(path))
    for activity in version.activities:
        assert f'name="activity-{activity.id}-progress"' in html and activity.name in html
    assert 'data-testid="target">250<' in html  # a count of people is whole

    path, data = report_form(ctx, client, progress=("150", "12.5"))
    response = client.post(path, data=data)
    assert response.status_code == 422
    first = sorted(version.activities, key=lambda a: a.position)[0]
    assert "0 a 100" in field_errors(html_of(response), f"activity-{first.id}-progress")
    assert 'value="150"' in html_of(response)                       # what was typed comes back
    assert db.session.scalar(select(FollowUpReport.id)) is None

    path, data = report_form(ctx, client)
    response = client.post(path, data=data)
    assert response.status_code == 303, html_of(response)
    report = db.session.scalar(select(FollowUpReport))
    assert response.headers["Location"].endswith(f"/follow-up-reports/{report.id}")
    html = html_of(client.get(f"/follow-up-reports/{report.id}"))
    assert 'data-testid="active-beneficiaries">2<' in html
    assert re.findall(r'data-value="progress">([^<]+)<', html) == ["30 %", "12.50 %"]  # formats.quantity
    assert re.findall(r'data-value="value">([^<]+)<', html) == ["60"]
    section = html_of(client.get(f"/agreements/{ctx['agreement'].id}/follow-up"))
    assert re.search(r'data-value="percent">24 %<', section)       # 60 of 250

    path, data = report_form(ctx, client, start=iso("2026-03-15"), end=iso("2026-04-15"))
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert f"informe N.º {report.id}" in field_errors(html_of(response), "period_start")


def test_suspension_incident_with_evidence_then_resolution_with_resumption(client, ctx):
    agreement = ctx["agreement"]
    login(client, ctx["administrator"])
    path = f"/agreements/{agreement.id}/incidents/new"
    fields = {"occurred_on": iso("2026-04-10"), "severity": "high", "description": "No entregó listas.",
              "measure_detail": "Suspender hasta recibirlas."}
    response = client.post(path, data={**fields, "measure": "termination", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 403 and "área jurídica" in refusal(html_of(response))
    urgent = {"urgent": "y", "urgent_reason": "Desvío de fondos en curso."}  # in effect at once
    response = client.post(path, data={**fields, **urgent, "measure": "suspension",
                                       "csrf_token": csrf_token(client, path),
                                       "evidence": (io.BytesIO(PNG), "acta.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, html_of(response)
    incident = db.session.scalar(select(Incident))
    [evidence] = attachments.attachments_of(incident, "incident_evidence")
    assert (incident.measure, evidence.filename, agreement.status) == ("suspension", "acta.png", "suspended")
    page = f"/incidents/{incident.id}"
    html = html_of(client.get(page))
    assert 'data-testid="agreement-state">Suspendido<' in html and 'name="resume"' in html
    assert "Desvío de fondos en curso." in html
    evidence_url = f"/attachments/{evidence.id}"
    assert f'href="{evidence_url}"' in html and client.get(evidence_url).data == PNG

    response = client.post(f"{page}/resolve", data={"resolution": "", "resume": "y",
                                                    "csrf_token": csrf_token(client, page)})
    assert response.status_code == 422 and field_errors(html_of(response), "resolution")
    response = client.post(f"{page}/resolve", data={"resolution": "Listas recibidas.", "resume": "y",
                                                    "csrf_token": csrf_token(client, page)})
    assert response.status_code == 303
    html = html_of(client.get(page))
    assert 'data-testid="incident-state">Resuelto<' in html and 'data-testid="resolve-form"' not in html
    assert agreement.status == "in_execution"

    login(client, ctx["ngo"])
    assert client.get(page).status_code == 200
    login(client, make_agreement_in_execution()["ngo"])
    assert client.get(page).status_code == 404
    assert client.get(evidence_url).status_code == 404


def test_begin_closing_button_refused_with_money_in_flight_then_accepted(client, ctx):
    agreement = ctx["agreement"]
    payment = ph.prepared(ctx, [ph.line(1, "1", "75.00")])
    login(client, ctx["administrator"])
    section = f"/agreements/{agreement.id}/follow-up"
    response = client.post(f"/agreements/{agreement.id}/closing", data={"csrf_token": csrf_token(client, section), "confirm": "y"})
    assert response.status_code == 409
    assert f"pago N.º {payment.id}" in refusal(html_of(response))
    assert agreement.status == "in_execution"
    payments.cancel_payment(act(ctx["treasury"]), payment.id, "Factura duplicada")
    db.session.commit()
    response = client.post(f"/agreements/{agreement.id}/closing", data={"csrf_token": csrf_token(client, section), "confirm": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/agreements/{agreement.id}")
    assert agreement.status == "closing"
    assert 'data-testid="begin-closing"' not in html_of(client.get(section))
