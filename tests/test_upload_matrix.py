"""One set of rules for every upload (issue 11): each upload endpoint, API and pages, gives the same
answer to the same bad file, and nothing is stored when it refuses.

=================  ===================================================================
empty              422 (a file is required)
HTML in a PDF      422 (``%PDF-`` and then an HTML page: judged by content)
broken image       422 (a PNG signature and chunks whose pixels do not decode)
oversize           413 (``payload_too_large``), every limit set to ``LIMIT`` bytes here
RTL-override name  accepted; the stored name has no control/format characters and ends
                   with the suffix of what the content is
=================  ===================================================================

Each endpoint is one test (its setup once) that runs the five cases; on SQLite and PostgreSQL.
"""
from __future__ import annotations

import io
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import Attachment, AuditEvent, ExpenseStatement, ImportBatch
from grants.services import attachments, due_process, incidents, refunds
from tests.factories import make_agreement_in_execution, make_user, valid_dui
from tests.followup.helpers import act
from tests.helpers import api_headers, csrf_token, login
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.pdfs import tiny_pdf, tiny_png
from tests.timeline import day, iso

LIMIT = 64 * 1024
LIMITS = ("AGREEMENT_SCAN_MAX_BYTES", "BENEFICIARY_LIST_MAX_BYTES", "EXPENSE_STATEMENT_MAX_BYTES",
          "RECEIPT_SCAN_MAX_BYTES", "INCIDENT_EVIDENCE_MAX_BYTES", "ATTACHMENT_MAX_BYTES", "DEBARMENT_LIST_MAX_BYTES",
          "BANK_STATEMENT_MAX_BYTES")
HTML_IN_PDF = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"
RTL = "\u202e"


def broken_png() -> bytes:
    """A PNG's signature, header and end, with pixel data that does not inflate."""
    png = tiny_png()
    start = png.index(b"IDAT") + 4
    end = png.index(b"IEND") - 8
    return png[:start] + b"\x00" * (end - start) + png[end:]


def html_polyglot() -> bytes:
    """A real PDF with an HTML page after its header: pypdf's repair mode still finds the page."""
    pdf = tiny_pdf()
    first = pdf.index(b"\n") + 1
    return pdf[:first] + b"<html><script>alert(1)</script></html>\n" + pdf[first:]


BENEFICIARY_CSV = (ph.HEADER + "\n" + f"DUI,{valid_dui(4242)},Ana,Prueba,{day('2006-01-01').strftime('%d/%m/%Y')},"
                   f"F,San Salvador Centro,{iso('2026-02-01')}\n").encode()
DEBARRED_CSV = "NIT,nombre,motivo,fecha,fuente\n0614-050707-104-8,El Roble,Fraude,15/03/2025,UNAC\n".encode()


@dataclass
class Endpoint:
    name: str
    web: bool
    setup: Callable[[dict], dict]      # ctx → {"url", "user", "field", "form"?, "good", "suffix"}
    stored_name: Callable[[], str | None] = lambda: None
    accepted: tuple[int, ...] = (200, 201, 202)  # 202: a list accepted, checked by a job


def latest_attachment() -> str:
    return db.session.scalars(select(Attachment.filename).order_by(Attachment.id.desc())).first()


def latest_batch() -> str:
    return db.session.scalars(select(ImportBatch.filename).order_by(ImportBatch.id.desc())).first()


def latest_statement() -> str:
    return db.session.scalars(select(ExpenseStatement.source_filename).order_by(ExpenseStatement.id.desc())).first()


# --- what each endpoint needs -------------------------------------------------------------------

def draft_agreement(ctx):
    from grants.services import agreements, plans
    from tests.factories import make_allocation, make_organization, plan_content

    org = make_organization()
    allocation = make_allocation(org, amount="100000.00")
    ngo = make_user(["ngo"], organization=org)
    plan = plans.create_plan(act(ngo), allocation.id, "Plan", plan_content())
    plans.submit_plan(act(ngo), plan.id)
    for discipline in ("legal", "financial", "monitoring"):
        plans.record_review(act(ctx[discipline]), plan.id, 1, discipline, "approve", [])
    agreement = agreements.create_agreement(act(ctx["legal"]), plan.id, {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T",
        "ngo_signatory_name": "N", "ngo_signatory_title": "R"})
    db.session.commit()
    return agreement


def sign(prefix):
    def setup(ctx):
        agreement = draft_agreement(ctx)
        return {"url": f"{prefix}/agreements/{agreement.id}/sign", "user": ctx["legal"], "field": "scan",
                "form": {"signed_on": ctx["agreement"].signed_on.isoformat()}, "good": tiny_pdf(), "suffix": ".pdf"}
    return setup


