"""Bearer tokens: issued for credentials, stored hashed, expire, revocable; login throttled."""
from datetime import timedelta

from sqlalchemy import select

from grants.extensions import db
from grants.models import ApiToken, AuditEvent
from grants.models.base import utcnow
from grants.security import token_digest
from tests.factories import PASSWORD, make_user
from tests.helpers import assert_problem, bearer, issue_token


def test_a_token_is_issued_for_good_credentials_and_only_its_hash_is_stored(client):
    user = make_user(["auditor"])
    raw = issue_token(client, user.email)
    stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.token_hash == token_digest(raw)
    assert raw not in (stored.token_hash, stored.prefix)
    assert stored.expires_at > utcnow()
    me = client.get("/api/v1/me", headers=bearer(raw)).get_json()
    assert me["email"] == user.email and me["roles"] == ["auditor"]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type.in_(["user", "api_token"]))).all()
    assert "user.login" in actions and "api_token.issued" in actions


def test_email_is_matched_case_insensitively(client):
    user = make_user(["auditor"])
    assert issue_token(client, user.email.upper())


def test_wrong_password_or_unknown_account_is_401_with_the_same_answer(client):
    user = make_user(["auditor"])
    a = assert_problem(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "nope-nope"}),
                       401, "invalid_credentials")
    b = assert_problem(client.post("/api/v1/auth/tokens", json={"email": "ghost@x.org", "password": "nope-nope"}),
                       401, "invalid_credentials")
    assert a == b


def test_calls_without_or_with_a_bad_token_are_401(client):
    assert_problem(client.get("/api/v1/organizations"), 401, "missing_token")
    assert_problem(client.get("/api/v1/organizations", headers=bearer("fnd_forged")), 401, "invalid_token")


def test_an_expired_token_is_refused(client, monkeypatch):
    import grants.services.auth as auth_service

    user = make_user(["auditor"])
    response = client.post("/api/v1/auth/tokens",
                           json={"email": user.email, "password": PASSWORD, "expires_in_hours": 1})
    raw = response.get_json()["token"]
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    later = utcnow() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(auth_service, "utcnow", lambda: later)
    assert_problem(client.get("/api/v1/me", headers=bearer(raw)), 401, "invalid_token")


def test_a_revoked_token_is_refused_and_the_revocation_is_audited(client):
    user = make_user(["auditor"])
    raw = issue_token(client, user.email)
    assert client.delete("/api/v1/auth/tokens/current", headers=bearer(raw)).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(raw)), 401, "invalid_token")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoked")) is not None


def test_a_user_can_revoke_one_of_its_other_tokens_but_not_someone_elses(client):
    user, other = make_user(["auditor"]), make_user(["auditor"])
    first, second = issue_token(client, user.email), issue_token(client, user.email)
    theirs = issue_token(client, other.email)
    tokens = client.get("/api/v1/auth/tokens", headers=bearer(second)).get_json()
    assert len(tokens) == 2 and all("token" not in t for t in tokens)
    first_id = next(t["id"] for t in tokens if first.startswith(t["prefix"]))
    assert client.delete(f"/api/v1/auth/tokens/{first_id}", headers=bearer(second)).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(first)), 401, "invalid_token")
    their_id = client.get("/api/v1/auth/tokens", headers=bearer(theirs)).get_json()[0]["id"]
    assert_problem(client.delete(f"/api/v1/auth/tokens/{their_id}", headers=bearer(second)), 404, "not_found")


def test_deactivating_a_user_kills_its_tokens(client):
    admin, user = make_user(["admin"]), make_user(["auditor"])
    raw = issue_token(client, user.email)
    admin_headers = bearer(issue_token(client, admin.email))
    response = client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=admin_headers)
    assert response.status_code == 200, response.get_json()
    assert_problem(client.get("/api/v1/me", headers=bearer(raw)), 401, "invalid_token")
    assert_problem(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}),
                   401, "invalid_credentials")


def test_the_eleventh_rapid_failed_login_for_an_account_is_refused(client, one_window):
    user = make_user(["auditor"])
    for attempt in range(10):
        response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": f"bad-{attempt}"})
        assert response.status_code == 401, attempt
    assert_problem(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "bad-10"}),
                   429, "too_many_requests")
    # even the right password waits until the window passes
    assert_problem(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}),
                   429, "too_many_requests")


def test_successful_logins_do_not_count_towards_the_limit(client):
    user = make_user(["auditor"])
    for _ in range(12):
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201


def test_failed_logins_from_one_address_across_accounts_are_throttled(client, app, one_window):
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split()[0])
    for attempt in range(limit):
        response = client.post("/api/v1/auth/tokens",
                               json={"email": f"guess{attempt}@x.org", "password": "guess-guess"})
        assert response.status_code == 401, attempt
    assert_problem(client.post("/api/v1/auth/tokens", json={"email": "another@x.org", "password": "guess-guess"}),
                   429, "too_many_requests")
    other_address = client.post("/api/v1/auth/tokens", json={"email": "another@x.org", "password": "guess-guess"},
                                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_address.status_code == 401
