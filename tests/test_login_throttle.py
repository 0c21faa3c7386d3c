"""One login throttle for the web form and the API: failures per account and per address, counted
in the database (grants/throttle.py), on both backends. Across gunicorn workers: test_login_throttle_gunicorn.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from grants import clock, security, throttle
from grants.extensions import db
from grants.models import LoginThrottle
from tests.factories import PASSWORD, make_user
from tests.helpers import assert_problem, web_login


pytestmark = pytest.mark.usefixtures("one_window")  # no window ends mid-test


def api_login(client, email, password, **kwargs):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password}, **kwargs)


@pytest.fixture
def checked(monkeypatch):
    """How many passwords were really checked (Argon2 verifications)."""
    calls = []
    original = security.verify_password

    def counting(password_hash, password):
        calls.append(password)
        return original(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    monkeypatch.setattr("grants.services.auth.verify_password", counting)
    return calls


def refused_on_the_web(response):
    assert response.status_code == 429
    assert "Demasiados intentos" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_web_and_api_failures_share_one_counter_per_account(client, checked):
    user = make_user(["auditor"])
    for attempt in range(10):
        if attempt % 2:
            assert api_login(client, user.email, f"bad-{attempt}").status_code == 401
        else:
            assert web_login(client, user.email, f"bad-{attempt}").status_code == 200
    assert len(checked) == 10
    body = assert_problem(api_login(client, user.email, "bad-10"), 429, "too_many_requests")
    assert "Vuelva a intentarlo en" in body["detail"]
    refused_on_the_web(web_login(client, user.email, "bad-11"))
    # the right password waits for the window too, on both faces, and is never even checked
    retry = api_login(client, user.email, PASSWORD)
    assert_problem(retry, 429, "too_many_requests")
    assert 0 < int(retry.headers["Retry-After"]) <= 15 * 60
    refused_on_the_web(web_login(client, user.email, PASSWORD))
    assert len(checked) == 10
    assert throttle.failures(user.email) == 10


def test_the_right_password_works_again_once_the_window_has_passed(client):
    user = make_user(["auditor"])
    for attempt in range(10):
        api_login(client, user.email, f"bad-{attempt}")
    refused = api_login(client, user.email, PASSWORD)
    assert_problem(refused, 429, "too_many_requests")
    retry_after = int(refused.headers["Retry-After"])
    with time_machine.travel(clock.utcnow() + timedelta(seconds=retry_after - 5), tick=False):
        assert_problem(api_login(client, user.email, PASSWORD), 429, "too_many_requests")
    with time_machine.travel(clock.utcnow() + timedelta(seconds=retry_after + 1), tick=False):
        assert api_login(client, user.email, PASSWORD).status_code == 201
        assert web_login(client, user.email, PASSWORD).status_code == 302


def test_a_wrong_password_stays_counted_although_its_request_rolls_back(client):
    user = make_user(["auditor"])
    assert api_login(client, user.email, "bad").status_code == 401  # the request rolled back
    assert throttle.failures(user.email) == 1
    assert throttle.failures(address="127.0.0.1") == 1


def test_successes_do_not_count_and_do_not_reset_the_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "4 per minute")
    me = make_user(["auditor"])
    for attempt in range(3):
        assert api_login(client, f"guess{attempt}@x.org", "guess-guess").status_code == 401
    for _ in range(3):  # my own logins, right password: never counted, never a reset
        assert api_login(client, me.email, PASSWORD).status_code == 201
        assert web_login(app.test_client(), me.email, PASSWORD).status_code == 302
    assert throttle.failures(address="127.0.0.1") == 3
    assert api_login(client, "guess3@x.org", "guess-guess").status_code == 401  # the 4th failure
    assert_problem(api_login(client, "guess4@x.org", "guess-guess"), 429, "too_many_requests")
    other = api_login(client, "guess4@x.org", "guess-guess", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 401


def test_a_full_address_takes_no_slot_from_the_account(client, app, monkeypatch):
    """A refused attempt counts nowhere: the account's own counter is not used up by an address block."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "2 per minute")
    user = make_user(["auditor"])
    api_login(client, "a@x.org", "guess-guess")
    api_login(client, "b@x.org", "guess-guess")
    assert_problem(api_login(client, user.email, "bad"), 429, "too_many_requests")
    assert throttle.failures(user.email) == 0
    assert api_login(client, user.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 201


def test_ended_windows_are_deleted_and_no_address_or_email_is_stored(client):
    user = make_user(["auditor"])
    api_login(client, user.email, "bad")
    rows = db.session.scalars(select(LoginThrottle)).all()
    assert len(rows) == 2
    assert all(user.email not in row.key and "127.0.0.1" not in row.key for row in rows)
    with time_machine.travel(clock.utcnow() + timedelta(minutes=16), tick=False):
        api_login(client, "someone-else@x.org", "bad")
    mine = throttle.digest("account", user.email)
    assert db.session.scalars(select(LoginThrottle).where(LoginThrottle.key == mine)).all() == []
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 2  # the new window's only


def test_a_disabled_throttle_counts_nothing(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_ENABLED", False)
    user = make_user(["auditor"])
    for attempt in range(12):
        assert api_login(client, user.email, f"bad-{attempt}").status_code == 401
    assert throttle.failures(user.email) == 0


@pytest.mark.parametrize("text, count, seconds", [
    ("10 per 15 minutes", 10, 900), ("30 per minute", 30, 60), ("5/hour", 5, 3600), ("3 per 2 days", 3, 172800),
])
def test_limits_are_read_as_operators_write_them(text, count, seconds):
    assert throttle.Limit.parse(text) == throttle.Limit(count, seconds)


@pytest.mark.parametrize("text", ["", "ten per minute", "0 per minute", "10 per fortnight"])
def test_a_mistyped_limit_stops_the_start(text):
    from grants import create_app

    with pytest.raises(ValueError, match="login limit"):
        create_app("testing", LOGIN_LIMIT_PER_ACCOUNT=text, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_an_operator_unblocks_one_account_before_the_window_ends(live_app):
    with live_app.app_context():
        blocked, other = make_user(["auditor"]).email, make_user(["auditor"]).email
    client = live_app.test_client()
    for attempt in range(10):
        api_login(client, blocked, f"bad-{attempt}")
    api_login(client, other, "bad")
    assert_problem(api_login(client, blocked, PASSWORD), 429, "too_many_requests")
    result = live_app.test_cli_runner().invoke(args=["users", "unblock", "--email", blocked.upper()])
    assert result.exit_code == 0, result.output
    assert api_login(client, blocked, PASSWORD).status_code == 201
    with live_app.app_context():
        assert throttle.failures(other) == 1  # nobody else's counter was touched
        assert throttle.failures(address="127.0.0.1") == 11
    assert live_app.test_cli_runner().invoke(args=["users", "unblock"]).exit_code != 0


def test_behind_a_proxy_the_clients_address_is_counted_not_the_proxys(live_database):
    """PROXY_HOPS=1: two clients behind one proxy have counters of their own; without it (the
    default) everyone behind the proxy would share the proxy's."""
    from tests.conftest import dispose, make_app

    app = make_app(live_database, PROXY_HOPS=1)
    try:
        with app.app_context():
            app.config["LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
        client = app.test_client()
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        for _ in range(2):
            assert api_login(client, "x@x.org", "guess-guess", environ_base=proxy,
                             headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
        assert_problem(api_login(client, "y@x.org", "guess-guess", environ_base=proxy,
                                 headers={"X-Forwarded-For": "203.0.113.7"}), 429, "too_many_requests")
        assert api_login(client, "y@x.org", "guess-guess", environ_base=proxy,
                         headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 401
    finally:
        dispose(app)
