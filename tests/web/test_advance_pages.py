"""Advance pages: advances (request, approve, prepare, disburse, refund), expense statements
(template, upload with per-row errors, receipt decisions) and the home panels of that work."""
import io
import re
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from grants import clock
from grants.clock import today
from grants.extensions import db
from grants.models import Advance, Refund
from grants.services import ledger
from grants.validation.receipts import HEADER_LABELS
from tests.helpers import csrf_token, html_of, login, refusal
from tests.money import advance_helpers as ah
from tests.web import money_page_helpers as mh
from tests.web.money_page_helpers import events, field_errors, key_of
from tests.pdfs import tiny_pdf
from tests.timeline import dmy, iso

invariants = mh.invariants  # autouse: the ledger's invariants hold after every test


# --- advances and statements -------------------------------------------------------------------

@pytest.fixture
def actx(app):
    return ah.money_setup()


def test_advance_request_approval_preparation_and_disbursement_through_the_pages(client, actx):
    agreement = actx["agreement"]
    login(client, actx["ngo"])
    url = f"/agreements/{agreement.id}/advances/new"
    html = html_of(client.get(url))
    assert f"Desembolso 1 · {dmy('2026-02-15')} · disponible $40,000.00 de $40,000.00" in html
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "tranche_number": "2", "purpose": "x"})
    assert response.status_code == 409 and "Solicite primero el anticipo del desembolso 1" in refusal(html_of(response))
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "tranche_number": "1",
                                      "purpose": "Talleres"})
    assert response.status_code == 303
    advance = db.session.scalars(select(Advance)).one()
    page = f"/advances/{advance.id}"

    login(client, actx["financial"])
    assert 'data-testid="approve-form"' in html_of(client.get(page))
    token = csrf_token(client, page)
    assert client.post(f"{page}/approve", data={"csrf_token": token}).status_code == 303
    assert db.session.get(Advance, advance.id).status == "approved"

    login(client, actx["treasury"])
    assert client.post(f"{page}/prepare", data={"csrf_token": csrf_token(client, page)}).status_code == 303
    html = html_of(client.get(page))
    assert 'data-testid="disburse-form"' not in html and 'data-testid="preparer-cannot-disburse"' in html
    response = client.post(f"{page}/disburse", data={"csrf_token": csrf_token(client, page),
                                                     "idempotency_key": "a" * 32, "bank_reference": "TRF-A1",
                                                     "transfer_date": today().isoformat(), "confirm": "y"})
    assert response.status_code == 409
    assert refusal(html_of(response)) == "Quien preparó el desembolso no puede ejecutarlo (segregación de funciones)."

    login(client, actx["treasury2"])
    html = html_of(client.get(page))
    form = {"csrf_token": csrf_token(client, page), "idempotency_key": key_of(html, "disburse-form"),
            "bank_reference": "TRF-A1", "transfer_date": today().isoformat(), "confirm": "y"}
    assert client.post(f"{page}/disburse", data=form).status_code == 303
    assert client.post(f"{page}/disburse", data=form).status_code == 303   # the double click
    advance = db.session.get(Advance, advance.id)
    assert (advance.status, advance.bank_reference) == ("disbursed", "TRF-A1")
    assert events("advance", advance.id, "advance.disbursed") == 1
    assert ledger.balances(agreement).advanced == Decimal("40000.00")


