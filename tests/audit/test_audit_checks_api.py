"""/api/v1/audit/check-runs and /api/v1/audit/findings: auditors run and decide, admins read,
nobody else; amounts as strings; exports by the same filters."""
from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from grants.audit.rules import RULES
from grants.extensions import db
from tests.audit import rule_helpers as rh
from tests.factories import make_user
from tests.helpers import api_headers, assert_problem
from tests.timeline import iso, year


def _setup(client):
    ctx = rh.payments_ctx(beneficiaries=False)
    rh.disbursed_advance(ctx)  # overdue since 14/07/2026
    return ctx, api_headers(client, rh.auditor())


def _run(client, headers, **body):
    """Ask for a run (202: recorded, a job runs it) and read it where Location says, done."""
    response = client.post("/api/v1/audit/check-runs", json=body, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["status"] == "running"
    return client.get(response.headers["Location"], headers=headers).get_json()


def test_an_auditor_runs_checks_and_reads_the_findings(client):
    ctx, auditor = _setup(client)
    run = _run(client, auditor, agreement_id=ctx["agreement"].id, fiscal_year=year())
    assert (run["status"], run["rules_run"], run["agreement_id"], run["fiscal_year"]) == (
        "finished", len(RULES), ctx["agreement"].id, year())
    assert run["counts"]["advance_overdue"] == 1 and run["findings_new"] == sum(run["counts"].values())

    page = client.get("/api/v1/audit/findings?rule_code=advance_overdue", headers=auditor).get_json()
    assert page["total"] == 1
    [finding] = page["items"]
    assert (finding["status"], finding["severity"], finding["present"], finding["amount"]) == (
        "open", "high", True, "40000.00")
    assert finding["agreement_number"] == ctx["agreement"].number
    assert finding["rule_title"] == "Anticipo vencido sin liquidar"
    assert finding["evidence"]["outstanding"] == "40000.00" and finding["evidence"]["liquidation_due"] == iso("2026-07-14")
    assert client.get(f"/api/v1/audit/findings/{finding['id']}", headers=auditor).get_json()["id"] == finding["id"]

    again = _run(client, auditor, agreement_id=ctx["agreement"].id)
    assert again["findings_new"] == 0
    assert client.get("/api/v1/audit/findings?rule_code=advance_overdue", headers=auditor).get_json()["total"] == 1
    runs = client.get("/api/v1/audit/check-runs", headers=auditor).get_json()
    assert [r["id"] for r in runs["items"]] == [again["id"], run["id"]]
    assert client.get(f"/api/v1/audit/check-runs/{run['id']}", headers=auditor).get_json()["counts"] == run["counts"]


def test_a_decision_needs_a_note_and_follows_the_table(client):
    ctx, auditor = _setup(client)
    _run(client, auditor)
    [finding] = client.get("/api/v1/audit/findings?rule_code=advance_overdue", headers=auditor).get_json()["items"]
    url = f"/api/v1/audit/findings/{finding['id']}/decision"
    assert_problem(client.post(url, json={"status": "justified", "note": ""}, headers=auditor), 422,
                   "validation_error")
    assert_problem(client.post(url, json={"status": "justified"}, headers=auditor), 422, "validation_error")
    assert_problem(client.post(url, json={"status": "resolved", "note": "x"}, headers=auditor), 409,
                   "invalid_transition")
    decided = client.post(url, json={"status": "justified", "note": "Prórroga autorizada"}, headers=auditor)
    assert decided.status_code == 200
    assert (decided.get_json()["status"], decided.get_json()["note"]) == ("justified", "Prórroga autorizada")
    listed = client.get("/api/v1/audit/findings?status=justified", headers=auditor).get_json()
    assert [f["id"] for f in listed["items"]] == [finding["id"]]
    assert client.get("/api/v1/audit/findings?status=open&rule_code=advance_overdue",
                      headers=auditor).get_json()["total"] == 0


def test_only_auditors_run_and_decide_admins_read_and_ngos_see_nothing(client):
    ctx, auditor = _setup(client)
    _run(client, auditor)
    [finding] = client.get("/api/v1/audit/findings?rule_code=advance_overdue", headers=auditor).get_json()["items"]
    admin = api_headers(client, make_user(["admin"]))
    assert client.get("/api/v1/audit/findings", headers=admin).status_code == 200
    assert_problem(client.post("/api/v1/audit/check-runs", json={}, headers=admin), 403, "forbidden")
    assert_problem(client.post(f"/api/v1/audit/findings/{finding['id']}/decision",
                               json={"status": "justified", "note": "x"}, headers=admin), 403, "forbidden")
    for user in (ctx["ngo"], ctx["treasury"]):
        headers = api_headers(client, user)
        assert_problem(client.get("/api/v1/audit/findings", headers=headers), 403, "forbidden")
        assert_problem(client.get(f"/api/v1/audit/findings/{finding['id']}", headers=headers), 403, "forbidden")
        assert_problem(client.get("/api/v1/audit/findings.xlsx", headers=headers), 403, "forbidden")
        assert_problem(client.post("/api/v1/audit/check-runs", json={}, headers=headers), 403, "forbidden")
    assert_problem(client.get("/api/v1/audit/findings/999999", headers=auditor), 404, "not_found")
    assert_problem(client.post("/api/v1/audit/check-runs", json={"agreement_id": 999999}, headers=auditor),
                   422, "validation_error")
    assert_problem(client.get("/api/v1/audit/findings?severity=enorme", headers=auditor), 422, "validation_error")


def test_exports_follow_the_filters(client):
    ctx, auditor = _setup(client)
    _run(client, auditor)
    response = client.get("/api/v1/audit/findings.xlsx?rule_code=advance_overdue", headers=auditor)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data))["Hallazgos"]
    assert sheet["C3"].value == "advance_overdue" and sheet["C4"].value is None
    response = client.get("/api/v1/audit/findings.pdf?rule_code=advance_overdue", headers=auditor)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(response.data)).pages)
    assert "Anticipo vencido sin liquidar" in text and ctx["agreement"].number in text
    assert "attachment" in response.headers["Content-Disposition"]


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/audit/check-runs", "/api/v1/audit/check-runs/{run_id}", "/api/v1/audit/findings",
                 "/api/v1/audit/findings/{finding_id}", "/api/v1/audit/findings/{finding_id}/decision",
                 "/api/v1/audit/findings.xlsx", "/api/v1/audit/findings.pdf"):
        assert path in paths, path


