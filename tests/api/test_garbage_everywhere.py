"""No endpoint answers bad input with a 500: every POST of the OpenAPI document, on the demo data,
gets garbage bodies from users of several roles and must answer a problem+json 4xx (or a success the
role may legitimately get), never a stack trace. Whatever is refused writes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import load_demo
from grants.extensions import db
from grants.models import AuditEvent

BODIES = [None, [], "texto", 7, {"amount": "NaN", "bank_reference": None, "transfer_date": "31/02/2026"},
          {"rows": [{"amount": {"x": 1}, "issue_date": 5}], "status": ["x"], "note": 3, "verdict": "quizás"},
          {"invoice_id": 10**30, "advance_id": "uno", "tranche_number": -1, "lines": "muchas"}]
ROLES = ["treasury", "ngo2", "auditor", "admin", "administrator", "financial"]


@pytest.fixture
def demo(live_app):
    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
    return live_app


def _token(client, who: str) -> str:
    response = client.post("/api/v1/auth/tokens", json={"email": f"{who}@fondos.example.org",
                                                         "password": "demo-2026"})
    return response.get_json()["token"]


def test_every_post_endpoint_answers_garbage_with_a_4xx_problem(demo):
    client = demo.test_client()
    spec = client.get("/api/openapi.json").get_json()
    posts = sorted(path for path, item in spec["paths"].items() if "post" in item and path != "/api/v1/auth/tokens")
    assert len(posts) > 40, posts
    tokens = {who: _token(client, who) for who in ROLES}
    failures = []
    for path in posts:
        for id_value in ("1", "999999"):
            url = re.sub(r"\{[^}]+\}", id_value, path)
            for who, token in tokens.items():
                for n, body in enumerate(BODIES):
                    with demo.app_context():
                        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
                    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"garbage-{who}-{n}-{id_value}"}
                    response = client.post(url, json=body, headers=headers)
                    text = response.get_data(as_text=True)
                    if response.status_code >= 500 or "Traceback" in text:
                        failures.append((url, who, n, response.status_code, text[:200]))
                    elif response.status_code >= 400:
                        if response.mimetype != "application/problem+json":
                            failures.append((url, who, n, response.status_code, response.mimetype))
                        with demo.app_context():
                            after = db.session.scalar(select(func.count()).select_from(AuditEvent))
                        if after != before:
                            failures.append((url, who, n, response.status_code, "refused but audited a change"))
    assert failures == []
