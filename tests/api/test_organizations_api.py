"""Organizations through the API: validation as problem+json, audit, visibility (G5)."""
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent, Organization
from tests.factories import make_organization, make_user, organization_data
from tests.helpers import api_headers, assert_problem


def test_admin_creates_an_organization_and_the_change_is_audited(client):
    admin = make_user(["admin"])
    headers = api_headers(client, admin)
    data = organization_data(nit="06140507071048", phones=["+503 2264-1180", "7012 4455"])
    response = client.post("/api/v1/organizations", json=data, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["nit"] == "0614-050707-104-8"
    assert body["phones"] == ["22641180", "70124455"]
    assert body["municipality"] == "San Salvador Centro, San Salvador"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "organization.created",
                                 AuditEvent.entity_id == str(body["id"]))
    ).one()
    assert event.actor_email == admin.email
    assert event.after["nit"] == "0614-050707-104-8"
    assert event.after["board_members"][0]["position"] == "Presidente"


def test_invalid_identity_numbers_come_back_as_field_errors(client):
    headers = api_headers(client, make_user(["admin"]))
    data = organization_data(
        nit="0614-050707-104-7",
        legal_rep_dui="00000000-0",
        board_members=[{"name": "Ana", "dui": "12345678-5", "position": "Tesorera"}],
        municipality_code="Atlántida",
    )
    body = assert_problem(client.post("/api/v1/organizations", json=data, headers=headers),
                          422, "validation_error")
    assert set(body["errors"]) == {"nit", "legal_rep_dui", "board_members.0.dui", "municipality_code"}
    assert "dígito verificador" in body["errors"]["nit"][0]
    assert db.session.scalar(select(Organization).where(Organization.legal_name == data["legal_name"])) is None


def test_errors_are_in_english_when_asked(client):
    headers = {**api_headers(client, make_user(["admin"])), "Accept-Language": "en"}
    data = organization_data(nit="0614-050707-104-7")
    body = assert_problem(client.post("/api/v1/organizations", json=data, headers=headers),
                          422, "validation_error")
    assert "check digit" in body["errors"]["nit"][0]


def test_unknown_and_server_owned_fields_are_rejected(client):
    headers = api_headers(client, make_user(["admin"]))
    data = organization_data(id=99, created_at="2020-01-01T00:00:00", favourite_colour="azul")
    body = assert_problem(client.post("/api/v1/organizations", json=data, headers=headers),
                          422, "validation_error")
    assert {"id", "created_at", "favourite_colour"} <= set(body["errors"])


def test_malformed_json_is_a_problem_not_a_500(client):
    headers = {**api_headers(client, make_user(["admin"])), "Content-Type": "application/json"}
    response = client.post("/api/v1/organizations", data="{not json", headers=headers)
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_duplicate_nit_is_refused(client):
    existing = make_organization()
    headers = api_headers(client, make_user(["admin"]))
    body = assert_problem(
        client.post("/api/v1/organizations", json=organization_data(nit=existing.nit), headers=headers),
        422, "validation_error")
    assert "nit" in body["errors"]


def test_patch_changes_only_what_is_sent_and_audits_before_and_after(client):
    org = make_organization(bank_account="111-222")
    headers = api_headers(client, make_user(["admin"]))
    response = client.patch(f"/api/v1/organizations/{org.id}", json={"bank_account": "333-444"},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["bank_account"] == "333-444"
    assert response.get_json()["legal_name"] == org.legal_name
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "organization.updated")
    ).one()
    assert (event.before["bank_account"], event.after["bank_account"]) == ("111-222", "333-444")


def test_ngo_user_gets_404_for_another_organization_and_sees_only_its_own(client):
    mine, other = make_organization(), make_organization()
    ngo = make_user(["ngo"], organization=mine)
    headers = api_headers(client, ngo)
    assert_problem(client.get(f"/api/v1/organizations/{other.id}", headers=headers), 404, "not_found")
    assert client.get(f"/api/v1/organizations/{mine.id}", headers=headers).status_code == 200
    listing = client.get("/api/v1/organizations", headers=headers).get_json()
    assert [o["id"] for o in listing["items"]] == [mine.id]
    assert listing["total"] == 1


def test_ngo_user_cannot_change_organizations(client):
    mine = make_organization()
    headers = api_headers(client, make_user(["ngo"], organization=mine))
    assert_problem(client.patch(f"/api/v1/organizations/{mine.id}", json={"bank_account": "9"},
                                headers=headers), 403, "forbidden")


def test_staff_reviewer_reads_but_cannot_create(client):
    make_organization()
    headers = api_headers(client, make_user(["legal_reviewer"]))
    assert client.get("/api/v1/organizations", headers=headers).get_json()["total"] == 1
    assert_problem(client.post("/api/v1/organizations", json=organization_data(), headers=headers),
                   403, "forbidden")


def test_lists_are_paginated(client):
    for _ in range(3):
        make_organization()
    headers = api_headers(client, make_user(["admin"]))
    page = client.get("/api/v1/organizations?page=2&page_size=2", headers=headers).get_json()
    assert (page["page"], page["page_size"], page["total"], len(page["items"])) == (2, 2, 3, 1)
    assert_problem(client.get("/api/v1/organizations?page_size=1000", headers=headers),
                   422, "validation_error")
