"""Request helpers shared by the API and page tests; the demo's calendar."""
from __future__ import annotations

import re
from datetime import date, timedelta

from tests.factories import PASSWORD
from tests.timeline import today


def issue_token(client, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api_headers(client, user) -> dict:
    return bearer(issue_token(client, user.email))


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def web_login(client, email: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def login(client, user):
    """Sign out whoever is signed in on ``client``, then sign in as ``user`` through the form."""
    if client.get("/").status_code == 200:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    web_login(client, user.email)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def refusal(html: str) -> str:
    """The refusal message a page shows (``data-testid=refusal``), or ""."""
    match = re.search(r'data-testid="refusal">([^<]+)<', html)
    return match.group(1) if match else ""


def audit_actions(entity_type: str, entity_id) -> list[str]:
    """The audit chain's actions on one entity, in order."""
    from sqlalchemy import select

    from grants.extensions import db
    from grants.models import AuditEvent

    return db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.seq)).all()


# --- the demo's calendar ---------------------------------------------------------------------
# The demo (grants/demo.py) lives on the day it is loaded: ngo2's agreement started 150 days
# before, and the fiscal year of every demo allocation is the year of that first day.

DEMO_DAYS_SINCE_START = 150


def demo_term_start() -> date:
    """The first day of the demo agreement's term, for a demo loaded today."""
    return today() - timedelta(days=DEMO_DAYS_SINCE_START)


def demo_fiscal_year() -> int:
    return demo_term_start().year


def built_file(client, url, headers=None):
    """A file a job builds (``grants/services/generated_files.py``), fetched as its reader would: the
    first ask answers with where it is being built — a page (web: 303) or its record (API: 202 +
    Location) — and the job runs in this process once that response closes; then the file itself."""
    import re

    first = client.get(url, headers=headers)
    if headers is None:  # a person, on the web
        assert first.status_code == 303 and "/files/" in first.headers["Location"], first.status_code
        html = client.get(first.headers["Location"]).get_data(as_text=True)
        assert 'data-status="ready"' in html, html
        return client.get(re.search(r'data-testid="file-download" href="([^"]+)"', html).group(1))
    assert first.status_code == 202, first.get_data(as_text=True)
    assert first.headers["Retry-After"] == "2" and first.get_json()["status"] == "pending"
    record = client.get(first.headers["Location"], headers=headers).get_json()
    assert record["status"] == "ready", record
    return client.get(record["download"], headers=headers)


def outcome(call) -> str | None:
    """What a service call answers: None (done) or its refusal's code; rolled back either way, so a
    test can ask the same question of many people in a row."""
    from grants.domain_errors import DomainError
    from grants.extensions import db

    try:
        call()
        return None
    except DomainError as exc:
        return exc.code
    finally:
        db.session.rollback()
