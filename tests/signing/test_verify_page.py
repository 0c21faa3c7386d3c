"""The public verification page ``/verificar`` (no login) and ``POST /api/v1/documents/verify``:
valid, tampered, unsigned, garbage and oversize uploads each get a clear answer, never a 500;
nothing is stored or audited; the page is linked from the footer and the transparency portal."""
from __future__ import annotations

import re
from io import BytesIO

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent, IssuedDocument
from tests.helpers import assert_problem, csrf_token, html_of
from tests.pdfs import tiny_pdf
from tests.signing import helpers as sh


@pytest.fixture
def signed(app, client):
    people = sh.agreement_people()
    pdf = sh.download_agreement(client, people)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code in (302, 303)  # anonymous from here on
    return people, pdf


def upload(client, data: bytes, name: str = "documento.pdf", **headers):
    token = csrf_token(client, "/verificar")
    return client.post("/verificar", data={"csrf_token": token, "document": (BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers)


def state_of(html: str) -> str:
    return re.search(r'data-testid="verdict" data-state="([a-z_]+)"', html).group(1)


def test_a_valid_document_says_who_when_and_which(client, signed):
    people, pdf = signed
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = upload(client, pdf)
    html = html_of(response)
    assert response.status_code == 200 and state_of(html) == "valid"
    assert "Firma válida: documento emitido por el ministerio." in html
    assert "Ministerio de Justicia y Seguridad Pública — Fondos (DEMO)" in html
    assert re.search(r'data-testid="signed-at">\d\d/\d\d/\d{4} \d\d:\d\d \(hora de El Salvador\)', html)
    assert f"Convenio de cooperación {people['agreement'].number}" in html
    assert 'data-kind="agreement" data-version="1"' in html
    assert "Es la versión más reciente de este documento." in html
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events  # not audited
    assert db.session.scalar(select(func.count()).select_from(IssuedDocument)) == 1  # nothing stored


def test_tampered_unsigned_and_garbage(client, signed):
    _, pdf = signed
    tampered = html_of(upload(client, sh.flipped(pdf, sh.first_content_stream_byte(pdf))))
    assert state_of(tampered) == "invalid" and "Firma NO válida." in tampered
    assert "El archivo fue modificado después de firmarse" in tampered
    unsigned = html_of(upload(client, tiny_pdf("Sin firma")))
    assert state_of(unsigned) == "unsigned" and "El documento no está firmado." in unsigned
    for garbage in (b"GIF89a esto no es un PDF", b"%PDF-1.4\n\x00\xff basura", bytes(range(256))):
        response = upload(client, garbage, "foto.pdf")
        assert response.status_code == 200 and state_of(html_of(response)) == "not_pdf"
        assert "El archivo no es un PDF." in html_of(response)


def test_english_too(client, signed):
    _, pdf = signed
    html = html_of(upload(client, pdf, **{"Accept-Language": "en"}))
    assert "Valid signature: document issued by the ministry." in html


def test_empty_oversize_and_no_csrf(client, app, signed):
    empty = upload(client, b"")
    assert empty.status_code == 422 and "Adjunte el archivo PDF" in html_of(empty)
    limit = app.config["VERIFY_MAX_BYTES"]
    app.config["VERIFY_MAX_BYTES"] = 1024 * 1024
    try:
        big = upload(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10))
        assert big.status_code == 413 and "El archivo supera el máximo de 1 MB." in html_of(big)
    finally:
        app.config["VERIFY_MAX_BYTES"] = limit
    no_token = client.post("/verificar", data={"document": (BytesIO(b"x"), "a.pdf")},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400 and 'data-testid="verdict"' not in html_of(no_token)


def test_linked_from_the_footer_and_the_portal(client, app):
    assert 'data-testid="footer-verify"' in html_of(client.get("/login"))
    assert 'href="/verificar"' in html_of(client.get("/transparencia"))
    page = client.get("/verificar")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in html_of(page)


def test_the_api_verifies_without_a_token(client, signed):
    people, pdf = signed
    body = client.post("/api/v1/documents/verify", data={"file": (BytesIO(pdf), "c.pdf")},
                       content_type="multipart/form-data").get_json()
    assert body["state"] == "valid" and body["valid"] is True
    assert body["document"]["kind"] == "agreement" and body["document"]["version"] == 1
    assert body["document"]["object_key"] == str(people["agreement"].id) and body["document"]["later_version"] is None
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", body["signed_at_local"])
    bad = client.post("/api/v1/documents/verify", data={"file": (BytesIO(b"basura"), "c.pdf")},
                      content_type="multipart/form-data").get_json()
    assert bad["state"] == "not_pdf" and bad["valid"] is False
    assert_problem(client.post("/api/v1/documents/verify", data={}, content_type="multipart/form-data"),
                   422, "validation_error")


def test_verifying_is_limited_per_address_on_the_page_and_the_api_together(client, app, signed, monkeypatch):
    """pyHanko runs on anyone's PDF: ``VERIFY_LIMIT_PER_ADDRESS`` per address, page and API counted
    together (the same counters as failed logins, so every process and machine shares them)."""
    _, pdf = signed
    monkeypatch.setitem(app.config, "VERIFY_LIMIT_PER_ADDRESS", "3 per minute")
    assert [upload(client, pdf).status_code for _ in range(2)] == [200, 200]
    api = client.post("/api/v1/documents/verify", data={"file": (BytesIO(pdf), "c.pdf")},
                      content_type="multipart/form-data")
    assert api.status_code == 200
    refused = upload(client, pdf)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Demasiadas verificaciones desde esta dirección" in html_of(refused)
    assert_problem(client.post("/api/v1/documents/verify", data={"file": (BytesIO(pdf), "c.pdf")},
                               content_type="multipart/form-data"), 429, "too_many_requests")
    assert client.get("/verificar").status_code == 200  # the page itself is always there
