"""/api/v1 advances, statements, receipts, refunds and balances: the whole path through HTTP,
idempotency of disbursement and refund, organization scoping (404)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from grants import clock
from grants.extensions import db
from grants.models import Advance
from tests.helpers import api_headers, assert_problem
from tests.money.advance_helpers import SUPPLIER_NIT, disbursed, money_setup, prepared, row
from tests.pdfs import tiny_pdf
from tests.timeline import day, dmy, iso


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def test_advance_lifecycle_through_the_api(client):
    ctx = money_setup()
    ngo, fin = api_headers(client, ctx["ngo"]), api_headers(client, ctx["financial"])
    t1, t2 = api_headers(client, ctx["treasury"]), api_headers(client, ctx["treasury2"])
    agreement_id = ctx["agreement"].id

    response = client.post(f"/api/v1/agreements/{agreement_id}/advances", json={"tranche_number": 1,
                                                                                 "purpose": "Talleres"},
                           headers=ngo)
    assert response.status_code == 201, response.get_data(as_text=True)
    advance = response.get_json()
    assert (advance["status"], advance["amount"], advance["period_start"], advance["period_end"]) == (
        "requested", "40000.00", iso("2026-02-15"), iso("2026-06-14"))
    advance_id = advance["id"]

    with clock.at(day("2026-02-16")):  # approved, prepared and transferred on the day the money left
        assert client.post(f"/api/v1/advances/{advance_id}/approve", headers=fin).get_json()["status"] == "approved"
        assert client.post(f"/api/v1/advances/{advance_id}/prepare", headers=t1).get_json()["status"] == "prepared"
        body = {"bank_reference": "TRF-0001", "transfer_date": iso("2026-02-16")}
        assert_problem(client.post(f"/api/v1/advances/{advance_id}/disburse", json=body,
                                   headers=keyed(t1, "disburse-0001")), 409, "segregation_of_duties")
        response = client.post(f"/api/v1/advances/{advance_id}/disburse", json=body,
                               headers=keyed(t2, "disburse-0001"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["outstanding"] == "40000.00"
    assert response.get_json()["period_start"] == iso("2026-02-16")  # the receipts' period starts with the money

    balances = client.get(f"/api/v1/agreements/{agreement_id}/balances", headers=ngo).get_json()
    assert (balances["assigned"], balances["advanced"], balances["outstanding"], balances["available"]) == (
        "100000.00", "40000.00", "40000.00", "60000.00")
    assert [(line["number"], line["approved"], line["available"]) for line in balances["lines"]] == [
        (1, "60000.00", "60000.00"), (2, "25000.50", "25000.50"), (3, "14999.50", "14999.50")]

    response = client.post(f"/api/v1/advances/{advance_id}/expense-statements", json={"rows": [
        row(amount="39000.00"), row(issue_date=iso("2027-01-01"))]}, headers=ngo)
    problem = assert_problem(response, 422, "validation_error")
    assert list(problem["errors"]) == ["rows.2.issue_date"]
    response = client.post(f"/api/v1/advances/{advance_id}/expense-statements", json={"rows": [
        row(amount="39000.00")]}, headers=ngo)
    assert response.status_code == 201, response.get_data(as_text=True)
    statement = response.get_json()
    assert (statement["number"], statement["total"], statement["receipts"][0]["status"]) == (1, "39000.00", "pending")
    receipt_id = statement["receipts"][0]["id"]

    assert_problem(client.post(f"/api/v1/receipts/{receipt_id}/decision", json={"accept": False}, headers=fin),
                   422, "validation_error")
    response = client.post(f"/api/v1/receipts/{receipt_id}/decision", json={"accept": True}, headers=fin)
    assert response.get_json()["status"] == "accepted"
    assert client.get(f"/api/v1/expense-statements/{statement['id']}", headers=ngo).get_json()["status"] == "reviewed"

    response = client.post("/api/v1/refunds", json={"advance_id": advance_id, "amount": "1000.00",
                                                    "bank_name": "Banco Agrícola", "bank_reference": "REI-1",
                                                    "refunded_on": iso("2026-06-20")},
                           headers=keyed(ngo, "refund-0001"))
    assert response.status_code == 201, response.get_data(as_text=True)
    refund = response.get_json()
    assert (refund["amount"], refund["status"]) == ("1000.00", "declared")
    assert client.get(f"/api/v1/advances/{advance_id}", headers=ngo).get_json()["status"] == "disbursed"
    client.post(f"/api/v1/refunds/{refund['id']}/slip", headers=ngo,
                data={"file": (io.BytesIO(tiny_pdf("Boleta REI-1")), "boleta.pdf")})
    assert client.post(f"/api/v1/refunds/{refund['id']}/confirm", headers=t1).get_json()["status"] == "confirmed"
    advance = client.get(f"/api/v1/advances/{advance_id}", headers=ngo).get_json()
    assert (advance["status"], advance["outstanding"], advance["liquidated_share"]) == (
        "liquidated", "0.00", "100.00")
    assert [s["number"] for s in advance["statements"]] == [1]
    refunds = client.get(f"/api/v1/refunds?advance_id={advance_id}", headers=ngo).get_json()
    assert refunds["total"] == 1 and refunds["items"][0]["bank_reference"] == "REI-1"


def test_disburse_is_idempotent(client):
    ctx = money_setup()
    advance = prepared(ctx)
    t2 = api_headers(client, ctx["treasury2"])
    url = f"/api/v1/advances/{advance.id}/disburse"
    body = {"bank_reference": "TRF-9", "transfer_date": iso("2026-02-16")}
    assert_problem(client.post(url, json=body, headers=t2), 400, "idempotency_key_required")
    first = client.post(url, json=body, headers=keyed(t2, "key-disburse-1"))
    assert first.status_code == 200
    again = client.post(url, json=body, headers=keyed(t2, "key-disburse-1"))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert_problem(client.post(url, json={**body, "bank_reference": "TRF-10"}, headers=keyed(t2, "key-disburse-1")),
                   422, "idempotency_key_reused")
    # A new key is a new operation: refused, the advance is already disbursed.
    assert_problem(client.post(url, json=body, headers=keyed(t2, "key-disburse-2")), 409, "invalid_transition")
    db.session.expire_all()
    assert db.session.get(Advance, advance.id).status == "disbursed"


def test_refund_is_idempotent(client):
    ctx = money_setup()
    advance = disbursed(ctx)
    ngo = api_headers(client, ctx["ngo"])
    body = {"advance_id": advance.id, "amount": "100.00", "bank_name": "Banco Agrícola", "bank_reference": "REI-7",
            "refunded_on": iso("2026-03-01")}
    assert_problem(client.post("/api/v1/refunds", json=body, headers=ngo), 400, "idempotency_key_required")
    first = client.post("/api/v1/refunds", json=body, headers=keyed(ngo, "refund-key-1"))
    assert first.status_code == 201
    again = client.post("/api/v1/refunds", json=body, headers=keyed(ngo, "refund-key-1"))
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.get_data() == first.get_data()
    assert_problem(client.post("/api/v1/refunds", json={**body, "amount": "200.00"},
                               headers=keyed(ngo, "refund-key-1")), 422, "idempotency_key_reused")
    refunds = client.get(f"/api/v1/refunds?advance_id={advance.id}", headers=ngo).get_json()
    assert refunds["total"] == 1 and refunds["items"][0]["status"] == "declared"
    db.session.expire_all()
    assert str(db.session.get(Advance, advance.id).refunded_amount) == "0.00"  # declared once, not yet confirmed
    balances = client.get(f"/api/v1/agreements/{advance.agreement_id}/balances", headers=ngo).get_json()
    assert (balances["refunds_declared"], balances["refunded"]) == ("100.00", "0.00")


def test_another_organization_sees_nothing(client):
    ctx = money_setup()
    other = money_setup()
    advance = disbursed(ctx)
    statement_id = client.post(f"/api/v1/advances/{advance.id}/expense-statements", json={"rows": [row()]},
                               headers=api_headers(client, ctx["ngo"])).get_json()["id"]
    stranger = api_headers(client, other["ngo"])
    for url in (f"/api/v1/advances/{advance.id}", f"/api/v1/agreements/{ctx['agreement'].id}/advances",
                f"/api/v1/agreements/{ctx['agreement'].id}/balances", f"/api/v1/expense-statements/{statement_id}",
                f"/api/v1/advances/{advance.id}/expense-statement-template.xlsx"):
        assert_problem(client.get(url, headers=stranger), 404, "not_found")
    assert_problem(client.post("/api/v1/refunds", json={"advance_id": advance.id, "amount": "1.00", "bank_name": "B",
                                                        "bank_reference": "X", "refunded_on": iso("2026-03-01")},
                               headers=keyed(stranger, "stranger-1")), 404, "not_found")
    assert client.get("/api/v1/advances", headers=stranger).get_json()["total"] == 0
    assert client.get("/api/v1/refunds", headers=stranger).get_json()["total"] == 0


def test_template_download_and_upload(client):
    ctx = money_setup()
    advance = disbursed(ctx)
    ngo = api_headers(client, ctx["ngo"])
    response = client.get(f"/api/v1/advances/{advance.id}/expense-statement-template.xlsx", headers=ngo)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    for c, value in enumerate(["Factura", "F-55", dmy("2026-03-10"), SUPPLIER_NIT, "Proveedor", "Sillas",
                               "2 - Materiales", "700.25"], start=1):
        sheet.cell(row=2, column=c, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(f"/api/v1/advances/{advance.id}/expense-statements/upload", headers=ngo,
                           data={"file": (io.BytesIO(buffer.getvalue()), "liquidacion.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["total"], body["source_filename"], body["receipts"][0]["budget_line"]) == (
        "700.25", "liquidacion.xlsx", 2)

    response = client.post(f"/api/v1/advances/{advance.id}/expense-statements/upload", headers=ngo,
                           data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(40)), "x.xlsx")},
                           content_type="multipart/form-data")
    problem = assert_problem(response, 422, "validation_error")  # the one upload check: not a workbook
    assert "XLSX" in problem["errors"]["file"][0]


def test_request_refused_by_gate_and_suspension_through_the_api(client):
    ctx = money_setup()
    disbursed(ctx)
    ngo = api_headers(client, ctx["ngo"])
    url = f"/api/v1/agreements/{ctx['agreement'].id}/advances"
    assert_problem(client.post(url, json={"tranche_number": 2}, headers=ngo), 409, "liquidation_gate")
    admin = api_headers(client, ctx["administrator"])
    response = client.post(f"/api/v1/agreements/{ctx['agreement'].id}/suspend", json={"reason": "Auditoría"},
                           headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_problem(client.post(url, json={"tranche_number": 2}, headers=ngo), 409, "agreement_not_in_execution")
