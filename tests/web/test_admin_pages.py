"""Admin pages: organizations, allocations and users, with errors next to the fields."""
import re

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.models import Allocation, AuditEvent, Organization, User
from tests.factories import make_allocation, make_organization, make_user, valid_dui
from tests.helpers import csrf_token, web_login
from tests.timeline import year


@pytest.fixture
def admin_client(client):
    web_login(client, make_user(["admin"]).email)
    return client


def organization_form(token, **overrides):
    data = {
        "csrf_token": token,
        "legal_name": "Fundación Nueva Esperanza",
        "nit": "0614-090291-107-1",
        "registry_number": "ASFL-2020-0001",
        "legal_rep_name": "Juana Pérez",
        "legal_rep_dui": "04567890-3",
        "address": "Calle Principal 1",
        "municipality_code": "0623",
        "bank_name": "Banco Agrícola",
        "bank_account": "123-456",
        "phones": "2222-3333, 7777 8888",
        "board_members-0-name": "Juana Pérez",
        "board_members-0-dui": "04567890-3",
        "board_members-0-position": "Presidenta",
    }
    data.update(overrides)
    return data


def test_admin_pages_render(admin_client):
    org = make_organization()
    make_allocation(org)
    for path in ("/", "/admin/organizations", f"/admin/organizations/{org.id}",
                 f"/admin/organizations/{org.id}/edit", "/admin/organizations/new",
                 "/admin/allocations", f"/admin/allocations?year={year()}", "/admin/allocations/new",
                 "/admin/users", "/admin/users/new", "/audit"):
        response = admin_client.get(path)
        assert response.status_code == 200, path


def test_organization_form_shows_errors_next_to_fields_and_saves_nothing(admin_client):
    token = csrf_token(admin_client, "/admin/organizations/new")
    response = admin_client.post("/admin/organizations/new", data=organization_form(
        token, nit="0614-090291-107-2", **{"board_members-0-dui": "12345678-5"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field="nit">El dígito verificador del NIT', html)
    assert re.search(r'data-field="board_members-0-dui">El dígito verificador del DUI', html)
    assert db.session.scalar(select(Organization)) is None


def test_organization_form_creates_and_edits_with_audit(admin_client):
    token = csrf_token(admin_client, "/admin/organizations/new")
    response = admin_client.post("/admin/organizations/new", data=organization_form(token))
    assert response.status_code == 303
    org = db.session.scalars(select(Organization)).one()
    assert org.phone_numbers == ["22223333", "77778888"]
    assert [m.dui for m in org.board_members] == ["04567890-3"]
    page = admin_client.get(f"/admin/organizations/{org.id}").get_data(as_text=True)
    assert "Fundación Nueva Esperanza" in page and "San Salvador Centro" in page

    edit = admin_client.get(f"/admin/organizations/{org.id}/edit").get_data(as_text=True)
    assert 'value="Juana Pérez"' in edit
    token = csrf_token(admin_client, f"/admin/organizations/{org.id}/edit")
    response = admin_client.post(f"/admin/organizations/{org.id}/edit", data=organization_form(
        token, active="y", **{"board_members-1-name": "Pedro López", "board_members-1-dui": valid_dui(777),
                              "board_members-1-position": "Tesorero"}))
    assert response.status_code == 303
    db.session.refresh(org)
    assert [m.name for m in org.board_members] == ["Juana Pérez", "Pedro López"]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "organization")
                                 .order_by(AuditEvent.seq)).all()
    assert actions == ["organization.created", "organization.updated"]


def test_allocation_form_with_a_bad_amount(admin_client):
    org = make_organization()
    token = csrf_token(admin_client, "/admin/allocations/new")
    data = {"csrf_token": token, "decree_number": "D.L. N.º 9", "fiscal_year": str(year()),
            "budget_line_code": "2026-0700", "organization_id": str(org.id), "amount": "1.234",
            "purpose": "Prevención"}
    response = admin_client.post("/admin/allocations/new", data=data)
    assert response.status_code == 422
    assert 'data-field="amount"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Allocation)) is None
    data["amount"] = "1,234.50"
    assert admin_client.post("/admin/allocations/new", data=data).status_code == 303
    listing = admin_client.get(f"/admin/allocations?year={year()}").get_data(as_text=True)
    assert "$1,234.50" in listing


def test_user_form_refuses_conflicting_roles_and_creates_a_valid_user(admin_client):
    org = make_organization()
    token = csrf_token(admin_client, "/admin/users/new")
    data = {"csrf_token": token, "email": "Nueva@Example.org", "full_name": "Nueva Persona",
            "roles": ["ngo", "treasury"], "organization_id": str(org.id), "password": "segura-2026"}
    response = admin_client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert "no pueden recaer en la misma persona" in response.get_data(as_text=True)
    data["roles"] = ["ngo"]
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = db.session.scalars(select(User).where(User.email == "nueva@example.org")).one()
    assert user.roles == ["ngo"] and user.organization_id == org.id
    assert user.password_hash.startswith("$argon2id$")


def test_non_admins_cannot_open_admin_forms(client):
    web_login(client, make_user(["treasury"]).email)
    for path in ("/admin/organizations/new", "/admin/allocations/new", "/admin/users", "/audit"):
        assert client.get(path).status_code == 403, path
    assert client.get("/admin/organizations").status_code == 200


def test_admin_cannot_lock_themselves_out(client):
    admin = make_user(["admin"])
    web_login(client, admin.email)
    token = csrf_token(client, f"/admin/users/{admin.id}/edit")
    response = client.post(f"/admin/users/{admin.id}/edit", data={
        "csrf_token": token, "email": admin.email, "full_name": admin.full_name, "roles": ["auditor"]})
    assert response.status_code == 422
    assert db.session.get(User, admin.id).roles == ["admin"]


def test_cli_creates_a_user(live_app):
    from grants.cli import users_create

    runner = live_app.test_cli_runner()
    result = runner.invoke(users_create, ["--email", "cli@example.org", "--name", "Desde CLI",
                                          "--role", "auditor", "--password", "segura-2026"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(users_create, ["--email", "cli@example.org", "--name", "Otra vez",
                                       "--role", "auditor", "--password", "segura-2026"])
    assert bad.exit_code == 1 and "Ya existe un usuario" in bad.output


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_names_that_begin_like_a_formula_are_refused_by_the_forms(admin_client, start):
    token = csrf_token(admin_client, "/admin/organizations/new")
    response = admin_client.post("/admin/organizations/new", data=organization_form(
        token, legal_rep_name=f"{start}Juana", **{"board_members-0-name": f"{start}Juana"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field="legal_rep_name">Un nombre no puede comenzar con', html)
    assert re.search(r'data-field="board_members-0-name">Un nombre no puede comenzar con', html)
    assert db.session.scalar(select(Organization)) is None
    token = csrf_token(admin_client, "/admin/users/new")
    response = admin_client.post("/admin/users/new", data={
        "csrf_token": token, "email": "n@example.org", "full_name": f"{start}HYPERLINK(1)", "roles": ["auditor"],
        "password": "segura-2026"})
    assert response.status_code == 422 and "Un nombre no puede comenzar con" in response.get_data(as_text=True)
