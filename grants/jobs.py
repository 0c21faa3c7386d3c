"""Long work on a job queue kept in PostgreSQL (procrastinate), and in-process on SQLite.

Two modes (``JOBS_MODE``; default ``queue`` on PostgreSQL, ``inline`` on SQLite and in tests):

* ``queue``: ``defer()`` writes the job into ``procrastinate_jobs`` **on the connection of the
  current unit of work**, so the job exists exactly when the work that asked for it commits (an
  upload rolled back leaves no job; a committed upload always has its job). ``flask worker``
  processes run the jobs: any number of them, on any number of machines, share the queue
  (procrastinate takes each job with ``FOR UPDATE SKIP LOCKED``: one worker per job). A worker
  killed mid-job leaves the job ``doing`` with a heartbeat that stops; the periodic
  ``retry_stalled_jobs`` puts such jobs back in the queue, and every task here is idempotent
  (a retried list import for a batch already processed does nothing).
* ``inline``: the job runs in this process once the response has been sent (``call_on_close``),
  in its own app context and unit of work — ``make run`` and the tests need no other process.
  Outside a request it runs at once.

The tasks themselves are in ``grants.background.tasks`` (each takes the Flask app, pushes an app
context and commits through ``grants.db.unit_of_work``); this module is the queue: deferring, the
worker, the periodic schedule and the ``flask jobs`` commands.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import click
import procrastinate
from flask import Flask, current_app, g, has_request_context
from procrastinate import exceptions as queue_errors
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector, wrap_exceptions
from sqlalchemy.engine import make_url

from grants.background.tasks import PERIODIC, TASKS
from grants.extensions import db

log = logging.getLogger(__name__)

QUEUE_TABLE_PREFIX = "procrastinate_"
STALLED_AFTER_SECONDS = 60  # a worker silent this long (heartbeat every 10 s) is taken for dead
DEFAULT_LOCKS = {  # task → (lock, queueing lock) templates: one at a time per object, one waiting
    "process_beneficiary_list": ("beneficiary-list-{batch_id}", "beneficiary-list-{batch_id}"),
    "deliver_mail": ("deliver-mail", "deliver-mail"),
    "run_check_run": ("check-run-{run_id}", "check-run-{run_id}"),
    "build_file": ("generated-file-{file_id}", "generated-file-{file_id}"),
}


def is_queue_object(name: str | None) -> bool:
    """The queue's own tables (created by its migration from procrastinate's schema, not by models)."""
    return bool(name) and name.startswith(QUEUE_TABLE_PREFIX)


def uses_queue(app: Flask | None = None) -> bool:
    app = app or current_app
    return app.config.get("JOBS_MODE") == "queue"


def conninfo(url: str) -> str:
    """The libpq URI of a SQLAlchemy URL (``postgresql+psycopg://…?options=-csearch_path=…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- deferring --------------------------------------------------------------------------------

class _UnitOfWorkConnector(SyncPsycopgConnector):
    """Runs procrastinate's queries on the connection of the current SQLAlchemy session (its
    transaction): a job deferred here is committed or rolled back with the work that deferred it."""

    def open(self, pool=None) -> None:  # nothing to open: the session's connection is used
        return None

    def close(self) -> None:
        return None

    @staticmethod
    def _connection():
        return db.session.connection().connection.driver_connection

    @wrap_exceptions()
    def execute_query(self, query, **arguments) -> None:
        with self._get_cursor(self._connection()) as cursor:
            cursor.execute(query, self._wrap_json(arguments))

    def execute_query_one(self, query, **arguments):
        return self.execute_query_one_with_connection(self._connection(), query, **arguments)

    def execute_query_all(self, query, **arguments):
        return self.execute_query_all_with_connection(self._connection(), query, **arguments)


def _queue_app(app: Flask) -> procrastinate.App:
    """The procrastinate app that defers on the unit of work's connection (one per Flask app)."""
    found = app.extensions.get("procrastinate")
    if found is None:
        found = app.extensions["procrastinate"] = build(app, _UnitOfWorkConnector())
    return found


def defer(task: str, **kwargs) -> None:
    """Ask for ``task(**kwargs)``: in the queue (same transaction as the caller's work), or in
    this process after the response (inline). A job already waiting with the same queueing lock
    (the same batch, the outbox) is enough: the new one is dropped."""
    app = current_app._get_current_object()
    if not uses_queue(app):
        if has_request_context():
            g.setdefault("inline_jobs", []).append((task, kwargs))
        else:
            run_now(app, task, **kwargs)
        return
    lock, queueing_lock = (t.format(**kwargs) for t in DEFAULT_LOCKS.get(task, ("{}", "{}")))
    options = {} if lock == "{}" else {"lock": lock, "queueing_lock": queueing_lock}
    deferrer = _queue_app(app).configure_task(name=task, **options)
    try:
        with db.session.begin_nested():  # a refused duplicate must not abort the caller's transaction
            deferrer.defer(**kwargs)
    except queue_errors.AlreadyEnqueued:
        log.info("job %s(%s) already waiting in the queue", task, kwargs)


def after_response(app: Flask, response) -> None:
    """Inline mode: the jobs this request deferred run once the response is sent (unit of work):
    as soon as the server has taken the body's last byte, or when it closes the response, whichever
    comes first (once). Not on close alone: Werkzeug's development server (``make run``) closes a
    response only after it has drained the request socket, which can wait for the browser to drop
    the connection — a list or a check run would stay "processing" until then."""
    pending = g.pop("inline_jobs", None)
    if not pending:
        return
    started = []

    def run_all():
        if started:
            return
        started.append(True)
        for task, kwargs in pending:
            run_now(app, task, **kwargs)

    def body_then_jobs(body):
        yield from body
        run_all()

    if not response.is_streamed:  # a plain body: run the jobs right after its last chunk is taken
        response.response = body_then_jobs(response.response)
    response.call_on_close(run_all)


def run_now(app: Flask, task: str, **kwargs) -> None:
    """Run a task in this process (inline mode). Failures are logged, as a worker would."""
    try:
        TASKS[task](app, **kwargs)
    except Exception:
        log.exception("job %s(%s) failed", task, kwargs)


def build(app: Flask, connector) -> procrastinate.App:
    """A procrastinate app with every task bound to ``app``; ``connector`` decides where jobs go."""
    queue = procrastinate.App(connector=connector)
    queue._flask_app = app

    for name, function in TASKS.items():
        def bound(*_args, _function=function, _name=name, **kwargs):
            kwargs.pop("timestamp", None)  # what a periodic job is called with
            from grants import logs

            with logs.bind(job=_name, request_id=kwargs.get("request_id") or logs.clean_request_id(None)):
                return _function(app, **kwargs)
        bound.__name__ = name
        task = queue.task(name=name, retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2))(bound)
        if name in PERIODIC:
            queue.periodic(cron=PERIODIC[name], periodic_id=name)(task)

    @queue.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
    @queue.task(name="retry_stalled_jobs", queueing_lock="retry_stalled_jobs")
    async def retry_stalled(timestamp: int):
        await retry_stalled_jobs_async(queue)

    return queue