def test_a_stored_note_with_control_characters_never_breaks_the_xlsx(client):
    """A note stored with characters XML cannot hold (written straight through the ORM: the request
    guard refuses them on input) is exported without them; a formula-like note is neutralized."""
    from grants.extensions import db
    from grants.models import AuditFinding
    from grants.reports.xlsx import REPLACEMENT

    ctx, auditor = _setup(client)
    _run(client, auditor)
    # PostgreSQL text holds no NUL, every other control character is storable; a plain UPDATE, as old data
    db.session.execute(db.update(AuditFinding).where(AuditFinding.rule_code == "advance_overdue").values(
        note="Revisado\u0014 con la ONG\x1f", summary="=HYPERLINK(\"http://x\")\x0b"))
    db.session.commit()
    response = client.get("/api/v1/audit/findings.xlsx?rule_code=advance_overdue", headers=auditor)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data))["Hallazgos"]
    note, summary = sheet["N3"].value, sheet["J3"].value
    assert note == f"Revisado{REPLACEMENT} con la ONG{REPLACEMENT}" and "\x14" not in note
    assert summary == f"'=HYPERLINK(\"http://x\"){REPLACEMENT}"
    assert client.get("/api/v1/audit/findings.xlsx", headers=auditor).status_code == 200


def test_a_run_whose_job_fails_says_so_and_a_retried_job_changes_nothing(client, app, monkeypatch):
    from grants import jobs
    from grants.models import AuditEvent
    from grants.services import audit_checks

    ctx, auditor = _setup(client)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit_checks, "_run_rules", broken)
    failed = _run(client, auditor, agreement_id=ctx["agreement"].id)
    assert failed["status"] == "failed" and "the database went away" in failed["failure"]
    monkeypatch.undo()

    done = _run(client, auditor, agreement_id=ctx["agreement"].id)
    assert done["status"] == "finished" and done["counts"]["advance_overdue"] == 1
    someone = rh.auditor().id
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for run in (failed, done):  # a job arriving again (a retry) for a run that ended
        assert jobs.TASKS["run_check_run"](app, run_id=run["id"], user_id=someone) == "nothing to do"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
