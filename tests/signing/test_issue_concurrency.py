"""Several people downloading the same new document at once (real commits, ``live_app``): one
version is issued, everyone gets that very file, the audit chain holds."""
from __future__ import annotations

from sqlalchemy import select

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.models import Agreement, IssuedDocument, User
from grants.services import signing, verification
from grants.services.agreement_document import agreement_pdf
from tests.factories import make_agreement_in_execution
from tests.money.test_payment_concurrency import run_threads


def _download(user_id, agreement_id):
    agreement = db.session.get(Agreement, agreement_id)
    return signing.issue("agreement", agreement, agreement_pdf(agreement),
                         actor=Actor.for_user(db.session.get(User, user_id)))


def test_concurrent_downloads_issue_one_version_and_the_same_file(live_app):
    with live_app.app_context():
        people = make_agreement_in_execution()
        agreement_id, users = people["agreement"].id, [people[k].id for k in ("legal", "financial", "monitoring")]
    results = run_threads(live_app, _download, [(u, agreement_id) for u in users * 2])
    assert [r for r in results if r[0] != "ok"] == []
    files = {r[1] for r in results}
    assert len(files) == 1
    with live_app.app_context():
        rows = db.session.scalars(select(IssuedDocument).where(IssuedDocument.object_key == str(agreement_id))).all()
        assert [r.version for r in rows] == [1]
        verdict = verification.verify(files.pop())
        assert verdict.valid and verdict.document.id == rows[0].id
        assert verify_chain(db.session).ok


def test_the_second_of_two_overlapping_issues_returns_the_first_ones_file(live_app, backend, caplog):
    """A has written version 1 and not committed yet; B comes with the same content: B waits (the
    unique version on PostgreSQL, the one writer on SQLite), then hands out A's file, not a second one."""
    import threading
    import time

    from grants.db import unit_of_work

    with live_app.app_context():
        people = make_agreement_in_execution()
        agreement_id, a_id, b_id = people["agreement"].id, people["legal"].id, people["financial"].id
    flushed, release, results = threading.Event(), threading.Event(), {}

    def first():
        with live_app.app_context():
            with unit_of_work():
                results["a"] = _download(a_id, agreement_id)
                flushed.set()
                release.wait(timeout=30)
            db.session.remove()

    def second():
        flushed.wait(timeout=30)
        with live_app.app_context():
            with unit_of_work():
                results["b"] = _download(b_id, agreement_id)
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    caplog.set_level("INFO", logger="grants.services.signing")
    for t in threads:
        t.start()
    flushed.wait(timeout=30)
    time.sleep(1.5)  # B is waiting on A by now
    assert "b" not in results
    release.set()
    for t in threads:
        t.join(timeout=60)
    assert results["a"] == results["b"]
    with live_app.app_context():
        assert [r.version for r in db.session.scalars(select(IssuedDocument).where(
            IssuedDocument.object_key == str(agreement_id)))] == [1]
    if backend == "postgresql":
        assert "version 1 was issued by another request first" in caplog.text
