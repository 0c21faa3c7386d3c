"""/api/v1/payment-batches: create with an Idempotency-Key (the same key and body: the same batch),
the file (first call issues, later calls the same bytes), cancel; problem+json refusals; the NGO
and reviewers do not see batches."""
import hashlib

import pytest
from sqlalchemy import func, select

from grants.clock import today
from grants.extensions import db
from grants.models import PaymentBatch
from grants.reports import pain001
from tests.helpers import api_headers, assert_problem
from tests.money.batch_helpers import ACCOUNT, some_payments
from tests.money.payment_helpers import payments_setup


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def body(payment_ids, **overrides) -> dict:
    return {"debtor_account_id": ACCOUNT, "execution_date": today().isoformat(), "payment_ids": payment_ids,
            **overrides}


def test_batch_round_through_the_api(ctx, client):
    ids = [p.id for p in some_payments(ctx)]
    t2 = api_headers(client, ctx["treasury2"])
    key = {**t2, "Idempotency-Key": "batch-key-0001"}
    assert_problem(client.post("/api/v1/payment-batches", json=body(ids), headers=t2), 400,
                   "idempotency_key_required")
    first = client.post("/api/v1/payment-batches", json=body(ids), headers=key)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/payment-batches", json=body(ids), headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert_problem(client.post("/api/v1/payment-batches", json=body(ids[:1]), headers=key), 422,
                   "idempotency_key_reused")
    assert db.session.scalar(select(func.count()).select_from(PaymentBatch)) == 1
    batch = first.get_json()
    assert (batch["status"], batch["item_count"], batch["control_sum"]) == ("open", 2, "350.55")
    assert [i["end_to_end_id"] for i in batch["items"]] == [f"FONDOS-PAG-{i:06d}" for i in ids]
    assert_problem(client.post("/api/v1/payment-batches", json=body(ids),
                               headers={**t2, "Idempotency-Key": "batch-key-0002"}), 409, "already_in_batch")

    url = f"/api/v1/payment-batches/{batch['id']}"
    assert_problem(client.get(f"{url}/pain001.xml", headers=t2), 409, "batch_not_issued")
    issued = client.post(f"{url}/pain001.xml", headers=t2)
    assert issued.status_code == 200 and issued.mimetype == "application/xml"
    pain001.validate(issued.data)
    assert issued.headers["X-Content-SHA256"] == hashlib.sha256(issued.data).hexdigest()
    assert client.get(f"{url}/pain001.xml", headers=t2).data == issued.data
    assert client.post(f"{url}/pain001.xml", headers=t2).data == issued.data
    assert client.get(url, headers=t2).get_json()["file_sha256"] == hashlib.sha256(issued.data).hexdigest()

    assert_problem(client.post(f"{url}/cancel", json={"reason": ""}, headers=t2), 422, "validation_error")
    cancelled = client.post(f"{url}/cancel", json={"reason": "El banco no tomó el archivo"}, headers=t2)
    assert cancelled.status_code == 200 and {i["live"] for i in cancelled.get_json()["items"]} == {False}
    listed = client.get("/api/v1/payment-batches?status=cancelled", headers=t2).get_json()
    assert [b["id"] for b in listed["items"]] == [batch["id"]]


def test_bad_input_and_strangers(ctx, client):
    ids = [p.id for p in some_payments(ctx, ("100.00",))]
    t2 = {**api_headers(client, ctx["treasury2"]), "Idempotency-Key": "batch-key-0003"}
    problem = assert_problem(client.post("/api/v1/payment-batches", json=body(ids, debtor_account_id="otra"),
                                         headers=t2), 422, "validation_error")
    assert "debtor_account_id" in problem["errors"]
    for user in (ctx["ngo"], ctx["legal"]):
        headers = {**api_headers(client, user), "Idempotency-Key": "batch-key-0004"}
        assert_problem(client.get("/api/v1/payment-batches", headers=headers), 404, "not_found")
        assert_problem(client.post("/api/v1/payment-batches", json=body(ids), headers=headers), 403, "forbidden")
