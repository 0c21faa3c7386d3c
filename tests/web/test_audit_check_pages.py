"""Internal audit pages: the checks page (run form, rule catalogue, recent runs), the findings list
(filters, exports) and a finding (evidence, decision with a note); auditors run and decide,
admins read, others are refused."""
from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from grants.audit.rules import RULES
from grants.extensions import db
from grants.models import AuditCheckRun, AuditEvent, AuditFinding
from tests.audit import rule_helpers as rh
from tests.factories import make_user
from tests.helpers import csrf_token, login
from tests.timeline import year


def _overdue(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    rh.disbursed_advance(ctx)
    return ctx


def _run(client, **data):
    token = csrf_token(client, "/audit/checks")
    return client.post("/audit/checks", data={"csrf_token": token, **data})


def test_the_checks_page_shows_the_catalogue_and_runs_the_checks(client, app):
    ctx = _overdue(app)
    login(client, rh.auditor())
    html = client.get("/audit/checks").get_data(as_text=True)
    assert html.count('data-rule="') == len(RULES)
    assert "Anticipo vencido sin liquidar" in html and "Qué detecta" in html and "Por qué importa" in html
    assert 'data-testid="run-form"' in html and ctx["agreement"].number in html
    assert "Todavía no se ha ejecutado ninguna revisión." in html

    response = _run(client, agreement_id=str(ctx["agreement"].id), fiscal_year=str(year()))
    assert response.status_code == 303
    run = db.session.scalars(select(AuditCheckRun)).one()
    assert (run.agreement_id, run.fiscal_year) == (ctx["agreement"].id, year())
    # The run is a job (in this process after the response, on SQLite and in the tests): the
    # request answers at once with the run's page, which shows the result once the job is done.
    assert response.headers["Location"].endswith(f"/audit/check-runs/{run.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Revisión {run.id} solicitada" in page
    assert 'data-testid="run-state">Terminada<' in page and 'http-equiv="refresh"' not in page
    assert f'data-testid="rules-run">{len(RULES)}<' in page and '<tr data-rule="advance_overdue">' in page
    assert ctx["agreement"].number in page
    findings = re.search(r'data-testid="run-findings" href="([^"]+)"', page).group(1)
    page = client.get(findings.replace("&amp;", "&")).get_data(as_text=True)
    assert 'data-rule="advance_overdue"' in page
    assert f"Hallazgos vistos en la revisión {run.id}." in page
    assert f'data-run="{run.id}"' in client.get("/audit/checks").get_data(as_text=True)


def test_a_run_page_refreshes_while_running_and_says_when_it_failed_or_stalled(client, app):
    from datetime import timedelta

    import time_machine

    from grants.models.base import utcnow

    _overdue(app)
    auditor = rh.auditor()
    running = AuditCheckRun(status="running", started_by_id=auditor.id, started_at=utcnow())
    failed = AuditCheckRun(status="failed", started_by_id=auditor.id, started_at=utcnow(), finished_at=utcnow(),
                           failure="OperationalError: server closed the connection unexpectedly")
    db.session.add_all([running, failed])
    db.session.flush()
    login(client, auditor)

    page = client.get(f"/audit/check-runs/{running.id}").get_data(as_text=True)
    assert 'data-testid="run-state">En curso<' in page and '<meta http-equiv="refresh" content="2">' in page
    assert 'data-testid="run-stalled"' not in page and 'data-testid="run-findings"' not in page

    with time_machine.travel(utcnow() + timedelta(minutes=16), tick=False):
        page = client.get(f"/audit/check-runs/{running.id}").get_data(as_text=True)
    assert 'data-testid="run-stalled"' in page and 'http-equiv="refresh"' not in page

    page = client.get(f"/audit/check-runs/{failed.id}").get_data(as_text=True)
    assert 'data-testid="run-state">Fallida<' in page and "server closed the connection unexpectedly" in page
    assert 'data-testid="run-findings"' not in page
    assert client.get("/audit/check-runs/999999").status_code == 404


def test_a_run_that_fails_in_its_job_is_shown_failed_with_nothing_kept(client, app, monkeypatch):
    from grants.services import audit_checks

    ctx = _overdue(app)
    login(client, rh.auditor())

    def broken(*args, **kwargs):
        raise RuntimeError("rule engine unavailable")

    monkeypatch.setattr(audit_checks, "run_checks", broken)
    response = _run(client, agreement_id=str(ctx["agreement"].id))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="run-state">Fallida<' in page and "RuntimeError: rule engine unavailable" in page
    assert db.session.scalars(select(AuditFinding)).all() == []


def test_a_bad_year_is_shown_on_the_form(client, app):
    _overdue(app)
    login(client, rh.auditor())
    response = _run(client, fiscal_year="1990")
    assert response.status_code == 422
    assert 'data-field="fiscal_year"' in response.get_data(as_text=True)
    assert db.session.scalars(select(AuditCheckRun)).all() == []


def test_an_auditor_opens_a_finding_and_marks_it_justified_with_a_note(client, app):
    _overdue(app)
    login(client, rh.auditor())
    _run(client)
    finding = db.session.scalars(select(AuditFinding).where(AuditFinding.rule_code == "advance_overdue")).one()
    url = f"/audit/findings/{finding.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'data-key="outstanding"' in html and "$40,000.00" in html
    assert 'data-state="open"' in html and 'data-testid="decision-form"' in html
    assert '<option value="justified">Justificado</option>' in html

    token = csrf_token(client, url)
    refused = client.post(f"{url}/decision", data={"csrf_token": token, "status": "justified", "note": " "})
    assert refused.status_code == 422 and 'data-field="note"' in refused.get_data(as_text=True)
    response = client.post(f"{url}/decision", data={"csrf_token": token, "status": "justified",
                                                      "note": "Prórroga autorizada por nota MJSP-12"})
    assert response.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert 'data-state="justified"' in html and "Prórroga autorizada por nota MJSP-12" in html
    assert db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "audit_finding", AuditEvent.entity_id == str(finding.id))).all() == [
        "audit.finding_decided"]
    wrong = client.post(f"{url}/decision", data={"csrf_token": token, "status": "resolved", "note": "x"})
    assert wrong.status_code == 409 and "no puede pasar a «Resuelto»" in wrong.get_data(as_text=True)


