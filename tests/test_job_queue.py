"""The job queue (grants/jobs.py, procrastinate on PostgreSQL) with real `flask worker` processes,
and error downloads that stop when the client leaves.

The queue's tests run on PostgreSQL only (the queue lives there; SQLite runs jobs in-process), each
on a fresh database whose commits are real, with workers started as child processes on the suite's day.
"""
from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from grants import jobs
from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import AuditEvent, ImportBatch, ImportBatchProgress, ImportRow
from grants.services import beneficiary_imports as imports
from grants.validation.identity import dui_check_digit
from tests.agreement_helpers import ENROLLED_ON, agreement_in_execution, born
from tests.conftest import dispose, make_app
from tests.helpers import api_headers, web_login
from tests.timeline import iso

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción\n"
DEADLINE = 180  # seconds a test waits for its workers before it fails (never a timing assertion)


def a_list(rows: int, start: int = 1, bad_every: int = 0) -> str:
    """A list of ``rows`` adults enrolled inside the term; every ``bad_every``-th DUI has a wrong check digit."""
    birth, enrolled = born(25).strftime("%d/%m/%Y"), iso(ENROLLED_ON)
    lines = [HEADER]
    for n in range(start, start + rows):
        digits = f"{n:08d}"
        check = dui_check_digit(digits)
        if bad_every and n % bad_every == 0:
            check = (check + 1) % 10
        lines.append(f"DUI,{digits}-{check},Ana,López,{birth},F,0623,{enrolled}\n")
    return "".join(lines)


@pytest.fixture
def queue_app(backend, live_database):
    if backend != "postgresql":
        pytest.skip("the job queue lives in PostgreSQL (SQLite runs jobs in the web process)")
    app = make_app(live_database, JOBS_MODE="queue")
    app.config["TEST_DATABASE"] = live_database
    yield app
    dispose(app)


def start_worker(app, *args: str, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "FONDOS_ENV": "testing", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "UPLOAD_DIR": app.config["UPLOAD_DIR"], "BENEFICIARY_IMPORT_PAUSE": str(pause),
           "FONDOS_INSTANCE_DIR": str(Path(app.config["UPLOAD_DIR"]) / "instance")}
    return subprocess.Popen([sys.executable, "-m", "tests.on_test_day", "-m", "flask", "--app", "wsgi", "worker",
                             "--heartbeat", "1", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> str:
    if worker.poll() is None:
        worker.send_signal(sig)
    try:
        out, _ = worker.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    return out or ""


def wait_for(app, predicate, what: str, workers=()):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        with app.app_context():
            try:
                if predicate():
                    return
            finally:
                db.session.remove()
        for worker in workers:
            assert worker.poll() is None, f"a worker ended while waiting for {what}:\n{stop(worker)}"
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def upload_lists(app, count: int, rows: int) -> list[int]:
    """``count`` lists uploaded by the NGO, each deferred in the upload's own transaction."""
    with app.app_context():
        ctx = agreement_in_execution()
        ngo = Actor.for_user(ctx["ngo"])
        ids = []
        for n in range(count):
            with unit_of_work():
                batch = imports.start_import(ngo, ctx["agreement"].id, f"lista-{n}.csv",
                                             a_list(rows, start=1 + n * rows).encode())
                jobs.defer("process_beneficiary_list", batch_id=batch.id, user_id=ctx["ngo"].id)
                ids.append(batch.id)
        db.session.remove()
    return ids


def job_rows(app):
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT j.id, j.status, j.args, j.attempts, "
            "(SELECT count(*) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started') AS starts "
            "FROM procrastinate_jobs j WHERE j.task_name = 'process_beneficiary_list'")).mappings().all()
        db.session.remove()
    return rows


def processed_events(app, batch_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "import_batch", AuditEvent.entity_id == str(batch_id),
        AuditEvent.action == "beneficiary_import.processed"))


def test_the_queue_lives_in_the_tests_database(queue_app):
    name = queue_app.config["TEST_DATABASE"].name
    with queue_app.app_context():
        assert db.session.scalar(text("SELECT current_database()")) == name
        found = db.session.scalar(text("SELECT count(*) FROM pg_tables WHERE tablename = 'procrastinate_jobs'"))
        assert found == 1
        assert jobs.queue_ready(queue_app)


