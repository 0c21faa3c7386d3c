"""API: final liquidation (preview, refusals with codes, recording), the report to the legislature
(downloads, generate, send once, stored files once sent), its public schema and the open data."""
from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from grants.extensions import db
from grants.models import Agreement
from tests.closing import helpers as h
from tests.factories import make_organization, make_user
from tests.helpers import api_headers, assert_problem
from tests.money import advance_helpers as ah
from tests.timeline import year


@pytest.fixture
def ctx(app):
    ctx = h.setup(beneficiaries=False)
    h.pay(ctx, "250.75")
    return ctx


def url(ctx) -> str:
    return f"/api/v1/agreements/{ctx['agreement'].id}/final-liquidation"


def test_preview_lists_the_blockers_and_the_figures(client, ctx):
    ah.disbursed(ctx, 1)
    h.to_closing(ctx)
    body = client.get(url(ctx), headers=api_headers(client, ctx["auditor"])).get_json()
    assert body["recorded"] is None
    preview = body["preview"]
    assert preview["ready"] is False and [b["code"] for b in preview["blockers"]] == ["advance_not_liquidated"]
    assert "desembolsos 1" in preview["blockers"][0]["message"]
    figures = preview["figures"]
    assert (figures["paid_directly"], figures["advanced"], figures["outstanding"], figures["unspent"]) == (
        "250.75", "40000.00", "40000.00", "99749.25")
    own = client.get(url(ctx), headers=api_headers(client, ctx["ngo"]))
    assert own.status_code == 200
    stranger = make_user(["ngo"], organization=make_organization())
    assert_problem(client.get(url(ctx), headers=api_headers(client, stranger)), 404, "not_found")


def test_recording_is_refused_with_the_blockers_code_then_accepted(client, ctx):
    advance = ah.disbursed(ctx, 1)
    h.to_closing(ctx)
    admin = api_headers(client, ctx["administrator"])
    body = {"verdict": "cumple", "reasoning": "Cumplió el plan."}
    problem = assert_problem(client.post(url(ctx), json=body, headers=admin), 409, "advance_not_liquidated")
    assert "desembolsos 1" in problem["detail"]
    h.account_for(ctx, advance, accepted=("39999.99",))  # refund 0.01
    assert_problem(client.post(url(ctx), json=body, headers=api_headers(client, ctx["auditor"])), 403, "forbidden")
    missing = assert_problem(client.post(url(ctx), json={"verdict": "otro", "reasoning": " "}, headers=admin),
                             422, "validation_error")
    assert set(missing["errors"]) == {"verdict", "reasoning"}
    created = client.post(url(ctx), json=body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    recorded = created.get_json()
    assert (recorded["verdict"], recorded["paid_directly"], recorded["liquidated"], recorded["refunded"],
            recorded["unspent"]) == ("cumple", "250.75", "39999.99", "0.01", "59749.26")
    assert db.session.get(Agreement, ctx["agreement"].id).status == "liquidated"
    again = client.get(url(ctx), headers=admin).get_json()
    assert again["preview"] is None and again["recorded"]["id"] == recorded["id"]
    assert_problem(client.post(url(ctx), json=body, headers=admin), 409, "already_liquidated")


def test_report_downloads_for_auditors_and_admins_only(client, ctx):
    auditor = api_headers(client, ctx["auditor"])
    pdf = client.get(f"/api/v1/legislature-reports/{year()}.pdf", headers=auditor)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    xlsx = client.get(f"/api/v1/legislature-reports/{year()}.xlsx", headers=api_headers(client, make_user(["admin"])))
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.data))["Resumen"]["A1"].value.endswith(f"Ejercicio fiscal {year()}")
    document = client.get(f"/api/v1/legislature-reports/{year()}.json", headers=auditor).get_json()
    assert document["totals"]["paid_directly"] == "250.75"
    for user in (ctx["ngo"], ctx["administrator"], ctx["treasury"]):
        assert_problem(client.get(f"/api/v1/legislature-reports/{year()}.pdf", headers=api_headers(client, user)),
                       403, "forbidden")
    assert_problem(client.get(f"/api/v1/legislature-reports/{year()}.json"), 401, "missing_token")
    assert_problem(client.get("/api/v1/legislature-reports/1999.json", headers=auditor), 422, "validation_error")


def test_generate_then_send_once_and_serve_the_sent_files(client, ctx):
    auditor = api_headers(client, ctx["auditor"])
    generated = client.post(f"/api/v1/legislature-reports/{year()}", headers=auditor)
    assert generated.status_code == 201 and generated.get_json()["status"] == "generated"
    sent = client.post(f"/api/v1/legislature-reports/{year()}/send", headers=auditor)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    report = sent.get_json()
    assert report["status"] == "sent" and report["totals"]["paid_directly"] == "250.75"
    assert_problem(client.post(f"/api/v1/legislature-reports/{year()}/send", headers=auditor), 409, "report_already_sent")
    h.pay(ctx, "100.00")  # money moves after sending: the sent files stay as they were
    served = client.get(f"/api/v1/legislature-reports/{year()}.json", headers=auditor)
    assert hashlib.sha256(served.data).hexdigest() == report["json_sha256"]
    assert json.loads(served.data)["totals"]["paid_directly"] == "250.75"
    listed = client.get("/api/v1/legislature-reports", headers=auditor).get_json()
    assert [r["status"] for r in listed] == ["sent", "generated"]
    assert_problem(client.post(f"/api/v1/legislature-reports/{year()}", headers=api_headers(client, ctx["ngo"])),
                   403, "forbidden")


def test_schema_and_open_data_are_public(client, ctx):
    schema = client.get("/api/v1/legislature-reports/schema.json")
    assert schema.status_code == 200 and schema.mimetype == "application/schema+json"
    assert json.loads(schema.data)["$schema"].endswith("2020-12/schema")
    response = client.get(f"/api/v1/open-data/{year()}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    package = json.loads(response.data, parse_float=Decimal)
    transactions = package["releases"][0]["contracts"][0]["implementation"]["transactions"]
    assert [(t["source"], t["value"]["amount"]) for t in transactions] == [("direct-payment", Decimal("250.75"))]


def test_openapi_documents_the_closing_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/agreements/{agreement_id}/final-liquidation", "/api/v1/legislature-reports/{year}.pdf",
                 "/api/v1/legislature-reports/{year}.xlsx", "/api/v1/legislature-reports/{year}.json",
                 "/api/v1/legislature-reports/{year}/send", "/api/v1/legislature-reports/schema.json",
                 "/api/v1/open-data/{year}.json"):
        assert path in paths, path
