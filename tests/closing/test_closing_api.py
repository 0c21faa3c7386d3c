"""API: final liquidation (preview, refusals with codes, the proposal and the three sign-offs, the
acta), the report to the legislature (downloads, generate, send once, stored files once sent), its
public schema and the open data."""
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
from tests.closing import timeline_closing as tc
from tests.factories import make_organization, make_user
from tests.timeline import year
from tests.helpers import api_headers, assert_problem, built_file
from tests.pdfs import pdf_text


Y = year()  # the reference plan's fiscal year (2026 on the reference calendar)


@pytest.fixture
def ctx(app):
    ctx = h.setup(beneficiaries=False)
    h.pay(ctx, "250.75")
    return ctx


def url(ctx) -> str:
    return f"/api/v1/agreements/{ctx['agreement'].id}/final-liquidation"


def test_preview_lists_the_blockers_and_the_figures(client, ctx):
    tc.disbursed(ctx, 1)
    h.to_closing(ctx)
    body = client.get(url(ctx), headers=api_headers(client, ctx["auditor"])).get_json()
    assert (body["status"], body["current"], body["revisions"]) == ("none", None, [])
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


def test_the_proposal_is_refused_with_the_blockers_code_then_signed_by_the_three_disciplines(client, ctx):
    advance = tc.disbursed(ctx, 1)
    h.to_closing(ctx)
    admin = api_headers(client, ctx["administrator"])
    body = {"verdict": "cumple", "reasoning": "Cumplió el plan."}
    problem = assert_problem(client.post(url(ctx), json=body, headers=admin), 409, "advance_not_liquidated")
    assert "desembolsos 1" in problem["detail"]
    tc.account_for(ctx, advance, accepted=("39999.99",))  # refund 0.01
    assert_problem(client.post(url(ctx), json=body, headers=api_headers(client, ctx["auditor"])), 403, "forbidden")
    missing = assert_problem(client.post(url(ctx), json={"verdict": "otro", "reasoning": " "}, headers=admin),
                             422, "validation_error")
    assert set(missing["errors"]) == {"verdict", "reasoning"}
    created = client.post(url(ctx), json=body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    proposed = created.get_json()
    assert (proposed["revision"], proposed["status"], proposed["verdict"], proposed["paid_directly"],
            proposed["liquidated"], proposed["refunded"], proposed["unspent"], proposed["signoffs"]) == (
        1, "proposed", "cumple", "250.75", "39999.99", "0.01", "59749.26", [])
    assert db.session.get(Agreement, ctx["agreement"].id).status == "closing"
    assert_problem(client.post(url(ctx), json=body, headers=admin), 409, "liquidation_in_review")

    signoffs = f"{url(ctx)}/sign-offs"
    for n, discipline in enumerate(("legal", "financial", "monitoring"), start=1):
        signed = client.post(signoffs, json={"revision": 1, "discipline": discipline, "decision": "approve"},
                             headers=api_headers(client, ctx[discipline]))
        assert signed.status_code == 201, signed.get_data(as_text=True)
        result = signed.get_json()
        assert (result["discipline"], result["decision"], result["reviewer_name"], result["revision"]) == (
            discipline, "approve", ctx[discipline].full_name, 1)
        assert (result["liquidation_status"], result["agreement_status"]) == (
            ("approved", "liquidated") if n == 3 else ("proposed", "closing"))
    state = client.get(url(ctx), headers=admin).get_json()
    assert (state["status"], state["preview"], state["pending"]) == ("approved", None, [])
    assert [s["discipline"] for s in state["current"]["signoffs"]] == ["legal", "financial", "monitoring"]
    assert state["current"]["id"] == proposed["id"] and len(state["revisions"]) == 1
    assert_problem(client.post(url(ctx), json=body, headers=admin), 409, "already_liquidated")
    assert_problem(client.post(signoffs, json={"revision": 1, "discipline": "legal", "decision": "approve"},
                               headers=api_headers(client, ctx["legal"])), 409, "already_liquidated")


def test_sign_off_input_and_roles_are_checked(client, ctx):
    h.to_closing(ctx)
    h.prepare(ctx)
    signoffs = f"{url(ctx)}/sign-offs"
    legal = api_headers(client, ctx["legal"])
    bad = assert_problem(client.post(signoffs, json={"revision": "1", "discipline": "x", "decision": "approve"},
                                     headers=legal), 422, "validation_error")
    assert "revision" in bad["errors"]
    bad = assert_problem(client.post(signoffs, json={"revision": 1, "discipline": "jurídica", "decision": "sí"},
                                     headers=legal), 422, "validation_error")
    assert set(bad["errors"]) == {"discipline", "decision"}
    back = assert_problem(client.post(signoffs, json={"revision": 1, "discipline": "legal", "decision": "send_back",
                                                      "observations": "  "}, headers=legal), 422, "validation_error")
    assert set(back["errors"]) == {"observations"}
    assert_problem(client.post(signoffs, json={"revision": 1, "discipline": "financial", "decision": "approve"},
                               headers=legal), 403, "forbidden")
    assert_problem(client.post(signoffs, json={"revision": 2, "discipline": "legal", "decision": "approve"},
                               headers=legal), 409, "revision_not_in_review")
    stranger = make_user(["ngo"], organization=make_organization())
    assert_problem(client.post(signoffs, json={"revision": 1, "discipline": "legal", "decision": "approve"},
                               headers=api_headers(client, stranger)), 404, "not_found")


def test_the_acta_pdf_is_served_once_prepared(client, ctx):
    h.to_closing(ctx)
    pdf_url = f"/api/v1/agreements/{ctx['agreement'].id}/final-liquidation.pdf"
    auditor = api_headers(client, ctx["auditor"])
    assert_problem(client.get(pdf_url, headers=auditor), 404, "not_found")
    h.prepare(ctx)
    h.sign(ctx, "legal")
    response = client.get(pdf_url, headers=auditor)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "ACTA DE LIQUIDACIÓN FINAL" in text and ctx["agreement"].number in text and "NO APROBADA" in text
    assert ctx["legal"].full_name in text and "$250.75" in text
    assert client.get(pdf_url, headers=api_headers(client, ctx["ngo"])).status_code == 200
    stranger = make_user(["ngo"], organization=make_organization())
    assert_problem(client.get(pdf_url, headers=api_headers(client, stranger)), 404, "not_found")


def test_report_downloads_for_auditors_and_admins_only(client, ctx):
    auditor = api_headers(client, ctx["auditor"])
    pdf = built_file(client, f"/api/v1/legislature-reports/{Y}.pdf", auditor)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    again = client.get(f"/api/v1/legislature-reports/{Y}.pdf", headers=auditor)  # built: the same file at once
    assert again.status_code == 200 and again.data == pdf.data
    xlsx = built_file(client, f"/api/v1/legislature-reports/{Y}.xlsx", api_headers(client, make_user(["admin"])))
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.data))["Resumen"]["A1"].value.endswith(f"Ejercicio fiscal {Y}")
    document = client.get(f"/api/v1/legislature-reports/{Y}.json", headers=auditor).get_json()
    assert document["totals"]["paid_directly"] == "250.75"
    for user in (ctx["ngo"], ctx["administrator"], ctx["treasury"]):
        assert_problem(client.get(f"/api/v1/legislature-reports/{Y}.pdf", headers=api_headers(client, user)),
                       403, "forbidden")
    assert_problem(client.get(f"/api/v1/legislature-reports/{Y}.json"), 401, "missing_token")
    assert_problem(client.get("/api/v1/legislature-reports/1999.json", headers=auditor), 422, "validation_error")


