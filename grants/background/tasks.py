"""The job queue's tasks: each takes the Flask app, pushes its context and does its work in one unit
of work (``grants.db.unit_of_work``), and is idempotent — a retried job (a worker killed mid-way)
changes nothing a first run already did. ``grants.jobs`` registers them on the queue (or runs them
in-process on SQLite); ``TASKS`` and ``PERIODIC`` are the catalogue.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Flask

from grants.extensions import db
from grants.workflows.audit_check import RunState
from grants.workflows.import_batch import BatchState

log = logging.getLogger("grants.jobs")


def _in_unit_of_work(app: Flask, work, **kwargs):
    """``work(**kwargs)`` in the app's context and one unit of work (committed if it returns)."""
    from grants.db import unit_of_work

    with app.app_context():
        try:
            with unit_of_work():
                return work(**kwargs)
        finally:
            db.session.remove()


def _process_beneficiary_list(app: Flask, batch_id: int, user_id: int, request_id: str | None = None,
                              remote_addr: str | None = None) -> str:
    from grants.audit import Actor
    from grants.db import unit_of_work
    from grants.models import ImportBatch, User
    from grants.services import beneficiary_imports as imports
    from grants.domain_errors import Conflict

    with app.app_context():
        try:
            with unit_of_work():
                batch = db.session.get(ImportBatch, batch_id)
                if batch is None or batch.status != BatchState.PROCESSING:
                    return "nothing to do"  # processed already (a retried job): its effect happened once
                actor = Actor.for_user(db.session.get(User, user_id), request_id=request_id,
                                       remote_addr=remote_addr)
                try:  # process_batch locks the batch and refuses one no longer 'processing'
                    return imports.process_batch(actor, batch_id, progress_recorder(app, batch_id)).status
                except Conflict:
                    db.session.rollback()
                    return "nothing to do"
        finally:
            db.session.remove()


def progress_recorder(app: Flask, batch_id: int):
    """Rows read so far, written to ``import_batch_progress`` in short transactions of their own
    (PostgreSQL; SQLite has one writer, the import itself: its page shows no count until done).
    ``BENEFICIARY_IMPORT_PAUSE`` (tests only) sleeps at each report, to kill a slow import."""
    from sqlalchemy import text

    from grants.models.base import utcnow

    pause = float(app.config.get("BENEFICIARY_IMPORT_PAUSE") or 0)
    on_postgresql = db.engine.dialect.name == "postgresql"
    upsert = text("""
        INSERT INTO import_batch_progress (batch_id, rows_read, updated_at) VALUES (:b, :n, :at)
        ON CONFLICT (batch_id) DO UPDATE SET rows_read = EXCLUDED.rows_read, updated_at = EXCLUDED.updated_at""")

    from sqlalchemy.engine import Connection

    from grants.db import side_engine

    # the tests' sessions are bound to one connection: there the row is written in its transaction
    shared = isinstance(db.session.get_bind(), Connection)

    def progress(rows: int) -> None:
        if on_postgresql and shared:
            db.session.execute(upsert, {"b": batch_id, "n": rows, "at": utcnow()})
        elif on_postgresql:
            with side_engine().begin() as conn:  # beside the import's own transaction, never its pool
                conn.execute(upsert, {"b": batch_id, "n": rows, "at": utcnow()})
        if pause:
            time.sleep(pause)
    return progress


def _deliver_mail(app: Flask) -> dict:
    from grants.services.mail import deliver_pending

    with app.app_context():
        try:
            return deliver_pending()
        finally:
            db.session.remove()


def _run_checks(app: Flask, label: str = "jobs:nightly checks", agreement_id: int | None = None,
                fiscal_year: int | None = None) -> int:
    from grants.audit import Actor
    from grants.services.audit_checks import run_checks

    return _in_unit_of_work(app, lambda: run_checks(Actor.system(label), agreement_id, fiscal_year).id)


def _run_check_run(app: Flask, run_id: int, user_id: int, request_id: str | None = None) -> str:
    """A run an auditor asked for (``audit_checks.request_run``). One transaction: killed mid-way, the
    retried job runs it whole; a run no longer ``running`` is left alone. A run that fails says so."""
    from grants.audit import Actor
    from grants.db import unit_of_work
    from grants.models import AuditCheckRun, User
    from grants.services import audit_checks
    from grants.domain_errors import Conflict

    with app.app_context():
        try:
            with unit_of_work():
                run = db.session.get(AuditCheckRun, run_id)
                if run is None or run.status != RunState.RUNNING:
                    return "nothing to do"
                actor = Actor.for_user(db.session.get(User, user_id), request_id=request_id)
                try:
                    return audit_checks.run_checks(actor, run.agreement_id, run.fiscal_year, run_id=run_id).status
                except Conflict:
                    db.session.rollback()
                    return "nothing to do"
        except Exception as exc:
            log.exception("check run %s failed", run_id)
            db.session.rollback()
            with unit_of_work():
                actor = Actor.for_user(db.session.get(User, user_id), request_id=request_id)
                audit_checks.fail_run(actor, run_id, f"{type(exc).__name__}: {exc}")
            return "failed"
        finally:
            db.session.remove()


def _expire_idempotency(app: Flask, days: int = 30) -> int:
    from grants.services.idempotency import expire_older_than

    return _in_unit_of_work(app, expire_older_than, age=timedelta(days=days))


def _statement_reminders(app: Flask, days: int = 7) -> int:
    from grants.services.reminders import remind_statements_due

    return _in_unit_of_work(app, remind_statements_due, days=days)


def _build_file(app: Flask, file_id: int, request_id: str | None = None) -> str:
    """A generated file (``services.generated_files``): built and marked ready in one unit of work;
    killed mid-way, the retried job builds it again; a file that cannot be built says why."""
    from grants.services import generated_files

    try:
        return _in_unit_of_work(app, generated_files.build_pending, file_id=file_id)
    except Exception as exc:
        log.exception("generated file %s failed", file_id)
        _in_unit_of_work(app, generated_files.fail, file_id=file_id, reason=f"{type(exc).__name__}: {exc}")
        return "failed"


def _expire_files(app: Flask, days: int = 7) -> int:
    from grants.services.generated_files import expire_files

    return _in_unit_of_work(app, expire_files, older_than=timedelta(days=days))


TASKS = {
    "process_beneficiary_list": _process_beneficiary_list,
    "deliver_mail": _deliver_mail,
    "run_checks": _run_checks,
    "run_check_run": _run_check_run,
    "expire_idempotency": _expire_idempotency,
    "statement_reminders": _statement_reminders,
    "build_file": _build_file,
    "expire_files": _expire_files,
}
# Periodic jobs (queue mode; on SQLite the same work is a cron line: see README "Job queue").
PERIODIC = {
    "run_checks": "30 2 * * *",          # nightly liquidation checks, 02:30
    "expire_idempotency": "15 3 * * *",  # idempotency records older than 30 days
    "statement_reminders": "0 7 * * *",  # expense statements due in 7 days: the NGO is reminded
    "expire_files": "45 3 * * *",        # generated files older than 7 days lose their content
    "deliver_mail": "*/5 * * * *",       # the outbox, in case an after-commit job was lost
}