def pending_incident(ctx):
    incident = incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, {
        "occurred_on": iso("2026-04-10"), "severity": "high", "description": "Listas incompletas.",
        "measure": "sanction", "measure_detail": "Amonestación.", "sanction_type": "written_warning"})
    db.session.commit()
    return incident


def evidence_api(ctx):
    incident = pending_incident(ctx)
    return {"url": f"/api/v1/incidents/{incident.id}/evidence", "user": ctx["administrator"], "field": "file",
            "good": tiny_png(), "suffix": ".png"}


def evidence_web(ctx):
    return {"url": f"/agreements/{ctx['agreement'].id}/incidents/new", "user": ctx["administrator"],
            "field": "evidence", "good": tiny_png(), "suffix": ".png",
            "form": {"occurred_on": iso("2026-04-10"), "severity": "low", "description": "Falta una lista.",
                     "measure": "observation", "measure_detail": "Entregarla."}}


def reply(prefix):
    def setup(ctx):
        incident = pending_incident(ctx)
        return {"url": f"{prefix}/incidents/{incident.id}/reply", "user": ctx["ngo"], "field": "files",
                "form": {"text": "Entregamos las listas."}, "good": tiny_pdf(), "suffix": ".pdf"}
    return setup


def fine(ctx):
    incident = incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, {
        "occurred_on": iso("2026-04-10"), "severity": "high", "description": "Comprobantes alterados.",
        "measure": "sanction", "measure_detail": "Multa.", "sanction_type": "fine", "fine_amount": "2000.00"})
    due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Aceptamos la falta.", [])
    due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "Multa confirmada.")
    db.session.commit()
    return incident


DEPOSIT = {"amount": "100.00", "bank_name": "Banco Agrícola", "bank_reference": "MULTA-1",
           "deposited_on": iso("2026-04-20")}


def fine_slip_api(ctx):
    from grants.services import fines

    incident = fine(ctx)
    payment = fines.declare_fine_deposit(act(ctx["ngo"]), incident.id, DEPOSIT)
    db.session.commit()
    return {"url": f"/api/v1/fine-payments/{payment.id}/slip", "user": ctx["ngo"], "field": "file",
            "good": tiny_pdf(), "suffix": ".pdf"}


def fine_slip_web(ctx):
    incident = fine(ctx)
    return {"url": f"/incidents/{incident.id}/fine-deposits", "user": ctx["ngo"], "field": "slip",
            "form": DEPOSIT, "good": tiny_pdf(), "suffix": ".pdf"}


REFUND = {"amount": "50.00", "bank_name": "Banco Agrícola", "bank_reference": "REI-1",
          "refunded_on": iso("2026-06-20")}


def refund_slip_api(ctx):
    advance = ah.disbursed(ctx)
    refund = refunds.declare_refund(act(ctx["ngo"]), advance.id, REFUND)
    db.session.commit()
    return {"url": f"/api/v1/refunds/{refund.id}/slip", "user": ctx["ngo"], "field": "file",
            "good": tiny_pdf(), "suffix": ".pdf"}


def refund_slip_web(ctx):
    advance = ah.disbursed(ctx)
    return {"url": f"/advances/{advance.id}/refunds", "user": ctx["ngo"], "field": "slip", "form": REFUND,
            "good": tiny_pdf(), "suffix": ".pdf"}


def filled_statement(advance) -> bytes:
    from datetime import datetime, time

    from tests.money.test_statements import filled_template

    return filled_template(advance, [["Factura", "F-100", datetime.combine(day("2026-03-01"), time()),
                                      ah.SUPPLIER_NIT, "Proveedor", "Sillas", "1 - Servicios", 125.5]])


def statement(prefix, path):
    def setup(ctx):
        advance = ah.disbursed(ctx)
        return {"url": f"{prefix}/advances/{advance.id}/{path}", "user": ctx["ngo"], "field": "file",
                "good": filled_statement(advance), "suffix": ".xlsx"}
    return setup


def receipt_scan(prefix):
    def setup(ctx):
        from grants.services import expense_statements

        advance = ah.disbursed(ctx)
        submitted = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [ah.row()])
        db.session.commit()
        return {"url": f"{prefix}/receipts/{submitted.receipts[0].id}/scan", "user": ctx["ngo"], "field": "file",
                "good": tiny_png(), "suffix": ".png"}
    return setup


def report(ctx):
    from grants.services import followup
    from tests.followup.helpers import report_data

    created = followup.create_report(act(ctx["administrator"]), ctx["agreement"].id, report_data(ctx))
    db.session.commit()
    return created