def test_the_financial_reviewer_rejects_with_a_reason(client, actx):
    advance = ah.requested(actx)
    login(client, actx["financial"])
    page = f"/advances/{advance.id}"
    token = csrf_token(client, page)
    response = client.post(f"{page}/reject", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422 and "El rechazo necesita un motivo." in field_errors(html_of(response), "reason")
    assert client.post(f"{page}/reject", data={"csrf_token": token, "reason": "Falta el plan"}).status_code == 303
    assert db.session.get(Advance, advance.id).status == "rejected"
    assert "Falta el plan" in html_of(client.get(page))


def test_a_refund_declared_twice_with_the_same_key_counts_once_and_only_when_confirmed(client, actx, app):
    advance = ah.disbursed(actx)
    login(client, actx["ngo"])
    page = f"/advances/{advance.id}"
    html = html_of(client.get(page))
    form = {"csrf_token": csrf_token(client, page), "idempotency_key": key_of(html, "refund-form"),
            "amount": "1,500.00", "bank_name": "Banco Agrícola", "bank_reference": "DEP-77",
            "refunded_on": iso("2026-03-01")}
    missing = client.post(f"{page}/refunds", data=form, content_type="multipart/form-data")
    assert missing.status_code == 422 and "boleta" in html_of(missing)
    slip = lambda: (io.BytesIO(tiny_pdf("Boleta DEP-77")), "boleta.pdf")  # noqa: E731
    assert client.post(f"{page}/refunds", data={**form, "slip": slip()},
                       content_type="multipart/form-data").status_code == 303
    assert client.post(f"{page}/refunds", data={**form, "slip": slip()},
                       content_type="multipart/form-data").status_code == 303  # the double click
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
    advance = db.session.get(Advance, advance.id)
    assert (advance.refunded_amount, advance.outstanding) == (Decimal("0.00"), Decimal("40000.00"))
    html = html_of(client.get(page))
    assert re.search(r'data-amount="refunds-declared">\$1,500.00<', html) and 'data-testid="refund-slip"' in html

    treasury = app.test_client()
    login(treasury, actx["treasury"])
    refund = db.session.scalars(select(Refund)).one()
    assert 'data-testid="confirm-refund"' in html_of(treasury.get(page))
    assert treasury.post(f"/refunds/{refund.id}/confirm",
                         data={"csrf_token": csrf_token(treasury, page)}).status_code == 303
    advance = db.session.get(Advance, advance.id)
    assert (advance.refunded_amount, advance.outstanding) == (Decimal("1500.00"), Decimal("38500.00"))
    html = html_of(client.get(page))
    assert re.search(r'data-amount="outstanding"><strong>\$38,500.00<', html)
    assert re.search(r'data-amount="share">3.75 %<', html)


def statement_xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([HEADER_LABELS[f] for f in HEADER_LABELS])
    for row in rows:
        sheet.append([row[f] for f in HEADER_LABELS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_expense_statement_template_upload_with_row_errors_and_receipt_decisions(client, actx):
    advance = ah.disbursed(actx)
    login(client, actx["ngo"])
    page = f"/advances/{advance.id}"
    assert 'data-testid="statement-form"' in html_of(client.get(page))
    template = client.get(f"{page}/statement-template.xlsx")
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.data)).sheetnames

    bad = [ah.row(issue_date=iso("2026-07-01")), ah.row(budget_line=9)]
    response = client.post(f"{page}/expense-statements", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, page), "file": (io.BytesIO(statement_xlsx(bad)), "liquidacion.xlsx")})
    assert response.status_code == 422
    errors = re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]+)</td><td>([^<]+)</td>', html_of(response))
    assert [(r, c) for r, c, _ in errors] == [("2", "Fecha"), ("3", "Línea presupuestaria")]
    assert "fuera del período del anticipo" in errors[0][2]
    assert advance.statements == []

    good = [ah.row(amount="250.00"), ah.row(amount="100.00", budget_line=2)]
    response = client.post(f"{page}/expense-statements", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, page), "file": (io.BytesIO(statement_xlsx(good)), "liquidacion.xlsx")})
    assert response.status_code == 303
    statement = db.session.get(Advance, advance.id).statements[0]
    receipts = statement.receipts

    login(client, actx["financial"])
    spage = f"/expense-statements/{statement.id}"
    assert 'data-testid="decide-1"' in html_of(client.get(spage))
    token = csrf_token(client, spage)
    response = client.post(f"/receipts/{receipts[1].id}/decision", data={"csrf_token": token, "decision": "reject",
                                                                          "reason": ""})
    assert response.status_code == 422 and "El rechazo necesita un motivo." in html_of(response)
    assert client.post(f"/receipts/{receipts[0].id}/decision",
                       data={"csrf_token": token, "decision": "accept"}).status_code == 303
    assert client.post(f"/receipts/{receipts[1].id}/decision",
                       data={"csrf_token": token, "decision": "reject", "reason": "Sin firma"}).status_code == 303
    advance = db.session.get(Advance, advance.id)
    assert advance.liquidated_amount == Decimal("250.00")
    html = html_of(client.get(spage))
    assert re.findall(r'data-testid="receipt-state" data-state="(\w+)"', html) == ["accepted", "rejected"]
    assert "Sin firma" in html

    login(client, actx["ngo"])
    assert client.post(f"/receipts/{receipts[0].id}/decision",
                       data={"csrf_token": csrf_token(client, spage), "decision": "accept"}).status_code == 403


# --- home panels -------------------------------------------------------------------------------

def test_home_panels_for_financial_and_the_ngo(client, actx):
    requested = ah.requested(actx)
    login(client, actx["financial"])
    html = html_of(client.get("/"))
    assert 'data-count="advances_to_approve">1<' in html and f'href="/advances/{requested.id}"' in html
    with clock.at(ah.PREPARATION_DAY):
        ah.advances.approve_advance(ah.act(actx["financial"]), requested.id)
        ah.advances.prepare_disbursement(ah.act(actx["treasury"]), requested.id)
    ah.advances.disburse_advance(ah.act(actx["treasury2"]), requested.id, "TRF-H", ah.TRANSFER_DAY)
    db.session.commit()
    login(client, actx["ngo"])
    html = html_of(client.get("/"))
    assert 'data-testid="statements-due"' in html and "pendiente $40,000.00" in html