def test_generate_then_send_once_and_serve_the_sent_files(client, ctx):
    auditor = api_headers(client, ctx["auditor"])
    generated = client.post(f"/api/v1/legislature-reports/{Y}", headers=auditor)
    assert generated.status_code == 201 and generated.get_json()["status"] == "generated"
    sent = client.post(f"/api/v1/legislature-reports/{Y}/send", headers=auditor)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    report = sent.get_json()
    assert report["status"] == "sent" and report["totals"]["paid_directly"] == "250.75"
    assert_problem(client.post(f"/api/v1/legislature-reports/{Y}/send", headers=auditor), 409, "report_already_sent")
    h.pay(ctx, "100.00")  # money moves after sending: the sent files stay as they were
    served = client.get(f"/api/v1/legislature-reports/{Y}.json", headers=auditor)
    assert hashlib.sha256(served.data).hexdigest() == report["json_sha256"]
    assert json.loads(served.data)["totals"]["paid_directly"] == "250.75"
    listed = client.get("/api/v1/legislature-reports", headers=auditor).get_json()
    assert [r["status"] for r in listed] == ["sent", "generated"]
    assert_problem(client.post(f"/api/v1/legislature-reports/{Y}", headers=api_headers(client, ctx["ngo"])),
                   403, "forbidden")


def test_schema_and_open_data_are_public(client, ctx):
    schema = client.get("/api/v1/legislature-reports/schema.json")
    assert schema.status_code == 200 and schema.mimetype == "application/schema+json"
    assert json.loads(schema.data)["$schema"].endswith("2020-12/schema")
    response = client.get(f"/api/v1/open-data/{Y}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    package = json.loads(response.data, parse_float=Decimal)
    transactions = package["releases"][0]["contracts"][0]["implementation"]["transactions"]
    assert [(t["id"].split("-")[0], t["value"]["amount"]) for t in transactions] == [("payment", Decimal("250.75"))]


def test_openapi_documents_the_closing_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/agreements/{agreement_id}/final-liquidation",
                 "/api/v1/agreements/{agreement_id}/final-liquidation/sign-offs",
                 "/api/v1/agreements/{agreement_id}/final-liquidation.pdf", "/api/v1/legislature-reports/{year}.pdf",
                 "/api/v1/legislature-reports/{year}.xlsx", "/api/v1/legislature-reports/{year}.json",
                 "/api/v1/legislature-reports/{year}/send", "/api/v1/legislature-reports/schema.json",
                 "/api/v1/open-data/{year}.json"):
        assert path in paths, path
