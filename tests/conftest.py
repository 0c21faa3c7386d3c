"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

* ``database``: one migrated database per backend for the session (a temp SQLite file, or a
  fresh database on the PostgreSQL test server), dropped at the end.
* ``app`` / ``client``: bound to it; each test runs inside a connection-level transaction and
  every request or service commit becomes a SAVEPOINT (Warehouse's pattern), rolled back after
  the test, so tests never see each other's data.
* ``live_database`` / ``live_app``: a fresh database that really commits, for concurrency,
  CLI and browser tests.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default: the local server's ``test`` database).
If it is unreachable its tests are skipped, except under CI (``CI=true``) where that fails.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from datetime import datetime, time

import pytest
import sqlalchemy as sa
import time_machine
from flask_migrate import upgrade

from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from grants import MIGRATIONS_DIR, clock, create_app, throttle
from grants.extensions import db
from tests.timeline import test_day

_TRAVEL = None


def pytest_configure(config):
    """Move the whole process to the test day at 10:00 in El Salvador (time runs on from there),
    so no test depends on the real date or on the hour it runs; then compile the message
    catalogues (build output, not in git) so `pytest` alone works."""
    global _TRAVEL
    os.environ["FONDOS_TEST_TODAY"] = test_day().isoformat()  # child processes: tests/on_test_day.py
    _TRAVEL = time_machine.travel(datetime.combine(test_day(), time(10), clock.EL_SALVADOR), tick=True)
    _TRAVEL.start()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("grants/translations/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            with mo.open("wb") as out:
                write_mo(out, catalog, use_fuzzy=True)


def pytest_unconfigure(config):
    if _TRAVEL is not None:
        _TRAVEL.stop()
    for template in _TEMPLATES.values():
        template.drop()


def pytest_report_header(config):
    return f"test day (grants.clock.today()): {test_day().isoformat()}  [FONDOS_TEST_TODAY]"


DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = tuple(b.strip() for b in os.environ.get("FONDOS_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip())
# FONDOS_TEST_BACKENDS=sqlite (or postgresql): one backend only, for a quicker local run; `make test` runs both.
if not BACKENDS or set(BACKENDS) - {"sqlite", "postgresql"}:
    raise pytest.UsageError(f"FONDOS_TEST_BACKENDS: sqlite and/or postgresql, not {BACKENDS!r}")


def pg_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


def pg_available() -> bool:
    try:
        engine = sa.create_engine(pg_url())
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class TestDatabase:
    """A throw-away database: a SQLite file, or a PostgreSQL database on the test server.

    It starts empty. ``migrate()`` (``make_app``) brings it to the head revision as a byte copy of
    the process's template for the backend — a database migrated once, for real (``flask db
    upgrade``, every migration from the first), that no test touches: the SQLite file copied, or
    ``CREATE DATABASE … TEMPLATE``. The same tables, constraints and alembic revision, without
    twenty migrations per test (2–3 s each). ``tests/test_migrations.py`` migrates from scratch
    and compares the result with the models."""

    __test__ = False

    def __init__(self, backend: str, tmp_dir: Path):
        self.backend = backend
        self.name = f"fondos_t_{uuid.uuid4().hex[:12]}"
        self.migrated = False
        if backend == "sqlite":
            self.path = tmp_dir / (self.name + ".db")
            self.url = f"sqlite:///{self.path}"
        else:
            self._create(f'CREATE DATABASE "{self.name}"')
            self.url = sa.engine.make_url(pg_url()).set(database=self.name).render_as_string(hide_password=False)

    @staticmethod
    def _create(statement: str) -> None:
        with _admin().connect() as conn:
            conn.execute(sa.text(statement))

    def migrate_for_real(self) -> None:
        """``flask db upgrade`` on this database: every migration from the first."""
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=self.url)
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
        dispose(app)  # CREATE DATABASE … TEMPLATE wants the template without connections
        self.migrated = True

    def migrate(self) -> None:
        """At head: a copy of this process's template database for the backend, migrated once for
        real. The template is never used by a test."""
        if self.migrated:
            return
        template = _TEMPLATES.get(self.backend)
        if template is None:
            template = TestDatabase(self.backend, Path(tempfile.mkdtemp(prefix="fondos-template-")))
            template.migrate_for_real()
            _TEMPLATES[self.backend] = template
        if self.backend == "sqlite":
            shutil.copyfile(template.path, self.path)
        else:
            self._create(f'DROP DATABASE "{self.name}"')
            self._create(f'CREATE DATABASE "{self.name}" TEMPLATE "{template.name}"')
        self.migrated = True

    def drop(self) -> None:
        if self.backend == "postgresql":
            self._create(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.path.exists():
            self.path.unlink()


_TEMPLATES: dict[str, TestDatabase] = {}


@functools.cache
def _admin() -> sa.Engine:
    """One autocommit engine on the test server's own database, for CREATE/DROP DATABASE."""
    return sa.create_engine(pg_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


class ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks engines itself; in tests it must use the test connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind or self.bind or super().get_bind(mapper, clause, **kwargs)


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (its own ``g`` and db session), as in production,
    even though the test itself holds one open; afterwards the test's session is expired so
    it reads what the request committed."""

    def open(self, *args, **kwargs):
        # buffered: the response is read whole and closed, as a browser's is; what runs once the
        # response is sent (the inline jobs of grants/jobs.py, call_on_close) has run when this returns.
        # A test of a streamed download passes buffered=False and closes the response itself.
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


_SIGNING_CA: dict = {}


def signing_ca() -> dict:
    """This test process's small CA (grants/demo_signing.py): every app of the suite signs the
    documents it issues with its ministry certificate and trusts its root."""
    if not _SIGNING_CA:
        from grants.demo_signing import make_ca

        _SIGNING_CA.update(make_ca(Path(tempfile.mkdtemp(prefix="fondos-signing-"))))
    return _SIGNING_CA


def make_app(database: TestDatabase, **overrides):
    overrides.setdefault("UPLOAD_DIR", tempfile.mkdtemp(prefix="fondos-uploads-"))
    ca = signing_ca()
    overrides.setdefault("SIGNING_P12", str(ca["p12"]))
    overrides.setdefault("SIGNING_PASSPHRASE", ca["passphrase"].read_text())
    overrides.setdefault("SIGNING_TRUST_ROOTS", str(ca["ca"]))
    database.migrate()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database.url, **overrides)
    app.test_client_class = FreshContextClient
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgresql" and not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and is not reachable at {pg_url()}")
        pytest.skip(f"PostgreSQL not reachable at {pg_url()}")
    return request.param


@pytest.fixture(scope="session")
def database(backend, tmp_path_factory):
    database = TestDatabase(backend, tmp_path_factory.mktemp("db"))
    yield database
    database.drop()


@pytest.fixture(scope="session")
def _session_app(database):
    app = make_app(database)
    yield app
    dispose(app)


@pytest.fixture
def app(_session_app):
    """The session app, with this test's work in a transaction rolled back afterwards."""
    app = _session_app
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            throttle.forget_all()  # its counters commit on connections of their own (grants/throttle.py)
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": ConnectionBoundSession}
        )
        try:
            yield app
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_database(backend, tmp_path):
    database = TestDatabase(backend, tmp_path)
    yield database
    database.drop()


@pytest.fixture
def live_app(live_database):
    """An app on its own fresh, migrated database whose commits are real."""
    app = make_app(live_database)
    yield app
    dispose(app)


@pytest.fixture
def one_window():
    """Login throttling counts in fixed windows (a minute per address, 15 minutes per account): a test
    that counts attempts holds the clock still at the start of a 15-minute window, so no window ends in
    the middle of it (with time running, the 31st attempt of a minute could land in the next one)."""
    now = clock.utcnow()  # the suite's day (conftest moved the process there), never the real one
    start = now.replace(minute=now.minute - now.minute % 15, second=1, microsecond=0)
    with time_machine.travel(start, tick=False):
        yield start