def documents(prefix, owner):
    def setup(ctx):
        if owner == "invoice":
            target, user, kind = ph.register(ctx), ctx["ngo"], "invoice_document"
        elif owner == "supplier":
            target, user, kind = ctx["supplier"], ctx["ngo"], "nit_card"
        else:
            target, user, kind = report(ctx), ctx["administrator"], "followup_annex"
        if prefix:
            path = {"invoice": "invoices", "supplier": "suppliers", "follow_up_report": "follow-up-reports"}[owner]
            url = f"/api/v1/{path}/{target.id}/documents"
        else:
            url = f"/documents/{owner}/{target.id}"
        return {"url": url, "user": user, "field": "file", "form": {"kind": kind}, "good": tiny_pdf(),
                "suffix": ".pdf"}
    return setup


def minutes(prefix):
    def setup(ctx):
        from tests.meetings.helpers import recorded

        meeting = recorded(ctx)
        return {"url": f"{prefix}/meetings/{meeting.id}/minutes", "user": ctx["administrator"], "field": "file",
                "good": tiny_pdf(), "suffix": ".pdf"}
    return setup


def beneficiary_list(path):
    def setup(ctx):
        return {"url": path.format(id=ctx["agreement"].id), "user": ctx["ngo"], "field": "file",
                "form": {"kind": "enrollment"}, "good": BENEFICIARY_CSV, "suffix": ".csv"}
    return setup


def debarred(url):
    def setup(ctx):
        return {"url": url, "user": make_user(["admin"]), "field": "file", "good": DEBARRED_CSV, "suffix": ".csv"}
    return setup


def bank_statement(prefix: str):
    def setup(ctx):
        from tests.money.bank_statement_helpers import camt

        return {"url": f"{prefix}/bank-statements", "user": ctx["treasury3"], "field": "file", "good": camt([]),
                "suffix": ".xml"}
    return setup


def latest_bank_statement() -> str:
    from grants.models import BankStatement

    return db.session.scalars(select(BankStatement.filename).order_by(BankStatement.id.desc())).first()


WEB_DONE = (302, 303)
ENDPOINTS = [
    Endpoint("api agreement scan", False, sign("/api/v1")),
    Endpoint("web agreement scan", True, sign(""), accepted=WEB_DONE),
    Endpoint("api incident evidence", False, evidence_api, latest_attachment),
    Endpoint("web incident evidence", True, evidence_web, latest_attachment, WEB_DONE),
    Endpoint("api incident reply", False, reply("/api/v1"), latest_attachment),
    Endpoint("web incident reply", True, reply(""), latest_attachment, WEB_DONE),
    Endpoint("api fine slip", False, fine_slip_api, latest_attachment),
    Endpoint("web fine deposit", True, fine_slip_web, latest_attachment, WEB_DONE),
    Endpoint("api refund slip", False, refund_slip_api, latest_attachment),
    Endpoint("web refund", True, refund_slip_web, latest_attachment, WEB_DONE),
    Endpoint("api statement", False, statement("/api/v1", "expense-statements/upload"), latest_statement),
    Endpoint("web statement", True, statement("", "expense-statements"), latest_statement, WEB_DONE),
    Endpoint("api receipt scan", False, receipt_scan("/api/v1"), latest_attachment),
    Endpoint("web receipt scan", True, receipt_scan(""), latest_attachment, WEB_DONE),
    Endpoint("api invoice document", False, documents("/api/v1", "invoice"), latest_attachment),
    Endpoint("web invoice document", True, documents("", "invoice"), latest_attachment, WEB_DONE),
    Endpoint("api supplier document", False, documents("/api/v1", "supplier"), latest_attachment),
    Endpoint("web supplier document", True, documents("", "supplier"), latest_attachment, WEB_DONE),
    Endpoint("api report annex", False, documents("/api/v1", "follow_up_report"), latest_attachment),
    Endpoint("web report annex", True, documents("", "follow_up_report"), latest_attachment, WEB_DONE),
    Endpoint("api meeting minutes", False, minutes("/api/v1"), latest_attachment),
    Endpoint("web meeting minutes", True, minutes(""), latest_attachment, WEB_DONE),
    Endpoint("api beneficiary list", False, beneficiary_list("/api/v1/agreements/{id}/beneficiary-imports"),
             latest_batch),
    Endpoint("web beneficiary list", True, beneficiary_list("/agreements/{id}/beneficiaries/upload"),
             latest_batch, WEB_DONE),
    Endpoint("api debarred suppliers", False, debarred("/api/v1/debarred-suppliers/import")),
    Endpoint("web debarred suppliers", True, debarred("/debarred-suppliers"), accepted=WEB_DONE),
    Endpoint("api bank statement", False, bank_statement("/api/v1"), latest_bank_statement),
    Endpoint("web bank statement", True, bank_statement(""), latest_bank_statement, WEB_DONE),
]


