"""A token's last use is noted at most once a minute, and never makes a request wait for a lock
(grants/services/auth.py: record_token_use)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from grants import clock
from grants.extensions import db
from grants.models import ApiToken
from tests.factories import make_user
from tests.helpers import bearer, issue_token


def last_used(app, token_id):
    with app.app_context():
        return db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def issued(app):
    client = app.test_client()
    with app.app_context():
        email = make_user(["auditor"]).email
    raw = issue_token(client, email)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == raw[:12]))
    return client, raw, token_id


def test_last_use_is_noted_at_most_once_a_minute(live_app):
    client, raw, token_id = issued(live_app)
    assert last_used(live_app, token_id) is None
    start = clock.utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    assert last_used(live_app, token_id) == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
        listed = client.get("/api/v1/auth/tokens", headers=bearer(raw)).get_json()
    assert last_used(live_app, token_id) == start
    assert [t["last_used_at"] for t in listed if t["id"] == token_id] == [start.isoformat()]
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    assert last_used(live_app, token_id) == start + timedelta(seconds=61)


@pytest.mark.parametrize("holder", ["updated the token", "locked the token for update"])
def test_a_request_does_not_wait_for_a_long_transaction_on_its_token(live_app, backend, holder):
    if backend != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL; SQLite is one writer")
    client, raw, token_id = issued(live_app)
    with live_app.app_context():
        long_transaction = db.engine.connect()
    trans = long_transaction.begin()
    if holder == "updated the token":  # what every request with the token did before: hold its row to the end
        long_transaction.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.utcnow()))
    else:
        long_transaction.execute(select(ApiToken.id).where(ApiToken.id == token_id).with_for_update())

    answered = threading.Event()
    statuses = []

    def second_request():
        statuses.append(client.get("/api/v1/me", headers=bearer(raw)).status_code)
        answered.set()

    thread = threading.Thread(target=second_request)
    thread.start()
    try:
        answered_while_held = answered.wait(timeout=60)  # a request that waited would only answer after the release
    finally:
        trans.rollback()
        long_transaction.close()
        thread.join()
    assert answered_while_held
    assert statuses == [200]
    assert last_used(live_app, token_id) is None  # skipped, not waited for: the next request notes it
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    assert last_used(live_app, token_id) is not None


def test_side_statements_never_wait_for_the_requests_pool(live_database, backend):
    """A request holds one pooled connection; its side statements (the token's last use, login
    counters) go through their own unpooled connections. With a pool of one, a request that needed
    a second pooled connection would wait for itself until the pool's timeout (a 500; under load,
    with as many such requests as pooled connections, each waited for another's)."""
    if backend != "postgresql":
        pytest.skip("SQLite runs side statements in the request's own transaction")
    from tests.conftest import dispose, make_app

    app = make_app(live_database, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 2})
    try:
        client, raw, token_id = issued(app)
        with app.app_context():
            db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=None))
            db.session.commit()
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
        assert last_used(app, token_id) is not None
        wrong = client.post("/api/v1/auth/tokens", json={"email": "nadie@fondos.example.org", "password": "x"})
        assert wrong.status_code == 401
    finally:
        dispose(app)