RETRY_AT_ONCE = datetime(2000, 1, 1, tzinfo=timezone.utc)  # any past moment: eligible now


async def retry_stalled_jobs_async(queue: procrastinate.App, seconds: float = STALLED_AFTER_SECONDS) -> int:
    """Jobs left ``doing`` by a worker whose heartbeat stopped go back to the queue (procrastinate's
    recipe: ``get_stalled_jobs`` + ``retry_job``)."""
    stalled = list(await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
    for job in stalled:
        log.warning("job %s (%s) was left running by a dead worker: retried", job.id, job.task_name)
        # "at once" by the database's clock, which decides when a job may start: procrastinate's
        # default is this machine's now, and a machine whose clock runs ahead (or a test moved to
        # another day) would schedule the retry in the database's future.
        await queue.job_manager.retry_job(job, retry_at=RETRY_AT_ONCE)
    return len(stalled)


def worker_app(app: Flask, pool_size: int = 4) -> procrastinate.App:
    """The procrastinate app of a worker process: its own pool of connections (psycopg 3)."""
    from procrastinate import PsycopgConnector

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        raise click.UsageError("The job queue lives in PostgreSQL: set DATABASE_URL=postgresql+psycopg://… "
                               "(on SQLite jobs run inside the web process).")
    return build(app, PsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=pool_size))


def queue_ready(app: Flask | None = None) -> bool:
    """Readiness: in queue mode the queue's table answers on the app's database; inline: True."""
    from sqlalchemy import text

    app = app or current_app
    if not uses_queue(app):
        return True
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))
        return True
    except Exception as exc:
        log.warning("job queue not reachable: %s", exc)
        return False


def queue_stats(app: Flask | None = None) -> dict[str, tuple[int, int]]:
    """``{queue: (waiting, failed)}`` for /metrics (grants/metrics.py); empty when jobs run inline."""
    from sqlalchemy import text

    app = app or current_app
    if not uses_queue(app):
        return {}
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT queue_name, count(*) FILTER (WHERE status = 'todo'), count(*) FILTER (WHERE status = 'failed') "
            "FROM procrastinate_jobs GROUP BY queue_name")).all()
    return {name: (int(waiting), int(failed)) for name, waiting, failed in rows}


# --- flask worker ---------------------------------------------------------------------------

@click.command("worker")
@click.option("--concurrency", default=2, show_default=True, help="Jobs run at once by this process (threads).")
@click.option("--queue", "queues", multiple=True, help="Only these queues (default: all).")
@click.option("--name", default=None, help="A name in the logs and in procrastinate_workers.")
@click.option("--heartbeat", default=10.0, show_default=True, help="Seconds between heartbeats.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="--no-wait: run what is queued, then exit (cron, tests).")
def worker_command(concurrency: int, queues: tuple[str, ...], name: str | None, heartbeat: float, wait: bool) -> None:
    """Run jobs from the PostgreSQL queue until stopped (SIGTERM: finish the running jobs, then exit).
    Start as many as needed, on any machine that reaches the database."""
    app = current_app._get_current_object()
    queue = worker_app(app, pool_size=concurrency + 3)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"worker: concurrency {concurrency}, queues {', '.join(queues) or 'all'}")
    queue.run_worker(concurrency=concurrency, queues=list(queues) or None, name=name, wait=wait,
                     update_heartbeat_interval=heartbeat, stalled_worker_timeout=max(heartbeat * 3, 30),
                     install_signal_handlers=True)


jobs_cli = click.Group("jobs", help="Trabajos largos: la cola de PostgreSQL o, en SQLite, en este proceso.")


@jobs_cli.command("run")
@click.argument("task", type=click.Choice(sorted(set(TASKS) - {"process_beneficiary_list"})))
def jobs_run(task: str) -> None:
    """Run a periodic job now, in this process (cron on SQLite; by hand on PostgreSQL)."""
    result = TASKS[task](current_app._get_current_object())
    click.echo(f"{task}: {result}")


@jobs_cli.command("defer")
@click.argument("task", type=click.Choice(sorted(set(TASKS) - {"process_beneficiary_list"})))
def jobs_defer(task: str) -> None:
    """Put a job in the queue (a worker runs it); inline mode runs it here."""
    from grants.db import unit_of_work

    with unit_of_work():
        defer(task)
    click.echo(f"{task}: {'queued' if uses_queue() else 'done'}")


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_cli)
