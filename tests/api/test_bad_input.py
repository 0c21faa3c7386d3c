"""Bad input gets a clear problem+json, never a 500, and writes nothing."""
import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent
from tests.factories import make_allocation, make_organization, make_user, organization_data
from tests.helpers import api_headers

GARBAGE = [
    [],
    "texto",
    123,
    None,
    {"phones": "2222-3333"},
    {"phones": [None, 5]},
    {"board_members": [1, 2]},
    {"board_members": [{"name": None, "dui": 12345678, "position": ""}]},
    {"organization_id": "abc"},
    {"organization_id": 10**30},
    {"amount": None},
    {"amount": {"value": 1}},
    {"amount": "NaN"},
    {"amount": "-Infinity"},
    {"fiscal_year": "dos mil"},
    {"fiscal_year": 1e9},
    {"roles": "admin"},
    {"roles": [["admin"]]},
    {"email": "@@"},
    {"legal_name": "x" * 5000},
    {"nit": "\x00\x01"},
]


@pytest.mark.parametrize("endpoint", ["organizations", "allocations", "users"])
@pytest.mark.parametrize("body", GARBAGE, ids=[f"g{i}" for i in range(len(GARBAGE))])
def test_garbage_is_a_4xx_problem_on_create(client, endpoint, body):
    headers = api_headers(client, make_user(["admin"]))
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.post(f"/api/v1/{endpoint}", json=body, headers=headers)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize("body", GARBAGE[4:], ids=[f"g{i}" for i in range(4, len(GARBAGE))])
def test_garbage_is_a_4xx_problem_on_update(client, body):
    org = make_organization()
    allocation = make_allocation(org)
    headers = api_headers(client, make_user(["admin"]))
    for path in (f"/api/v1/organizations/{org.id}", f"/api/v1/allocations/{allocation.id}"):
        response = client.patch(path, json=body, headers=headers)
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        assert response.status_code in (200, 422), (path, response.get_data(as_text=True))


def test_a_huge_body_is_refused_without_a_500(client, app):
    headers = api_headers(client, make_user(["admin"]))
    data = organization_data(purpose="x" * (3 * 1024 * 1024))
    response = client.post("/api/v1/organizations", json=data, headers=headers)
    assert response.status_code in (413, 422)
    assert response.mimetype == "application/problem+json"


def test_ids_beyond_the_key_range_are_not_found(client):
    headers = api_headers(client, make_user(["admin"]))
    response = client.get(f"/api/v1/organizations/{10**20}", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("language", "expected"), [
    ("es", {"day": "Debe ser una fecha válida (AAAA-MM-DD).",
            "reason": "La longitud debe estar entre 1 y 2000.",
            "kind": "Debe ser uno de estos valores: advance, fine_payment, payment, refund.",
            "record_id": "Debe ser un número entero."}),
    ("en", {"day": "Must be a valid date (YYYY-MM-DD).",
            "reason": "The length must be between 1 and 2000.",
            "kind": "Must be one of: advance, fine_payment, payment, refund.",
            "record_id": "Must be a whole number."}),
])
def test_the_validators_messages_keep_their_figures_in_the_requests_language(client, language, expected):
    """marshmallow's messages that carry figures (a length, a range, the allowed values) are said in
    Spanish or English like the rest of the problem, never left in marshmallow's English."""
    headers = {**api_headers(client, make_user(["treasury"])), "Accept-Language": language}
    response = client.get("/api/v1/bank-statements/reconciliation?account=100-200-300-4&day=2026-02-30",
                          headers=headers)
    assert response.status_code == 422 and response.get_json()["errors"]["day"] == [expected["day"]]
    response = client.post("/api/v1/bank-statement-lines/1/match", headers=headers,
                           json={"kind": "invoice", "record_id": "uno", "reason": ""})
    errors = response.get_json()["errors"]
    assert response.status_code == 422
    assert {name: errors[name] for name in ("reason", "kind", "record_id")} == {
        name: [expected[name]] for name in ("reason", "kind", "record_id")}
