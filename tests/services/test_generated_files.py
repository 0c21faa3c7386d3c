"""Files built by a job (grants/services/generated_files.py): one build per version of the data,
the reader's right checked on every download, a failure that says why, a retried job that builds
once, lost and expired files built anew — and, on PostgreSQL, a worker process that builds it."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from grants.audit import Actor, record_event
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import GeneratedFile
from grants.models.base import utcnow
from grants.services import generated_files as service
from tests.factories import make_user
from tests.helpers import api_headers, assert_problem, built_file, login
from tests.timeline import year

DRAFT = f"/api/v1/legislature-reports/{year()}.pdf"  # a draft of this year's report to the Assembly


def _files(kind: str | None = None) -> list[GeneratedFile]:
    query = select(GeneratedFile).order_by(GeneratedFile.id)
    if kind:
        query = query.where(GeneratedFile.kind == kind)
    return db.session.scalars(query).all()


@pytest.fixture
def auditor():
    return make_user(["auditor"])


def _draft(client, headers):
    return client.get(DRAFT, headers=headers)


def test_the_same_data_is_built_once_and_any_audited_change_makes_a_new_draft(client, auditor):
    headers = api_headers(client, auditor)
    pdf = built_file(client, DRAFT, headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == f"attachment; filename=informe-asamblea-{year()}.pdf"
    (first,) = _files()
    assert (first.status, first.size, first.requested_by_id) == ("ready", len(pdf.data), auditor.id)

    for _ in range(3):  # asked again: the file already built, at once
        again = _draft(client, headers)
        assert again.status_code == 200 and again.data == pdf.data
    assert len(_files()) == 1

    record_event(db.session, Actor.system("test"), "user.noted", "user", auditor.id, after={"note": 1})
    db.session.flush()
    response = _draft(client, headers)  # the data moved on: a new draft is built
    assert response.status_code == 202
    assert [f.status for f in _files()] == ["ready", "ready"]


def test_the_reader_is_checked_on_every_download_not_the_one_who_asked(client, auditor):
    headers = api_headers(client, auditor)
    built_file(client, DRAFT, headers)
    (file,) = _files()
    admin = api_headers(client, make_user(["admin"]))  # may read the report too
    assert client.get(f"/api/v1/files/{file.id}/content", headers=admin).status_code == 200
    for role in ("treasury", "financial_reviewer", "administrator"):
        other = api_headers(client, make_user([role]))
        assert_problem(client.get(f"/api/v1/files/{file.id}", headers=other), 403, "forbidden")
        assert_problem(client.get(f"/api/v1/files/{file.id}/content", headers=other), 403, "forbidden")
    assert_problem(client.get("/api/v1/files/999999", headers=headers), 404, "not_found")
    assert_problem(client.get(f"/api/v1/files/{file.id}"), 401, "missing_token")


def test_a_file_being_built_is_not_served_and_its_page_refreshes(client, auditor, monkeypatch):
    from grants import jobs

    monkeypatch.setattr(jobs, "defer", lambda *a, **k: None)  # no job runs: the file stays pending
    headers = api_headers(client, auditor)
    response = _draft(client, headers)
    assert response.status_code == 202 and response.headers["Location"].startswith("/api/v1/files/")
    record = response.get_json()
    assert (record["status"], record["download"], record["filename"]) == ("pending", None, f"informe-asamblea-{year()}.pdf")
    assert _draft(client, headers).get_json()["id"] == record["id"]  # asked again: the same one, not another
    assert_problem(client.get(f"/api/v1/files/{record['id']}/content", headers=headers), 409, "file_not_ready")

    login(client, auditor)
    page = client.get(f"/files/{record['id']}").get_data(as_text=True)
    assert 'data-testid="file-pending"' in page and '<meta http-equiv="refresh" content="2">' in page

    with time_machine.travel(utcnow() + service.LOOKS_LOST + timedelta(minutes=1), tick=False):
        page = client.get(f"/files/{record['id']}").get_data(as_text=True)
        assert 'data-testid="file-stalled"' in page and 'http-equiv="refresh"' not in page
        renewed = _draft(client, headers)  # its job was lost: asking again builds a new one
        assert renewed.status_code == 202 and renewed.get_json()["id"] != record["id"]


def test_a_build_that_fails_says_why_and_asking_again_tries_again(client, auditor, monkeypatch):
    from grants.services import legislature

    real = legislature.build_file

    def broken(data, kind):
        raise RuntimeError("the PDF engine ran out of fonts")

    monkeypatch.setattr(legislature, "build_file", broken)
    headers = api_headers(client, auditor)
    first = _draft(client, headers)
    record = client.get(first.headers["Location"], headers=headers).get_json()
    assert record["status"] == "failed" and record["failure"] == "RuntimeError: the PDF engine ran out of fonts"
    login(client, auditor)
    page = client.get(f"/files/{record['id']}").get_data(as_text=True)
    assert 'data-testid="file-failed"' in page and "ran out of fonts" in page

    monkeypatch.setattr(legislature, "build_file", real)
    pdf = built_file(client, DRAFT, headers)
    assert pdf.data.startswith(b"%PDF-")
    assert [f.status for f in _files()] == ["failed", "ready"]


def test_a_job_killed_mid_build_is_retried_and_the_file_is_marked_ready_once(client, auditor, monkeypatch):
    from grants import jobs
    from grants.services import legislature

    monkeypatch.setattr(jobs, "defer", lambda *a, **k: None)
    file = service.request_file(Actor.for_user(auditor), "legislature_pdf", {"year": year()})
    real = legislature.build_file

    def killed(data, kind):
        raise KeyboardInterrupt  # the worker dies in the middle: nothing is stored or marked
    monkeypatch.setattr(legislature, "build_file", killed)
    with pytest.raises(KeyboardInterrupt):
        service.build_pending(file.id)
    db.session.refresh(file)
    assert file.status == "pending" and file.sha256 is None

    monkeypatch.setattr(legislature, "build_file", real)
    assert service.build_pending(file.id) == "ready"  # the retried job
    db.session.refresh(file)
    digest = file.sha256
    assert file.status == "ready" and digest
    assert service.build_pending(file.id) == "nothing to do"  # a job run once more changes nothing
    db.session.refresh(file)
    assert (file.status, file.sha256) == ("ready", digest)


def test_files_expire_after_seven_days_and_are_built_again(client, auditor):
    headers = api_headers(client, auditor)
    pdf = built_file(client, DRAFT, headers)
    (file,) = _files()
    path = service._content_path(file)
    assert path.read_bytes() == pdf.data
    assert service.expire_files() == 0  # younger than seven days: kept

    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        assert service.expire_files() == 1
        db.session.refresh(file)
        assert file.status == "expired" and not path.exists()
        headers = api_headers(client, auditor)  # a week on: a token of the day
        assert_problem(client.get(f"/api/v1/files/{file.id}/content", headers=headers), 409, "file_not_ready")
        login(client, auditor)
        assert 'data-testid="file-expired"' in client.get(f"/files/{file.id}").get_data(as_text=True)
        again = built_file(client, DRAFT, headers)
        assert again.data.startswith(b"%PDF-")
    old, new = _files()
    assert (old.status, new.status) == ("expired", "ready") and service._content_path(new).exists()


def test_an_expired_file_keeps_the_content_another_ready_file_shares(client, auditor):
    built_file(client, DRAFT, api_headers(client, auditor))
    (old,) = _files()
    twin = GeneratedFile(kind=old.kind, params=old.params, fingerprint="another version", status="ready",
                         requested_by_id=auditor.id, filename=old.filename, mimetype=old.mimetype,
                         sha256=old.sha256, size=old.size, created_at=utcnow() + timedelta(days=6),
                         finished_at=utcnow() + timedelta(days=6))
    db.session.add(twin)
    db.session.flush()
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        assert service.expire_files() == 1
    assert old.status == "expired" and service._content_path(twin).exists()


def test_the_error_workbook_is_built_in_the_readers_language(client):
    from tests.api.test_beneficiaries_api import _faulty_batch
    from tests.agreement_helpers import agreement_in_execution

    ctx = agreement_in_execution()
    ctx["h"] = {"ngo": api_headers(client, ctx["ngo"])}
    batch = _faulty_batch(client, ctx)
    url = f"/api/v1/beneficiary-imports/{batch['id']}/errors.xlsx"
    spanish = load_workbook(io.BytesIO(built_file(client, url, ctx["h"]["ngo"]).data)).active
    english = load_workbook(io.BytesIO(built_file(
        client, url, {**ctx["h"]["ngo"], "Accept-Language": "en"}).data)).active
    assert spanish["A1"].value == "Fila" and english["A1"].value == "Row"
    assert len(_files("import_errors_xlsx")) == 2  # one per language


def test_a_worker_process_builds_the_file_on_the_queue(backend, live_database):
    if backend != "postgresql":
        pytest.skip("the job queue lives in PostgreSQL (SQLite runs jobs in the web process)")
    import time

    from tests.conftest import dispose, make_app
    from tests.test_job_queue import DEADLINE, start_worker, stop

    app = make_app(live_database, JOBS_MODE="queue")
    try:
        with app.app_context():
            with unit_of_work():
                auditor = make_user(["auditor"])
            client = app.test_client()
            headers = api_headers(client, auditor)
            db.session.remove()
        response = _draft(client, headers)
        assert response.status_code == 202
        location = response.headers["Location"]
        assert client.get(location, headers=headers).get_json()["status"] == "pending"  # no worker yet
        with app.app_context():
            queued = db.session.execute(db.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'build_file'")).scalar()
            db.session.remove()
        assert queued == 1

        worker = start_worker(app, "--concurrency", "1")
        try:
            deadline = time.monotonic() + DEADLINE
            while (record := client.get(location, headers=headers).get_json())["status"] == "pending":
                assert time.monotonic() < deadline and worker.poll() is None, stop(worker)
                time.sleep(0.2)
        finally:
            stop(worker)
        assert record["status"] == "ready", record
        content = client.get(record["download"], headers=headers)
        assert content.status_code == 200 and content.data.startswith(b"%PDF-")
        assert re.fullmatch(r"[0-9a-f]{64}", record["sha256"]) and record["size"] == len(content.data)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(GeneratedFile)) == 1
            db.session.remove()
    finally:
        dispose(app)