def test_a_rolled_back_upload_leaves_no_job(queue_app):
    with queue_app.app_context():
        ctx = agreement_in_execution()
        try:
            with unit_of_work():
                batch = imports.start_import(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv", a_list(3).encode())
                jobs.defer("process_beneficiary_list", batch_id=batch.id, user_id=ctx["ngo"].id)
                jobs.defer("process_beneficiary_list", batch_id=batch.id, user_id=ctx["ngo"].id)  # one waits already
                assert db.session.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 1
                raise RuntimeError("the request failed after deferring")
        except RuntimeError:
            pass
        assert db.session.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_two_workers_on_one_queue_never_run_a_job_twice(queue_app):
    batch_ids = upload_lists(queue_app, count=12, rows=5)
    # each job sleeps a little (at its end-of-list progress report): the two workers overlap
    workers = [start_worker(queue_app, "--concurrency", "2", "--name", f"w{n}", pause=0.3) for n in (1, 2)]
    try:
        wait_for(queue_app, lambda: db.session.scalar(select(func.count()).select_from(ImportBatch).where(
            ImportBatch.status == "ready")) == len(batch_ids), "every list processed", workers)
    finally:
        logs = [stop(w) for w in workers]
    rows = job_rows(queue_app)
    assert len(rows) == len(batch_ids)
    assert sorted(r["args"]["batch_id"] for r in rows) == sorted(batch_ids)
    assert all(r["status"] == "succeeded" and r["starts"] == 1 and r["attempts"] == 1 for r in rows), (rows, logs)
    with queue_app.app_context():
        assert [processed_events(queue_app, b) for b in batch_ids] == [1] * len(batch_ids)
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 12 * 5
        assert verify_chain(db.session).ok


def test_a_worker_killed_mid_import_is_retried_and_the_list_is_stored_once(queue_app):
    [batch_id] = upload_lists(queue_app, count=1, rows=30_000)  # 15 progress reports of 2,000 rows
    first = start_worker(queue_app, "--concurrency", "1", "--name", "doomed", pause=0.5)
    try:
        # the progress, written by the job in transactions of its own, is seen from here
        wait_for(queue_app, lambda: (db.session.scalar(select(ImportBatchProgress.rows_read).where(
            ImportBatchProgress.batch_id == batch_id)) or 0) >= 4000, "the import under way", [first])
    finally:
        stop(first, signal.SIGKILL)
    with queue_app.app_context():
        assert db.session.get(ImportBatch, batch_id).status == "processing"
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0  # rolled back whole
        db.session.remove()
    [job] = job_rows(queue_app)
    assert job["status"] == "doing"  # left running by a dead worker

    # what the periodic retry_stalled_jobs does, once the dead worker's heartbeat is old enough
    queue = jobs.worker_app(queue_app)

    async def retry_when_stalled():
        async with queue.open_async():
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                if await jobs.retry_stalled_jobs_async(queue, seconds=3):
                    return True
                await asyncio.sleep(0.5)
        return False

    assert asyncio.run(retry_when_stalled())
    second = start_worker(queue_app, "--concurrency", "1", "--name", "survivor")
    try:
        wait_for(queue_app, lambda: db.session.get(ImportBatch, batch_id).status == "ready", "the retried job",
                 [second])
    finally:
        stop(second)
    [job] = job_rows(queue_app)
    assert job["status"] == "succeeded" and job["starts"] == 2
    with queue_app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert (batch.rows_total, batch.rows_valid) == (30_000, 30_000)
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 30_000
        assert processed_events(queue_app, batch_id) == 1
        assert verify_chain(db.session).ok

    # a job for a batch already processed (a retry arriving late) changes nothing
    with queue_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        ngo_id = db.session.get(ImportBatch, batch_id).uploaded_by_id
        assert jobs.TASKS["process_beneficiary_list"](queue_app, batch_id=batch_id, user_id=ngo_id) == "nothing to do"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_an_api_upload_is_accepted_and_a_worker_makes_the_batch_ready(queue_app):
    with queue_app.app_context():
        ctx = agreement_in_execution()
        agreement_id, ngo = ctx["agreement"].id, ctx["ngo"]
        client = queue_app.test_client()
        headers = api_headers(client, ngo)
        db.session.remove()
    response = client.post(f"/api/v1/agreements/{agreement_id}/beneficiary-imports", headers=headers,
                           data={"file": (io.BytesIO(a_list(40, bad_every=10).encode()), "lista.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    assert response.get_json()["status"] == "processing"
    assert client.get(location, headers=headers).get_json()["status"] == "processing"  # no worker yet

    worker = start_worker(queue_app, "--concurrency", "1")
    try:
        deadline = time.monotonic() + DEADLINE
        while (batch := client.get(location, headers=headers).get_json())["status"] == "processing":
            assert time.monotonic() < deadline and worker.poll() is None, stop(worker)
            time.sleep(0.2)
    finally:
        stop(worker)
    assert (batch["status"], batch["rows_total"], batch["rows_valid"], batch["rows_error"]) == ("ready", 40, 36, 4)


def test_a_client_that_leaves_stops_the_error_download(live_app, caplog):
    """The errors.csv of a list streams from a connection of its own; a client that goes away
    closes the response: the cursor and the connection are let go, the rest is never read."""
    with live_app.app_context():
        ctx = agreement_in_execution()
        email = ctx["ngo"].email
        with unit_of_work():
            batch = imports.import_file(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv",
                                        a_list(6000, bad_every=1).encode())  # every row rejected
            batch_id = batch.id
        db.session.remove()  # SQLite: this test holds no transaction while the requests run
        in_use = db.engine.pool.checkedout()
    client = live_app.test_client()
    assert web_login(client, email).status_code == 302

    with caplog.at_level(logging.INFO, logger="grants.services.beneficiary_imports"):
        whole = client.get(f"/beneficiary-imports/{batch_id}/errors.csv")
        assert whole.status_code == 200 and whole.get_data().decode("utf-8-sig").count("\r\n") == 6001
        caplog.clear()

        response = client.get(f"/beneficiary-imports/{batch_id}/errors.csv", buffered=False)
        assert response.status_code == 200 and response.is_streamed
        chunks = response.iter_encoded()
        first = next(chunks)
        assert first.decode("utf-8-sig").startswith("Fila,")
        response.close()  # the client went away: the WSGI server closes the response

    closed = [r.getMessage() for r in caplog.records if "stream closed" in r.getMessage()]
    assert len(closed) == 1, closed
    sent = int(closed[0].split(": ")[1].split()[0])
    assert 0 < sent < 6000, closed  # stopped early: most rows never read
    with live_app.app_context():
        assert db.engine.pool.checkedout() == in_use  # the download's connection is back
