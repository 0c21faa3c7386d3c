"""/api/v1/bank-statements: a treasury system uploads the bank's camt.053 through the API and reads
what each line did; the same file again is answered with the stored statement and changes nothing;
unmatched lines are resolved by hand; the reconciliation of the day adds up to the cent; the auditor
reads and cannot upload; an NGO does not see that statements exist."""
from __future__ import annotations

import io

import pytest

from grants.extensions import db
from grants.models import Payment
from tests.factories import make_user
from tests.helpers import api_headers, assert_problem
from tests.money.bank_statement_helpers import ACCOUNT, authorized, camt, debit, events, setup, statements
from tests.timeline import today

BASE = "/api/v1/bank-statements"


@pytest.fixture
def ctx(app):
    return setup()


def post_file(client, headers, data: bytes, name: str = "extracto.xml"):
    return client.post(BASE, data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


def test_treasury_uploads_through_the_api_and_resolves_what_did_not_match(client, ctx):
    paid = authorized(ctx, "145.00")
    wrong = authorized(ctx, "99.00")
    data = camt([debit(paid, reference="BANCO-778"), debit(wrong, amount="98.00"),
                 {"direction": "debit", "amount": "2.50", "bank_reference": "COMISION-1", "counterparty": "Banco"}],
                statement_id="EXT-API-1")
    headers = api_headers(client, ctx["treasury3"])

    response = post_file(client, headers, data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["account"], body["statement_ref"], body["line_count"]) == (ACCOUNT, "EXT-API-1", 3)
    assert body["total_debits"] == "245.50"
    first, second, fee = body["lines"]
    assert (first["status"], first["payment_id"], first["match_method"]) == ("matched", paid.id, "e2e")
    assert (second["status"], second["reason_code"]) == ("unmatched", "wrong_amount")
    assert "$98.00" in second["reason"] and "$99.00" in second["reason"]
    assert fee["status"] == "unmatched" and fee["payment_id"] is None
    assert db.session.get(Payment, paid.id).status == "executed"
    assert db.session.get(Payment, paid.id).bank_reference == "BANCO-778"

    # the same file again: the stored statement, 200, nothing written
    before, count = events(), statements()
    again = post_file(client, headers, data, "otra-vez.xml")
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert (events(), statements()) == (before, count)

    # the fee is not Fondos'; the wrong amount cannot be matched by hand to the payment it names
    ignored = client.post(f"/api/v1/bank-statement-lines/{fee['id']}/ignore", json={"reason": "Comisión del banco"},
                          headers=headers)
    assert ignored.status_code == 200 and ignored.get_json()["status"] == "ignored"
    assert ignored.get_json()["manual_reason"] == "Comisión del banco"
    assert_problem(client.post(f"/api/v1/bank-statement-lines/{second['id']}/match",
                               json={"kind": "payment", "record_id": wrong.id, "reason": "Es este"}, headers=headers),
                   409, "wrong_amount")
    assert_problem(client.post(f"/api/v1/bank-statement-lines/{fee['id']}/ignore", json={"reason": "Otra vez"},
                               headers=headers), 409, "already_resolved")
    assert client.post(f"/api/v1/bank-statement-lines/{second['id']}/match",
                       json={"kind": "invoice", "record_id": wrong.id, "reason": "x"}, headers=headers).status_code == 422

    # the day's reconciliation: the matched debit equals the ledger's execution, to the cent
    day = today().isoformat()
    figures = client.get(f"{BASE}/reconciliation?account={ACCOUNT}&day={day}", headers=headers).get_json()
    assert (figures["matched_debits"], figures["ledger_debits"], figures["debit_difference"]) == (
        "145.00", "145.00", "0.00")
    assert figures["unmatched_debits"] == "98.00"

    listed = client.get(f"{BASE}?account={ACCOUNT}", headers=headers).get_json()
    assert [s["statement_ref"] for s in listed["items"]] == ["EXT-API-1"] and listed["total"] == 1
    assert client.get(f"{BASE}/{body['id']}", headers=headers).get_json()["lines"][2]["status"] == "ignored"


def test_a_file_that_is_not_a_statement_is_a_422_and_keeps_nothing(client, ctx):
    headers = api_headers(client, ctx["treasury3"])
    before, count = events(), statements()
    response = post_file(client, headers, b"fecha,monto\n01/01/2026,abc\n", "extracto.csv")
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"]
    assert (events(), statements()) == (before, count)


def test_the_auditor_reads_cannot_upload_and_an_ngo_sees_nothing(client, ctx):
    paid = authorized(ctx, "60.00")
    treasury = api_headers(client, ctx["treasury3"])
    created = post_file(client, treasury, camt([debit(paid)], statement_id="EXT-API-2")).get_json()

    auditor = api_headers(client, make_user(["auditor"]))
    assert client.get(f"{BASE}/{created['id']}", headers=auditor).status_code == 200
    assert_problem(post_file(client, auditor, camt([], statement_id="EXT-API-3")), 403, "forbidden")
    assert client.post(f"/api/v1/bank-statement-lines/{created['lines'][0]['id']}/ignore", json={"reason": "x"},
                       headers=auditor).status_code == 403

    ngo = api_headers(client, ctx["ngo"])
    for url in (BASE, f"{BASE}/{created['id']}", f"{BASE}/reconciliation?account={ACCOUNT}&day={today().isoformat()}"):
        assert_problem(client.get(url, headers=ngo), 404, "not_found")
    assert_problem(post_file(client, ngo, camt([], statement_id="EXT-API-4")), 404, "not_found")
