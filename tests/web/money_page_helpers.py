"""Helpers shared by the money page tests (test_payment_pages, test_advance_pages): signing in
as another user, reading pages (field errors, refusals, idempotency keys), counting audit events,
and the ledger's invariants checked after every test."""
import re

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent
from grants.services import ledger
from tests.helpers import csrf_token, web_login


@pytest.fixture(autouse=True)
def invariants(app):
    yield
    assert ledger.check_invariants() == []


def login(client, user):
    """Sign out whoever is signed in, then sign in as ``user``."""
    if client.get("/").status_code == 200:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    web_login(client, user.email)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def events(entity_type, entity_id, action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id), AuditEvent.action == action))


def key_of(html: str, form: str) -> str:
    block = html.split(f'data-testid="{form}"', 1)[1]
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', block).group(1)


def refusal(html: str) -> str:
    match = re.search(r'data-testid="refusal">([^<]+)<', html)
    return match.group(1) if match else ""


def field_errors(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))