def test_the_findings_list_filters_and_exports(client, app):
    _overdue(app)
    login(client, rh.auditor())
    _run(client)
    html = client.get("/audit/findings?rule_code=advance_overdue").get_data(as_text=True)
    assert html.count('data-finding="') == 1
    assert client.get("/audit/findings?rule_code=advance_overdue&status=resolved").get_data(
        as_text=True).count('data-finding="') == 0
    link = re.search(r'href="([^"]+)" data-testid="export-xlsx"', html).group(1).replace("&amp;", "&")
    assert "rule_code=advance_overdue" in link
    response = client.get(link)
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data))["Hallazgos"]
    assert sheet["C3"].value == "advance_overdue" and sheet["C4"].value is None
    pdf = client.get("/audit/findings.pdf?rule_code=advance_overdue")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_admins_read_without_forms_and_others_are_refused(client, app):
    ctx = _overdue(app)
    login(client, rh.auditor())
    _run(client)
    finding = db.session.scalars(select(AuditFinding).where(AuditFinding.rule_code == "advance_overdue")).one()
    login(client, make_user(["admin"]))
    html = client.get("/audit/checks").get_data(as_text=True)
    assert 'data-testid="run-form"' not in html and 'data-rule="advance_overdue"' in html
    assert 'data-testid="decision-form"' not in client.get(f"/audit/findings/{finding.id}").get_data(as_text=True)
    assert _run(client).status_code == 403
    for user in (ctx["ngo"], ctx["treasury"]):
        login(client, user)
        for path in ("/audit/checks", "/audit/findings", f"/audit/findings/{finding.id}", "/audit/findings.xlsx"):
            assert client.get(path).status_code == 403, path


def test_the_auditors_home_counts_open_findings_and_links_to_the_checks_and_the_yearly_report(client, app):
    _overdue(app)
    auditor = rh.auditor()
    login(client, auditor)
    assert _run(client).status_code in (200, 302, 303)
    open_count = db.session.query(AuditFinding).filter(AuditFinding.status == "open").count()
    assert open_count >= 1
    html = client.get("/").get_data(as_text=True)
    panel = re.search(r'data-testid="findings-open">(.*?)</ul>', html, re.S).group(1)
    assert f"<strong>{open_count}</strong>" in panel and "/audit/findings?status=open" in panel
    assert 'data-testid="nav-findings"' in html and 'data-testid="nav-legislature"' in html
    assert 'href="/audit/checks"' in html and 'href="/legislature-reports"' in html
    # Treasury sees neither link.
    login(client, make_user(["treasury"]))
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-findings"' not in html and 'data-testid="nav-legislature"' not in html
