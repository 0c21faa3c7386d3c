"""Each of the five documents Fondos issues as the ministry comes out signed from its real route
(web page and API), and verifies as that document: agreement, payment order, acta of final
liquidation, findings export, report to the Assembly (the sent, frozen file, also on the public
transparency portal)."""
from __future__ import annotations

import pytest

from grants.audit import Actor
from grants.extensions import db
from grants.services import legislature, verification
from tests.closing import helpers as h
from tests.helpers import api_headers, login
from tests.timeline import year


@pytest.fixture
def ctx(app):
    ctx = h.setup(beneficiaries=False)
    ctx["payment"] = h.pay(ctx, "250.75")
    return ctx


def signed_as(response, kind: str, object_key: str):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    verdict = verification.verify(response.data)
    assert verdict.state == "valid", verdict.lines()
    assert (verdict.document.kind, verdict.document.object_key) == (kind, object_key)
    return verdict


def test_agreement_and_payment_order_web_and_api(client, ctx):
    agreement, payment = ctx["agreement"], ctx["payment"]
    login(client, ctx["legal"])
    web = signed_as(client.get(f"/agreements/{agreement.id}/document.pdf"), "agreement", str(agreement.id))
    api = signed_as(client.get(f"/api/v1/agreements/{agreement.id}/document.pdf",
                               headers=api_headers(client, ctx["legal"])), "agreement", str(agreement.id))
    assert api.sha256 == web.sha256  # the same content: the same issued file
    login(client, ctx["treasury3"])
    order = signed_as(client.get(f"/payments/{payment.id}/order.pdf"), "payment_order", str(payment.id))
    assert order.document.object_type == "payments" and f"OP-{payment.id:06d}" in " ".join(order.lines())
    by_api = signed_as(client.get(f"/api/v1/payments/{payment.id}/order.pdf",
                                  headers=api_headers(client, ctx["treasury3"])), "payment_order", str(payment.id))
    assert by_api.sha256 == order.sha256


def test_final_liquidation_acta_web_and_api(client, ctx):
    agreement = ctx["agreement"]
    h.to_closing(ctx)
    h.prepare(ctx)
    login(client, ctx["legal"])
    first = signed_as(client.get(f"/agreements/{agreement.id}/final-liquidation.pdf"), "final_liquidation_acta",
                      str(agreement.id))
    h.sign(ctx, "legal")  # a sign-off changes the acta: version 2
    second = signed_as(client.get(f"/api/v1/agreements/{agreement.id}/final-liquidation.pdf",
                                  headers=api_headers(client, ctx["auditor"])), "final_liquidation_acta",
                       str(agreement.id))
    assert (first.document.version, second.document.version) == (1, 2)
    login(client, ctx["auditor"])
    response = client.get(f"/agreements/{agreement.id}/final-liquidation.pdf")
    assert verification.verify(response.data).sha256 == second.sha256


def test_findings_export_web_and_api(client, ctx):
    h.finding(ctx["agreement"])
    login(client, ctx["auditor"])
    web = signed_as(client.get("/audit/findings.pdf?status=open"), "findings", "status=open")
    assert web.document.object_type == "findings_filter"
    api = signed_as(client.get("/api/v1/audit/findings.pdf?status=open", headers=api_headers(client, ctx["auditor"])),
                    "findings", "status=open")
    assert api.document.kind == "findings"


def test_the_report_to_the_assembly_is_signed_when_sent(client, ctx):
    h.to_closing(ctx)
    h.liquidate(ctx)
    report = legislature.send_report(Actor.for_user(ctx["auditor"]), year())
    db.session.commit()
    login(client, ctx["auditor"])
    sent = signed_as(client.get(f"/legislature-reports/{year()}.pdf"), "legislature_report", str(year()))
    assert sent.sha256 == report.pdf_sha256 and sent.document.object_type == "fiscal_year"
    assert f"Informe a la Asamblea Legislativa, ejercicio {year()}" in " ".join(sent.lines())
    api = client.get(f"/api/v1/legislature-reports/{year()}.pdf", headers=api_headers(client, ctx["auditor"]))
    assert verification.verify(api.data).sha256 == report.pdf_sha256
    public = client.get(f"/transparencia/{year()}/informe-asamblea.pdf")
    assert verification.verify(public.data).valid and verification.verify(public.data).sha256 == report.pdf_sha256
