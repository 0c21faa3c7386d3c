"""Invoices and direct payments through the API: the whole round, amounts as strings, field-error
paths, stable refusal codes, NGO scoping (404), the Idempotency-Key of execution, the PDF."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import IdempotencyRecord, Payment
from grants.services import idempotency, invoices
from tests.factories import make_organization, make_user
from tests.helpers import api_headers, assert_problem
from tests.money.payment_helpers import HISTORY, authorized, beneficiary_line, invoice_data, line, payments_setup
from tests.timeline import iso


@pytest.fixture
def r(client, app):
    ctx = payments_setup()
    ctx["stranger"] = make_user(["ngo"], organization=make_organization())
    headers = {name: api_headers(client, ctx[name]) for name in (
        "ngo", "administrator", "treasury", "treasury2", "treasury3", "financial", "stranger")}
    return {"c": client, "ctx": ctx, "h": headers}


def execute_body(**overrides):
    return {"bank_reference": "TRF-2026-0001", "transfer_date": invoices.today().isoformat(), **overrides}


def json_invoice(ctx, lines):
    data = invoice_data(ctx, lines)
    return data


def test_the_whole_round_with_exact_amounts(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    url = f"/api/v1/agreements/{ctx['agreement'].id}/invoices"
    response = c.post(url, headers=h["ngo"], json=json_invoice(ctx, [
        beneficiary_line(ctx, list(HISTORY), unit_price="120.00"), line(2, 2.5, "3.33")]))
    assert response.status_code == 201, response.get_json()
    invoice = response.get_json()
    assert invoice["total"] == "608.33" and invoice["status"] == "registered"
    assert [(x["budget_line"], x["quantity"], x["unit_price"], x["amount"]) for x in invoice["lines"]] == [
        (1, "5.00", "120.00", "600.00"), (2, "2.50", "3.33", "8.33")]
    served = invoice["lines"][0]["beneficiaries"]
    assert len(served) == 5 and "•" not in served[0]["document_number"]  # the NGO sees its own data
    assert invoice["eligibility"]["payable"] == "128.33" and invoice["eligibility"]["deducted"] == "480.00"

    response = c.post(f"/api/v1/invoices/{invoice['id']}/receipt-certificate", headers=h["administrator"],
                      json={"received_on": iso("2026-04-03"), "conforming": True})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "certified" and response.get_json()["certificate"]["conforming"]
    seen_by_treasury = c.get(f"/api/v1/invoices/{invoice['id']}", headers=h["treasury"]).get_json()
    assert seen_by_treasury["lines"][0]["beneficiaries"][0]["document_number"].startswith("•")

    response = c.post("/api/v1/payments", headers=h["treasury"], json={"invoice_id": invoice["id"]})
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()
    assert (payment["status"], payment["invoiced_amount"], payment["deducted_amount"], payment["amount"]) == (
        "prepared", "608.33", "480.00", "128.33")
    assert sorted(d["reason_code"] for d in payment["deductions"]) == [
        "beneficiary_not_active", "beneficiary_not_active", "beneficiary_partly_active", "beneficiary_partly_active"]
    assert {d["amount"] for d in payment["deductions"]} == {"120.00"}
    assert_problem(c.post(f"/api/v1/payments/{payment['id']}/authorize", headers=h["treasury"]), 409,
                   "segregation_of_duties")
    response = c.post(f"/api/v1/payments/{payment['id']}/authorize", headers=h["treasury2"])
    assert response.status_code == 200 and response.get_json()["status"] == "authorized"
    assert response.get_json()["authorizations"][0]["user_id"] == ctx["treasury2"].id

    response = c.post(f"/api/v1/payments/{payment['id']}/execute", json=execute_body(),
                      headers={**h["treasury"], "Idempotency-Key": "exec-0001-abcdef"})
    assert response.status_code == 201, response.get_json()
    done = response.get_json()
    assert (done["status"], done["bank_reference"], done["transfer_date"]) == (
        "executed", "TRF-2026-0001", invoices.today().isoformat())
    assert c.get(f"/api/v1/invoices/{invoice['id']}", headers=h["ngo"]).get_json()["status"] == "paid"

    listing = c.get(f"/api/v1/payments?status=executed&agreement_id={ctx['agreement'].id}", headers=h["ngo"])
    assert [p["id"] for p in listing.get_json()["items"]] == [payment["id"]]
    pdf = c.get(f"/api/v1/payments/{payment['id']}/order.pdf", headers=h["treasury"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_field_errors_come_back_with_their_paths_and_nothing_is_stored(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    url = f"/api/v1/agreements/{ctx['agreement'].id}/invoices"
    bad = json_invoice(ctx, [{**beneficiary_line(ctx, ["active", "never"]), "quantity": "3"},
                             line(budget_line=7, unit_price="1.999")])
    problem = assert_problem(c.post(url, headers=h["ngo"], json=bad), 422, "validation_error")
    assert "lines.1.unit_price" in problem["errors"]  # the schema's check comes first
    bad["lines"][1]["unit_price"] = "1.00"
    problem = assert_problem(c.post(url, headers=h["ngo"], json=bad), 422, "validation_error")
    assert set(problem["errors"]) == {"lines.0.enrollment_ids", "lines.1.budget_line"}
    problem = assert_problem(c.post(url, headers=h["ngo"], json={**json_invoice(ctx, [line()]), "total": "1.00"}),
                             422, "validation_error")
    assert "total" in problem["errors"]
    assert c.get(url, headers=h["ngo"]).get_json()["total"] == 0


def test_refusals_have_stable_codes(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    url = f"/api/v1/agreements/{ctx['agreement'].id}/invoices"
    invoice = c.post(url, headers=h["ngo"], json=json_invoice(ctx, [line(3, "1", "15000.00")])).get_json()
    assert_problem(c.post("/api/v1/payments", headers=h["treasury"], json={"invoice_id": invoice["id"]}), 409,
                   "invoice_not_certified")
    assert_problem(c.post(f"/api/v1/invoices/{invoice['id']}/receipt-certificate", headers=h["treasury"],
                          json={"received_on": iso("2026-04-03"), "conforming": True}), 403, "forbidden")
    c.post(f"/api/v1/invoices/{invoice['id']}/receipt-certificate", headers=h["administrator"],
           json={"received_on": iso("2026-04-03"), "conforming": True})
    problem = assert_problem(c.post("/api/v1/payments", headers=h["treasury"], json={"invoice_id": invoice["id"]}),
                             409, "insufficient_balance")
    assert "14,999.50" in problem["detail"]
    assert_problem(c.post("/api/v1/payments", headers=h["ngo"], json={"invoice_id": invoice["id"]}), 403, "forbidden")
    response = c.post(f"/api/v1/invoices/{invoice['id']}/void", headers=h["ngo"], json={"reason": "Monto errado"})
    assert response.status_code == 200 and response.get_json()["status"] == "voided"


def test_another_organization_gets_404(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    payment = authorized(ctx)
    for path in (f"/api/v1/agreements/{ctx['agreement'].id}/invoices", f"/api/v1/invoices/{payment.invoice_id}",
                 f"/api/v1/payments/{payment.id}", f"/api/v1/payments/{payment.id}/order.pdf"):
        assert_problem(c.get(path, headers=h["stranger"]), 404, "not_found")
    assert_problem(c.post(f"/api/v1/invoices/{payment.invoice_id}/void", headers=h["stranger"],
                          json={"reason": "x"}), 404, "not_found")
    assert c.get("/api/v1/payments", headers=h["stranger"]).get_json()["total"] == 0
    assert c.get("/api/v1/payments", headers=h["ngo"]).get_json()["total"] == 1


def test_execution_replays_the_same_key_and_body_byte_for_byte(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    payment = authorized(ctx)
    url = f"/api/v1/payments/{payment.id}/execute"
    key = {"Idempotency-Key": "pay-exec-7f3a9c"}
    assert_problem(c.post(url, headers=h["treasury"], json=execute_body()), 400, "idempotency_key_required")
    first = c.post(url, headers={**h["treasury"], **key}, json=execute_body())
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = c.post(url, headers={**h["treasury"], **key}, json=execute_body())
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert_problem(c.post(url, headers={**h["treasury"], **key}, json=execute_body(bank_reference="OTRA")), 422,
                   "idempotency_key_reused")
    # Keys are per user: another officer with the same key makes an attempt of their own (refused: executed).
    assert_problem(c.post(url, headers={**h["treasury3"], **key}, json=execute_body()), 409, "invalid_transition")
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
    assert db.session.get(Payment, payment.id).bank_reference == "TRF-2026-0001"


def test_a_refused_execution_stores_nothing_and_may_be_retried_with_the_same_key(r):
    c, h, ctx = r["c"], r["h"], r["ctx"]
    payment = authorized(ctx)
    url, key = f"/api/v1/payments/{payment.id}/execute", {"Idempotency-Key": "retry-after-fix-01"}
    tomorrow = (invoices.today() + timedelta(days=1)).isoformat()
    problem = assert_problem(c.post(url, headers={**h["treasury"], **key}, json=execute_body(transfer_date=tomorrow)),
                             422, "validation_error")
    assert set(problem["errors"]) == {"transfer_date"}
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    # Same key, corrected body: a new attempt, since the refused one stored nothing.
    assert c.post(url, headers={**h["treasury"], **key}, json=execute_body()).status_code == 201


def test_openapi_documents_the_money_routes_and_the_idempotency_header(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/agreements/{agreement_id}/invoices", "/api/v1/invoices/{invoice_id}/receipt-certificate",
                 "/api/v1/payments", "/api/v1/payments/{payment_id}/authorize",
                 "/api/v1/payments/{payment_id}/order.pdf"):
        assert path in spec["paths"], path
    execute = spec["paths"]["/api/v1/payments/{payment_id}/execute"]["post"]
    header = [p for p in execute["parameters"] if p["in"] == "header"]
    assert header[0]["name"] == "Idempotency-Key" and header[0]["required"] is True
    assert "201" in execute["responses"]
    assert spec["components"]["schemas"]["Payment"]["properties"]["amount"]["type"] == "string"


def test_a_key_still_running_answers_409(live_app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: a second request waits for the first instead of overlapping")
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        payment_id, user_id = authorized(ctx).id, ctx["treasury"].id
        client = live_app.test_client()
        headers = api_headers(client, ctx["treasury"])
        lock_id = idempotency._lock_id(user_id, "in-flight-key-1")
        url = db.engine.url
    holder = sa.create_engine(url)
    try:
        with holder.connect() as conn, conn.begin():
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))  # "the first request"
            # try-lock: the request is told 409 at once, it does not wait for the first one
            response = client.post(f"/api/v1/payments/{payment_id}/execute", json=execute_body(),
                                   headers={**headers, "Idempotency-Key": "in-flight-key-1"})
            assert_problem(response, 409, "idempotency_in_progress")
    finally:
        holder.dispose()
    with live_app.app_context():
        assert db.session.get(Payment, payment_id).status == "authorized"
