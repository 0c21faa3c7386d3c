"""Allocations through the API: money is Decimal, strings with two decimals."""
from decimal import Decimal

from sqlalchemy import select

from grants.extensions import db
from grants.models import Allocation
from tests.factories import make_allocation, make_organization, make_user
from tests.helpers import api_headers, assert_problem
from tests.timeline import year


def allocation_payload(org, **overrides):
    data = {
        "decree_number": "D.L. N.º 1045",
        "fiscal_year": year(),
        "budget_line_code": "2026-0700-3-02-01-21-1-56304",
        "organization_id": org.id,
        "amount": "185000.10",
        "purpose": "Prevención de la violencia juvenil.",
    }
    data.update(overrides)
    return data


def test_amounts_are_stored_exactly_and_returned_as_strings(client):
    org = make_organization()
    headers = api_headers(client, make_user(["admin"]))
    response = client.post("/api/v1/allocations", json=allocation_payload(org), headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == "185000.10"
    stored = db.session.scalars(select(Allocation)).one()
    assert stored.amount == Decimal("185000.10")


def test_a_json_number_is_read_exactly_not_through_float(client):
    org = make_organization()
    headers = {**api_headers(client, make_user(["admin"])), "Content-Type": "application/json"}
    body = (f'{{"decree_number": "D.L. 1", "fiscal_year": {year()}, "budget_line_code": "X", '
            f'"organization_id": {org.id}, "amount": 0.30, "purpose": "p"}}')
    response = client.post("/api/v1/allocations", data=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == "0.30"


def test_bad_amounts_are_field_errors(client):
    org = make_organization()
    headers = api_headers(client, make_user(["admin"]))
    for amount in ("-5.00", "0", "12.345", "doce", "1e400"):
        body = assert_problem(
            client.post("/api/v1/allocations", json=allocation_payload(org, amount=amount), headers=headers),
            422, "validation_error")
        assert "amount" in body["errors"], amount
    assert db.session.scalar(select(Allocation.id)) is None


def test_unknown_organization_and_duplicate_allocation_are_refused(client):
    org = make_organization()
    make_allocation(org, decree_number="D.L. N.º 1045", budget_line_code="2026-0700-3-02-01-21-1-56304")
    headers = api_headers(client, make_user(["admin"]))
    body = assert_problem(
        client.post("/api/v1/allocations", json=allocation_payload(org), headers=headers), 422, "validation_error")
    assert "decree_number" in body["errors"]
    body = assert_problem(
        client.post("/api/v1/allocations", json=allocation_payload(org, organization_id=987654), headers=headers),
        422, "validation_error")
    assert "organization_id" in body["errors"]


def test_ngo_user_sees_only_its_allocations_and_gets_404_for_others(client):
    mine, other = make_organization(), make_organization()
    own = make_allocation(mine)
    foreign = make_allocation(other)
    headers = api_headers(client, make_user(["ngo"], organization=mine))
    listing = client.get("/api/v1/allocations", headers=headers).get_json()
    assert [a["id"] for a in listing["items"]] == [own.id]
    assert_problem(client.get(f"/api/v1/allocations/{foreign.id}", headers=headers), 404, "not_found")
    assert_problem(client.patch(f"/api/v1/allocations/{foreign.id}", json={"amount": "1.00"}, headers=headers),
                   404, "not_found")


def test_filter_by_fiscal_year(client):
    org = make_organization()
    make_allocation(org, fiscal_year=year(2025))
    make_allocation(org, fiscal_year=year())
    headers = api_headers(client, make_user(["financial_reviewer"]))
    listing = client.get(f"/api/v1/allocations?fiscal_year={year(2025)}", headers=headers).get_json()
    assert [a["fiscal_year"] for a in listing["items"]] == [year(2025)]


def test_patch_amount_is_audited(client):
    from grants.models import AuditEvent

    allocation = make_allocation(make_organization(), amount="100.00")
    headers = api_headers(client, make_user(["admin"]))
    response = client.patch(f"/api/v1/allocations/{allocation.id}", json={"amount": "150.50"}, headers=headers)
    assert response.get_json()["amount"] == "150.50"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "allocation.updated")).one()
    assert (event.before["amount"], event.after["amount"]) == ("100.00", "150.50")