def test_the_matrix_names_every_upload_endpoint():
    """A new ``request.files`` in grants/api or grants/web must come with a row here."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / "grants"
    found = {f"{p.parent.name}/{p.stem}" for p in root.glob("*/*.py") if p.parent.name in ("api", "web")
             and re.search(r"request\.files", p.read_text())}
    found.discard("api/idempotency")  # hashes the files of the requests it wraps (which are rows here)
    # verify a PDF and keep nothing: a verdict for any bytes (empty, oversize, not a PDF, tampered),
    # answered in tests/signing/test_verify_page.py
    found -= {"api/documents", "web/verification"}
    assert found == {"api/agreements", "api/followup", "api/beneficiaries", "api/attachments", "api/meetings",
                     "api/advances", "api/bank_statements", "web/agreements", "web/suppliers", "web/followup", "web/beneficiary_imports",
                     "web/attachments", "web/meetings", "web/advances", "web/bank_statements"}


@pytest.fixture
def ctx(app, monkeypatch, tmp_path):
    for name in LIMITS:
        monkeypatch.setitem(app.config, name, LIMIT)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    return ph.payments_setup(beneficiaries=False)


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_every_upload_gives_the_same_answer(client, ctx, endpoint):
    spec = endpoint.setup(ctx)
    user, field, good = spec["user"], spec["field"], spec["good"]
    if endpoint.web:
        login(client, user)
        headers = {}
    else:
        headers = api_headers(client, user)

    def post(data: bytes, name: str):
        form = dict(spec.get("form", {}))
        if endpoint.web:
            form["csrf_token"] = csrf_token(client, "/")
            form["idempotency_key"] = uuid.uuid4().hex
        form[field] = (io.BytesIO(data), name)
        return client.post(spec["url"], data=form, headers=headers, content_type="multipart/form-data")

    cases = [
        ("empty", b"", "vacio" + spec["suffix"], 422, "Adjunte"),
        ("html in pdf", HTML_IN_PDF, "documento.pdf", 422, "se revisa su contenido"),
        ("html polyglot", html_polyglot(), "documento.pdf", 422, "se revisa su contenido"),
        ("broken image", broken_png(), "foto.png", 422, "se revisa su contenido"),
        ("oversize", good + b" " * (LIMIT + 1 - len(good)), "grande" + spec["suffix"], 413, "supera el máximo de"),
    ]
    for case, data, name, status, message in cases:
        before = _count()
        response = post(data, name)
        text = response.get_data(as_text=True)
        assert response.status_code == status, (case, response.status_code, text[:2000])
        assert "Traceback" not in text
        if not endpoint.web:
            assert response.mimetype == "application/problem+json", case
            body = response.get_json()
            assert body["code"] == ("payload_too_large" if status == 413 else "validation_error"), case
            assert message in " ".join(m for ms in body["errors"].values() for m in ms), (case, body)
        else:
            assert message in text, (case, text[:3000])
        assert _count() == before, f"{case}: something was recorded"

    name = f"prueba{RTL}fdp.exe"
    response = post(good, name)
    assert response.status_code in endpoint.accepted, response.get_data(as_text=True)[:2000]
    stored = endpoint.stored_name()
    if stored is not None:
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in stored), repr(stored)
        assert stored == attachments.clean_filename(name, spec["suffix"]) == f"pruebafdp.exe{spec['suffix']}"


@pytest.mark.parametrize("path", [
    "/api/v1/agreements/{agreement}/beneficiary-imports", "/api/v1/incidents/1/evidence",
    "/api/v1/meetings/1/minutes", "/api/v1/invoices/1/documents"])
def test_a_request_over_the_whole_limit_is_a_413_problem_on_the_api(client, app, monkeypatch, path):
    ctx = make_agreement_in_execution()
    headers = api_headers(client, ctx["ngo"])
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = client.post(path.format(agreement=ctx["agreement"].id), headers=headers,
                           data={"file": (io.BytesIO(b"x" * 10_000), "lista.csv"), "kind": "enrollment"},
                           content_type="multipart/form-data")
    assert response.status_code == 413, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "payload_too_large"


@pytest.mark.parametrize("name, suffix, expected", [
    ("acta\u202efdp.exe", ".pdf", "actafdp.exe.pdf"),
    ("C:\\fotos\\visita.JPEG", ".jpg", "visita.JPEG"),
    ("../../etc/passwd", ".pdf", "passwd.pdf"),
    ("a\u200bb\u2066c\u2069\x00\x1b.png", ".png", "abc.png"),
    ("lista.txt", ".csv", "lista.txt"),
    ("factura.html", ".pdf", "factura.html.pdf"),
    ("\u202e\u200f  . ", ".pdf", "documento.pdf"),
    (None, ".png", "documento.png"),
    ("x" * 500 + ".pdf", ".pdf", "x" * 196 + ".pdf"),
])
def test_clean_filename(name, suffix, expected):
    assert attachments.clean_filename(name, suffix) == expected


def test_an_image_bomb_is_refused_not_a_500():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")  # 400 M pixels in ~50 KB
    assert attachments.detect(buffer.getvalue(), attachments.SCANS) is None
