"""The backup/restore drill of README "Backup and restore", on PostgreSQL: the demo in a fresh
database → `pg_dump -Fc` → `pg_restore` into another fresh database → `flask ledger check` and
`flask audit verify` pass on the restored one (as separate processes, with production settings);
an audit row or a ledger amount altered afterwards makes the matching command exit 1."""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from grants import MIGRATIONS_DIR, create_app
from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import load_demo
from tests.conftest import dispose, pg_available, pg_url

ROOT = Path(__file__).resolve().parents[2]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (required under CI)")
        pytest.skip(why)


@pytest.fixture
def databases():
    """Two fresh PostgreSQL databases (not schemas: a dump restores a whole database), dropped after."""
    _require(pg_available(), f"PostgreSQL not reachable at {pg_url()}")
    _require(shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None,
             "pg_dump / pg_restore are not installed")
    base = sa.engine.make_url(pg_url())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"drill_{uuid.uuid4().hex[:10]}_{role}" for role in ("source", "restored")]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield [base.set(database=name) for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def libpq(url: sa.engine.URL) -> str:
    """The URL pg_dump and pg_restore take (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def flask(url: sa.engine.URL, tmp_path, *command) -> subprocess.CompletedProcess:
    env = {**os.environ, "FONDOS_ENV": "production", "SECRET_KEY": "drill-" + "k" * 40,
           "DATABASE_URL": url.render_as_string(hide_password=False), "UPLOAD_DIR": str(tmp_path / "uploads"),
           "LOG_FORMAT": "text"}
    return subprocess.run([sys.executable, "-m", "tests.on_test_day", "-m", "flask", "--app", "wsgi", *command],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def sql(url: sa.engine.URL, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_restored_backup_passes_both_checks_and_tampering_is_caught(databases, tmp_path):
    source, restored = databases
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=source.render_as_string(hide_password=False),
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
            with unit_of_work():
                load_demo(Actor.system("tests: restore drill"))
    finally:
        dispose(app)

    dump = tmp_path / "fondos.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), libpq(source)],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq(restored), str(dump)],
                   check=True, capture_output=True, timeout=300)

    ledger = flask(restored, tmp_path, "ledger", "check")
    assert ledger.returncode == 0, ledger.stderr
    assert "sin diferencias" in ledger.stdout
    audit = flask(restored, tmp_path, "audit", "verify")
    assert audit.returncode == 0, audit.stderr
    assert "íntegra" in audit.stdout

    restored_app = create_app("testing", SQLALCHEMY_DATABASE_URI=restored.render_as_string(hide_password=False))
    try:  # the restored database is at the code's migration head: an app server on it is ready
        assert restored_app.test_client().get("/readyz").status_code == 200
    finally:
        dispose(restored_app)

    # one audit row altered by someone who switched the append-only trigger off
    sql(restored, "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "UPDATE audit_events SET actor_email = 'otra@persona.org' WHERE seq = 3",
        "ALTER TABLE audit_events ENABLE TRIGGER USER")
    audit = flask(restored, tmp_path, "audit", "verify")
    assert audit.returncode == 1
    assert "secuencia 3" in audit.stderr
    assert flask(restored, tmp_path, "ledger", "check").returncode == 0  # the money itself is untouched

    # one ledger amount changed
    sql(restored, "UPDATE agreement_balances SET paid = paid - 0.01 "
                  "WHERE agreement_id = (SELECT MIN(agreement_id) FROM agreement_balances WHERE paid > 0)")
    ledger = flask(restored, tmp_path, "ledger", "check")
    assert ledger.returncode == 1
    assert ": paid " in ledger.stderr
