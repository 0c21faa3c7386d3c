"""Documents where people expect them (issue 10 §5): one attachment mechanism — the file is judged by
its content, stored by hash, audited, and shown to whoever sees the object it belongs to."""
import io
import json
from datetime import timedelta

import pytest

from grants.clock import today
from grants.extensions import db
from grants.models import AuditEvent
from grants.services import documents, followup, invoices
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.factories import make_organization, make_user
from tests.followup.helpers import report_data
from tests.helpers import api_headers, assert_problem, csrf_token, web_login
from tests.money.payment_helpers import act, payments_setup, register
from tests.pdfs import tiny_pdf

DTE = json.dumps({"identificacion": {"tipoDte": "01", "numeroControl": "DTE-01-0001"}, "resumen": {
    "totalPagar": 100.0}}).encode()


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def test_an_invoice_takes_its_pdf_or_its_dte_and_the_administrator_its_signed_acta(ctx):
    invoice = register(ctx)
    documents.attach_invoice_document(act(ctx["ngo"]), invoice.id, "invoice_document", "factura.json", DTE)
    db.session.commit()
    with pytest.raises(ValidationFailed):  # a "PDF" that is HTML is judged by its content
        documents.attach_invoice_document(act(ctx["ngo"]), invoice.id, "invoice_document", "f.pdf",
                                          b"%PDF-1.7\n<html><script>alert(1)</script></html>")
    db.session.rollback()
    with pytest.raises(Forbidden):  # the acta is the administrator's
        documents.attach_invoice_document(act(ctx["ngo"]), invoice.id, "receipt_certificate", "acta.pdf",
                                          tiny_pdf("Acta"))
    db.session.rollback()
    with pytest.raises(Conflict) as early:  # and comes after the certificate
        documents.attach_invoice_document(act(ctx["administrator"]), invoice.id, "receipt_certificate", "acta.pdf",
                                          tiny_pdf("Acta"))
    assert early.value.code == "invoice_not_certified"
    db.session.rollback()
    invoices.certify_receipt(act(ctx["administrator"]), invoice.id, {
        "received_on": today().isoformat() if invoice.period_end <= today() else invoice.period_end.isoformat(),
        "conforming": True, "differences": None})
    acta = documents.attach_invoice_document(act(ctx["administrator"]), invoice.id, "receipt_certificate",
                                             "acta-firmada.pdf", tiny_pdf("Acta firmada"))
    db.session.commit()
    assert acta.content_type == "application/pdf"
    kinds = [a.kind for a in __import__("grants.services.attachments", fromlist=["x"]).attachments_of(invoice)]
    assert kinds == ["invoice_document", "receipt_certificate"]
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "attachment.added")).all()
    assert {e.after["kind"] for e in events} >= {"invoice_document", "receipt_certificate"}


def test_supplier_documents_and_an_expired_solvency(ctx):
    supplier = ctx["supplier"]
    assert documents.solvency_expired(supplier)
    documents.attach_supplier_document(act(ctx["ngo"]), supplier.id, "nit_card", "nit.pdf", tiny_pdf("NIT"))
    with pytest.raises(ValidationFailed) as refused:
        documents.attach_supplier_document(act(ctx["ngo"]), supplier.id, "tax_solvency", "s.pdf", tiny_pdf("S"))
    assert set(refused.value.errors) == {"expires_on"}
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        documents.attach_supplier_document(act(ctx["ngo"]), supplier.id, "tax_solvency", "s.pdf", tiny_pdf("S"),
                                           today() - timedelta(days=1))
    db.session.rollback()
    documents.attach_supplier_document(act(ctx["ngo"]), supplier.id, "tax_solvency", "s.pdf", tiny_pdf("S"),
                                       today() + timedelta(days=90))
    db.session.commit()
    assert not documents.solvency_expired(supplier)
    with pytest.raises(Forbidden):
        documents.attach_supplier_document(act(ctx["financial"]), supplier.id, "nit_card", "n.pdf", tiny_pdf("N"))


def test_pages_show_documents_to_those_who_see_the_object_and_no_one_else(ctx, client, app):
    invoice = register(ctx)
    web_login(client, ctx["ngo"].email)
    page = f"/invoices/{invoice.id}"
    response = client.post(f"/documents/invoice/{invoice.id}", data={
        "csrf_token": csrf_token(client, page), "kind": "invoice_document",
        "file": (io.BytesIO(tiny_pdf("Factura F-1")), "factura.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "factura.pdf" in html
    link = html.split('data-testid="attachment"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert client.get(link).data.startswith(b"%PDF-")
    stranger = app.test_client()
    web_login(stranger, make_user(["ngo"], organization=make_organization()).email)
    assert stranger.get(link).status_code == 404
    reviewer = app.test_client()
    web_login(reviewer, ctx["financial"].email)
    assert reviewer.get(link).status_code == 200


def test_a_follow_up_report_takes_annexes_from_its_administrator(ctx, client):
    report = followup.create_report(act(ctx["administrator"]), ctx["agreement"].id, report_data(ctx))
    db.session.commit()
    headers = api_headers(client, ctx["administrator"])
    response = client.post(f"/api/v1/follow-up-reports/{report.id}/documents", headers=headers,
                           data={"kind": "followup_annex", "file": (io.BytesIO(tiny_pdf("Anexo")), "anexo.pdf")})
    assert response.status_code == 201, response.get_json()
    listing = client.get(f"/api/v1/follow-up-reports/{report.id}/documents", headers=headers).get_json()
    assert [a["filename"] for a in listing] == ["anexo.pdf"]
    ngo = api_headers(client, ctx["ngo"])
    assert_problem(client.post(f"/api/v1/follow-up-reports/{report.id}/documents", headers=ngo,
                               data={"kind": "followup_annex", "file": (io.BytesIO(tiny_pdf("X")), "x.pdf")}),
                   403, "forbidden")
