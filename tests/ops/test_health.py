"""Liveness (/healthz: the process answers, nothing else) and readiness (/readyz: database,
migrations at head, job queue)."""
import sys
import types

import pytest
from flask_migrate import stamp, upgrade

from grants import MIGRATIONS_DIR, create_app
from grants.health import code_heads
from tests.conftest import dispose


def test_alive_and_ready_on_a_migrated_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "app": "fondos"}
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["migrations"] == {"status": "ok", "current": list(code_heads()), "head": list(code_heads())}
    assert body["queue"]["status"] in ("ok", "in_process")


def previous_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    (head,) = code_heads()
    return ScriptDirectory.from_config(config).get_revision(head).down_revision


def test_a_database_without_migrations_is_alive_but_not_ready(live_database):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=live_database.url)
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "not_ready" and body["database"]["status"] == "ok"
        assert body["migrations"]["status"] == "not_at_head" and body["migrations"]["current"] == []

        with app.app_context():  # migrated: ready
            upgrade(directory=MIGRATIONS_DIR)
        assert client.get("/readyz").status_code == 200

        with app.app_context():  # a release whose migration has not run yet: one revision behind
            stamp(directory=MIGRATIONS_DIR, revision=previous_revision())
        body = client.get("/readyz").get_json()
        assert body["migrations"]["status"] == "not_at_head"
        assert body["migrations"]["current"] and body["migrations"]["current"] != body["migrations"]["head"]
    finally:
        dispose(app)


def test_an_unreachable_database_is_alive_but_not_ready():
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none"
                     "?connect_timeout=2")
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["database"]["status"] == "unavailable"
    finally:
        dispose(app)


@pytest.fixture
def fake_queue(monkeypatch):
    """A stand-in for grants.jobs (the PostgreSQL queue) answering what the test says."""
    module = types.ModuleType("grants.jobs")
    monkeypatch.setitem(sys.modules, "grants.jobs", module)
    return module


def test_readiness_asks_the_job_queue_when_there_is_one(client, fake_queue):
    fake_queue.queue_ready = lambda: True
    assert client.get("/readyz").get_json()["queue"] == {"status": "ok"}

    fake_queue.queue_ready = lambda: (False, "procrastinate_jobs is missing: run flask db upgrade")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["queue"] == {"status": "unavailable",
                                            "detail": "procrastinate_jobs is missing: run flask db upgrade"}

    def broken():
        raise ConnectionError("queue down")
    fake_queue.queue_ready = broken
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
