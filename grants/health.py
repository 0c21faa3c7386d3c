"""Liveness and readiness, for the proxy / orchestrator.

* ``GET /healthz`` — liveness: the process answers. Touches nothing else (no database), so a
  database outage never gets healthy app servers restarted. 200 ``{"status": "ok"}``.
* ``GET /readyz`` — readiness: send traffic here only if this process can do its work. 200 when
  the database answers, its Alembic revision is the code's head (so a server started before
  ``flask db upgrade`` — or a new release before the migration ran — takes no requests), and the
  job queue is reachable; otherwise 503 with the check that failed. The queue check is
  ``grants.jobs.queue_ready()`` when that module exists (the PostgreSQL queue: it returns ``True``
  / ``False``, or ``(ok, detail)``); without it long work runs in-process and the check says
  ``in_process``.
"""
from __future__ import annotations

import functools
import logging

from flask import Flask, jsonify
from sqlalchemy import text

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from grants import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def jobs_module():
    """``grants.jobs`` (the PostgreSQL job queue) if this code has it, else None; a module that
    exists but fails to import is an error, not an absence."""
    import importlib

    try:
        return importlib.import_module("grants.jobs")
    except ModuleNotFoundError as exc:
        if exc.name != "grants.jobs":
            raise
        return None


def _queue_check() -> dict:
    jobs = jobs_module()
    if jobs is None:
        return {"status": "in_process"}
    ready = getattr(jobs, "queue_ready", None)
    if ready is None:
        return {"status": "in_process"}
    try:
        result = ready()
    except Exception as exc:
        log.warning("readiness: job queue check failed: %s", exc)
        return {"status": "unavailable"}
    ok, detail = result if isinstance(result, tuple) else (bool(result), None)
    body = {"status": "ok" if ok else "unavailable"}
    if detail:
        body["detail"] = str(detail)
    return body


def readiness() -> tuple[bool, dict]:
    from alembic.migration import MigrationContext

    from grants.extensions import db
    from grants.models import AuditChainHead

    body: dict = {"status": "ready", "app": "fondos", "database": {"backend": db.engine.dialect.name}}
    expected = list(code_heads())
    try:
        db.session.execute(text("SELECT 1"))
        body["database"]["status"] = "ok"
        current = sorted(MigrationContext.configure(db.session.connection()).get_current_heads())
        migrated = current == expected
        body["migrations"] = {"status": "ok" if migrated else "not_at_head", "current": current, "head": expected}
        if migrated:
            head = db.session.get(AuditChainHead, 1)
            body["audit_events"] = head.seq if head is not None else None
    except Exception as exc:  # report, don't crash: that's what a readiness check is for
        log.warning("readiness: database unavailable: %s", exc)
        body["database"]["status"] = "unavailable"
    finally:
        db.session.rollback()
    body["queue"] = _queue_check()
    ok = (body["database"]["status"] == "ok" and body.get("migrations", {}).get("status") == "ok"
          and body["queue"]["status"] in ("ok", "in_process"))
    if not ok:
        body["status"] = "not_ready"
    return ok, body


def install(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "app": "fondos"})

    @app.get("/readyz")
    def readyz():
        ok, body = readiness()
        return jsonify(body), 200 if ok else 503
