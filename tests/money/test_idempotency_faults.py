"""G7 under pressure: many simultaneous retries of one payment execution with one Idempotency-Key,
and a process that dies between recording the execution and answering (DESIGN.md §5, issue 5).

These run on PostgreSQL (real row and advisory locks, several connections); SQLite runs one
writer at a time, so "still running" cannot be observed there.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import AgreementBalance, AuditEvent, IdempotencyRecord, Payment
from grants.services import invoices
from tests.helpers import issue_token
from tests.money.payment_helpers import authorized, line, payments_setup

ROOT = Path(__file__).resolve().parents[2]
# The transfer is recorded on the day it is made (never before the authorization, never in the future).
BODY = {"bank_reference": "TRF-2026-000777", "transfer_date": invoices.today().isoformat()}


def _authorized_payment(live_app) -> dict:
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        payment = authorized(ctx, [line(quantity="3", unit_price="1500.00")])
        token = issue_token(live_app.test_client(), ctx["treasury"].email)
        db.session.commit()
        return {"payment_id": payment.id, "agreement_id": ctx["agreement"].id, "token": token}


def _executions(live_app, payment_id: int, agreement_id: int) -> dict:
    with live_app.app_context():
        db.session.remove()
        payment = db.session.get(Payment, payment_id)
        result = {
            "status": payment.status,
            "reference": payment.bank_reference,
            "paid": db.session.get(AgreementBalance, agreement_id).paid,
            "events": db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "payment.executed", AuditEvent.entity_id == str(payment_id))),
            "records": db.session.scalar(select(func.count()).select_from(IdempotencyRecord)),
            "chain_ok": verify_chain(db.session).ok,
        }
        db.session.remove()
        return result


def test_fifty_simultaneous_retries_execute_the_payment_once(live_app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: the retries are serialized, never 'still running'")
    data = _authorized_payment(live_app)
    headers = {"Authorization": f"Bearer {data['token']}", "Idempotency-Key": "pay-777-execute-0001"}
    url = f"/api/v1/payments/{data['payment_id']}/execute"
    barrier = threading.Barrier(50)
    answers: list[tuple[int, bytes, str | None]] = []
    lock = threading.Lock()

    def attempt():
        client = live_app.test_client()
        barrier.wait(timeout=30)
        response = client.post(url, json=BODY, headers=headers)
        with lock:
            answers.append((response.status_code, response.get_data(), response.headers.get("Content-Type")))

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 50
    statuses = {status for status, _, _ in answers}
    assert statuses <= {201, 409}, statuses
    created = {body for status, body, _ in answers if status == 201}
    assert len(created) == 1, "every 201 carries the very same bytes"
    for status, body, content_type in answers:
        if status == 409:
            assert content_type == "application/problem+json"
            assert b"idempotency_in_progress" in body
    # A later retry is answered with the stored response, byte for byte.
    retry = live_app.test_client().post(url, json=BODY, headers=headers)
    assert retry.status_code == 201 and retry.get_data() == created.pop()
    assert retry.headers["Idempotent-Replayed"] == "true"
    seen = _executions(live_app, data["payment_id"], data["agreement_id"])
    assert seen == {"status": "executed", "reference": "TRF-2026-000777", "paid": seen["paid"], "events": 1,
                    "records": 1, "chain_ok": True}
    assert str(seen["paid"]) == "4500.00"


CHILD = textwrap.dedent("""
    import json, os, sys
    from flask import request_finished
    from grants import create_app
    from grants.services import payments

    app = create_app()
    mode = os.environ["CRASH"]
    if mode == "after_commit":
        # The unit of work has committed in after_request; die before the answer leaves.
        request_finished.connect(lambda sender, response, **extra: os._exit(3), app, weak=False)
    else:
        real = payments.execute_payment
        def dying(*args, **kwargs):
            real(*args, **kwargs)   # written and flushed, not committed
            os._exit(3)
        payments.execute_payment = dying
    client = app.test_client()
    response = client.post(os.environ["URL"], json=json.loads(os.environ["BODY"]),
                           headers={"Authorization": "Bearer " + os.environ["TOKEN"],
                                    "Idempotency-Key": os.environ["KEY"]})
    print("answered", response.status_code)   # never reached
""")


@pytest.mark.parametrize("crash", ["after_commit", "before_commit"])
def test_a_process_killed_before_answering_is_completed_once_by_the_retry(live_app, live_database, backend,
                                                                          tmp_path, crash):
    if backend != "postgresql":
        pytest.skip("the crash test runs on PostgreSQL (issue 5: concurrency and fault tests)")
    data = _authorized_payment(live_app)
    key = f"pay-crash-{crash}"
    url = f"/api/v1/payments/{data['payment_id']}/execute"
    env = {**os.environ, "FONDOS_ENV": "testing", "DATABASE_URL": live_database.url,
           "UPLOAD_DIR": str(tmp_path / "uploads"), "FONDOS_INSTANCE_DIR": str(tmp_path / "instance"),
           "CRASH": crash, "URL": url, "BODY": __import__("json").dumps(BODY), "TOKEN": data["token"], "KEY": key}
    child = subprocess.run([sys.executable, "-m", "tests.on_test_day", "-c", CHILD], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 3, child.stdout + child.stderr
    assert "answered" not in child.stdout
    before_retry = _executions(live_app, data["payment_id"], data["agreement_id"])
    if crash == "after_commit":
        assert (before_retry["status"], before_retry["events"], before_retry["records"]) == ("executed", 1, 1)
    else:
        assert (before_retry["status"], before_retry["events"], before_retry["records"]) == ("authorized", 0, 0)

    headers = {"Authorization": f"Bearer {data['token']}", "Idempotency-Key": key}
    retry = live_app.test_client().post(url, json=BODY, headers=headers)
    assert retry.status_code == 201, retry.get_data(as_text=True)
    assert retry.get_json()["status"] == "executed"
    assert retry.headers.get("Idempotent-Replayed") == ("true" if crash == "after_commit" else None)
    again = live_app.test_client().post(url, json=BODY, headers=headers)
    assert again.status_code == 201 and again.get_data() == retry.get_data()
    after = _executions(live_app, data["payment_id"], data["agreement_id"])
    assert (after["status"], after["events"], after["records"], after["chain_ok"]) == ("executed", 1, 1, True)
    assert str(after["paid"]) == "4500.00"
