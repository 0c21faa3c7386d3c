"""Every request has an id (the proxy's X-Request-Id, cleaned, or a new one), echoed in the response
and carried by each JSON log line written while it runs; jobs bind theirs the same way."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from grants import logs
from grants.models import AuditEvent
from grants.extensions import db
from tests.factories import make_user, organization_data
from tests.helpers import api_headers

ROOT = Path(__file__).resolve().parents[2]


def json_lines(caplog, logger="fondos.request"):
    formatter = logs.JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def test_the_proxys_request_id_is_echoed_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="fondos.request"):
        response = client.get("/healthz", headers={"X-Request-Id": "req-7f3a.b2:9"})
    assert response.headers["X-Request-Id"] == "req-7f3a.b2:9"
    (line,) = json_lines(caplog)
    assert line["request_id"] == "req-7f3a.b2:9"
    assert (line["method"], line["path"], line["status"], line["logger"], line["level"]) == (
        "GET", "/healthz", 200, "fondos.request", "INFO")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00") and line["message"] == "GET /healthz 200"


def test_a_request_without_id_gets_one(client):
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert len(first) == 32 and first != second


def test_a_hostile_request_id_is_cleaned_and_cut(client):
    sent = "abc\" \u202e<script>" + "x" * 200
    echoed = client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"]
    assert echoed == ("abcscript" + "x" * 200)[:64]
    only_junk = client.get("/healthz", headers={"X-Request-Id": "<>\"'{}"}).headers["X-Request-Id"]
    assert len(only_junk) == 32 and only_junk.isalnum()


def test_refused_requests_are_logged_too(client, caplog):
    with caplog.at_level(logging.INFO, logger="fondos.request"):
        response = client.get("/api/v1/organizations", headers={"X-Request-Id": "no-token"})
    assert response.status_code == 401 and response.headers["X-Request-Id"] == "no-token"
    (line,) = json_lines(caplog)
    assert (line["status"], line["request_id"]) == (401, "no-token") and "user_id" not in line


def test_the_api_user_is_in_the_line_and_the_audit_event_has_the_same_request_id(client, caplog):
    admin = make_user(["admin"])
    headers = {**api_headers(client, admin), "X-Request-Id": "create-org-1"}
    with caplog.at_level(logging.INFO, logger="fondos.request"):
        response = client.post("/api/v1/organizations", json=organization_data(), headers=headers)
    assert response.status_code == 201, response.get_json()
    (line,) = json_lines(caplog)
    assert (line["user_id"], line["request_id"], line["status"]) == (admin.id, "create-org-1", 201)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "organization.created").order_by(AuditEvent.seq.desc()))
    assert event.request_id == "create-org-1"


def test_the_log_line_names_the_user_without_a_query_of_its_own(client, caplog):
    """The access line is written after the request's commit, when the user is expired: it reads the
    id the session already knows, never loads the user again (one more statement on every request)."""
    from sqlalchemy import event

    admin = make_user(["admin"])
    headers = api_headers(client, admin)
    client.get("/api/v1/me", headers=headers)  # the token's last use: written now, not in the count
    seen = []
    app = client.application
    after_commit = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)

    def mark(response):  # hooks run last-added first: after this one come the commit and the log
        after_commit.append(len(seen))
        return response

    app.after_request_funcs.setdefault(None, []).append(mark)
    try:
        with caplog.at_level(logging.INFO, logger="fondos.request"):
            assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
        app.after_request_funcs[None].remove(mark)
    (line,) = json_lines(caplog)
    assert line["user_id"] == admin.id
    assert [s for s in seen[after_commit[0]:] if s.lstrip().upper().startswith("SELECT")] == []


def test_a_job_binds_its_request_id_and_every_line_carries_it(caplog):
    job_log = logging.getLogger("fondos.jobs.test")
    with caplog.at_level(logging.INFO, logger="fondos.jobs.test"):
        with logs.bind(request_id="from-the-upload", job_id=42):
            job_log.info("processing list")
        job_log.info("outside")
    inside, outside = json_lines(caplog, "fondos.jobs.test")
    assert (inside["request_id"], inside["job_id"], inside["message"]) == ("from-the-upload", 42, "processing list")
    assert "request_id" not in outside


def test_json_lines_on_stderr_when_enabled():
    """A process with LOG_FORMAT=json writes one JSON object per line on stderr, exceptions included."""
    code = (
        "import logging\n"
        "from grants import create_app\n"
        "app = create_app('testing', SQLALCHEMY_DATABASE_URI='sqlite://', LOG_FORMAT='json')\n"
        "app.test_client().get('/healthz', headers={'X-Request-Id': 'line-check'})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    logging.getLogger('fondos.x').exception('boom\\nsecond line')\n"
    )
    proc = subprocess.run([sys.executable, "-m", "tests.on_test_day", "-c", code], cwd=ROOT,
                          env={**os.environ, "FONDOS_ENV": "testing"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]  # every line is JSON
    access = [x for x in lines if x["logger"] == "fondos.request"]
    assert [(x["path"], x["status"], x["request_id"]) for x in access] == [("/healthz", 200, "line-check")]
    (boom,) = [x for x in lines if x["logger"] == "fondos.x"]
    assert boom["level"] == "ERROR" and boom["message"] == "boom\nsecond line" and "ZeroDivisionError" in boom["exc_info"]


def test_text_logs_by_default_outside_production(app):
    assert not logs.json_enabled(app.config)
    assert logs.json_enabled({"ENV_NAME": "production"})
    assert not logs.json_enabled({"ENV_NAME": "production", "LOG_FORMAT": "text"})
