"""Accounts: roles, organization binding, segregation, passwords hashed with Argon2id."""
import pytest

from grants.audit import Actor
from grants.extensions import db
from grants.security import verify_password
from grants.domain_errors import ValidationFailed
from grants.services.users import create_user, set_password, update_user
from tests.factories import PASSWORD, make_organization, make_user

SYSTEM = Actor.system("tests")


def user_data(**overrides):
    data = {"email": "persona@example.org", "full_name": "Persona", "roles": ["auditor"],
            "password": "segura-2026"}
    data.update(overrides)
    return data


def errors_of(call):
    with pytest.raises(ValidationFailed) as exc:
        call()
    db.session.rollback()
    return exc.value.errors


def test_an_ngo_user_must_belong_to_an_organization(app):
    assert "organization_id" in errors_of(lambda: create_user(SYSTEM, user_data(roles=["ngo"])))


def test_ministry_staff_belong_to_no_organization(app):
    org = make_organization()
    assert "organization_id" in errors_of(
        lambda: create_user(SYSTEM, user_data(roles=["treasury"], organization_id=org.id)))


def test_an_ngo_user_holds_no_ministry_role(app):
    org = make_organization()
    errors = errors_of(lambda: create_user(SYSTEM, user_data(roles=["ngo", "financial_reviewer"],
                                                             organization_id=org.id)))
    assert "roles" in errors


def test_unknown_roles_short_passwords_and_bad_emails_are_reported_together(app):
    errors = errors_of(lambda: create_user(SYSTEM, user_data(roles=["king"], password="short", email="x")))
    assert {"roles", "password", "email"} <= set(errors)


def test_several_compatible_roles_are_allowed(app):
    user = create_user(SYSTEM, user_data(roles=["legal_reviewer", "auditor"]))
    assert sorted(user.roles) == ["auditor", "legal_reviewer"]


def test_passwords_are_argon2id_and_a_new_password_ends_old_sessions(app):
    user = make_user(["auditor"])
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    version = user.session_version
    set_password(SYSTEM, user.id, "otra-clave-2026")
    assert verify_password(user.password_hash, "otra-clave-2026")
    assert not verify_password(user.password_hash, PASSWORD)
    assert user.session_version == version + 1


def test_deactivated_users_lose_every_permission(app):
    user = make_user(["admin"])
    update_user(SYSTEM, user.id, {"active": False})
    assert user.permissions == frozenset()
