"""FONDOS_ENV=production refuses to start with a developer's settings, and says why."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ProductionConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "k3y-" + "x" * 44
PG = "postgresql+psycopg://fondos@db.internal/fondos"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "FONDOS_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def refusal(**env) -> str:
    with pytest.raises(ProductionConfigError) as exc:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            load_config("production")
    return str(exc.value)


def test_nothing_set_names_both_missing_settings(clean_env):
    message = refusal()
    assert "SECRET_KEY is not set" in message
    assert "DATABASE_URL is not set" in message


@pytest.mark.parametrize("url", ["sqlite:///instance/fondos.db", "sqlite:////srv/fondos.db"])
def test_sqlite_is_refused(clean_env, url):
    message = refusal(SECRET_KEY=REAL_KEY, DATABASE_URL=url)
    assert "must be a PostgreSQL database in production, not sqlite" in message
    assert "SECRET_KEY" not in message


@pytest.mark.parametrize("key", ["changeme", "short-key", "testing-only-secret-key-not-for-production"])
def test_a_placeholder_or_short_key_is_refused(clean_env, key):
    message = refusal(SECRET_KEY=key, DATABASE_URL=PG)
    assert "SECRET_KEY is not a real secret" in message


def test_a_real_key_and_postgresql_start(clean_env):
    clean_env.setenv("SECRET_KEY", REAL_KEY)
    clean_env.setenv("DATABASE_URL", PG)
    settings = load_config("production")
    assert settings["SECRET_KEY"] == REAL_KEY and settings["SQLALCHEMY_DATABASE_URI"] == PG
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_other_profiles_still_start_on_sqlite(clean_env):
    assert load_config("testing")["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    return {**env, "FONDOS_ENV": "production", **extra}


def test_the_flask_command_refuses_with_the_reason():
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ledger", "check"], cwd=ROOT,
                          env=_env(DATABASE_URL="sqlite:///x.db"), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "FONDOS_ENV=production refuses to start" in proc.stderr
    assert "SECRET_KEY is not set" in proc.stderr and "not sqlite" in proc.stderr


def test_gunicorn_refuses_before_starting_any_worker():
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.run([str(gunicorn), "--config", "gunicorn.conf.py", "--bind", "127.0.0.1:0"], cwd=ROOT,
                          env=_env(SECRET_KEY="changeme"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 78, proc.stderr[-2000:]
    assert "SECRET_KEY is not a real secret" in proc.stderr
    assert "DATABASE_URL is not set" in proc.stderr
    assert "Booting worker" not in proc.stderr
