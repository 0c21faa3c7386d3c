"""Helpers shared by the money page tests (test_payment_pages, test_advance_pages): reading pages
(field errors, idempotency keys), counting audit events, and the ledger's invariants checked after
every test. Signing in as another user and reading refusals: tests/helpers.py."""
import re

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent
from grants.services import ledger


@pytest.fixture(autouse=True)
def invariants(app):
    yield
    assert ledger.check_invariants() == []


def events(entity_type, entity_id, action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id), AuditEvent.action == action))


def key_of(html: str, form: str) -> str:
    block = html.split(f'data-testid="{form}"', 1)[1]
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', block).group(1)


def field_errors(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))
