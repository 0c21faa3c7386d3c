"""Money pages: the agreement's balances and budget chart, the invoice form and page (eligibility
preview, receipt certificate, void), treasury's queue and payment page (maker-checker, idempotent
execution, payment order PDF), advances (request, approve, prepare, disburse, refund) and expense
statements (template, upload with per-row errors, receipt decisions), and the home panels."""
import io
import re
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import Advance, AuditEvent, Invoice, Payment, Refund
from grants.services import invoices, ledger
from grants.validation.receipts import HEADER_LABELS
from tests.agreement_helpers import agreement_in_execution
from tests.helpers import csrf_token, web_login
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph


@pytest.fixture(autouse=True)
def invariants(app):
    yield
    assert ledger.check_invariants() == []


@pytest.fixture
def ctx(app):
    return ph.payments_setup()


def login(client, user):
    """Sign out whoever is signed in, then sign in as ``user``."""
    if client.get("/").status_code == 200:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    web_login(client, user.email)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def events(entity_type, entity_id, action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id), AuditEvent.action == action))


def key_of(html: str, form: str) -> str:
    block = html.split(f'data-testid="{form}"', 1)[1]
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', block).group(1)


def refusal(html: str) -> str:
    match = re.search(r'data-testid="refusal">([^<]+)<', html)
    return match.group(1) if match else ""


def field_errors(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))


# --- the agreement's money page ----------------------------------------------------------------

def test_agreement_page_links_to_its_money_page_with_balances_and_a_bar_per_budget_line(client, ctx):
    ph.executed(ctx, [ph.line(1, "2", "50.00")])            # $100.00 paid on line 1
    ph.prepared(ctx, [ph.line(2, "1", "300.25")])           # $300.25 committed on line 2
    agreement = ctx["agreement"]
    login(client, ctx["ngo"])
    assert f'href="/agreements/{agreement.id}/money"' in html_of(client.get(f"/agreements/{agreement.id}"))

    response = client.get(f"/agreements/{agreement.id}/money")
    html = html_of(response)
    assert response.status_code == 200
    balance = dict(re.findall(r'data-balance="(\w+)"><th>[^<]+</th><td class="num">(?:<strong>)?([^<]+)<', html))
    assert balance == {"assigned": "$100,000.00", "committed": "$300.25", "paid_directly": "$100.00",
                       "advanced": "$0.00", "liquidated": "$0.00", "refunded": "$0.00", "outstanding": "$0.00",
                       "available": "$99,599.75"}
    groups = re.findall(r'<g class="bar-group" data-line="(\d)" data-approved="([\d.]+)" data-spent="([\d.]+)" '
                        r'data-committed="([\d.]+)"', html)
    assert groups == [("1", "60000.00", "100.00", "0.00"), ("2", "25000.50", "0.00", "300.25"),
                      ("3", "14999.50", "0.00", "0.00")]
    assert "Ejecutado $100.00 de $60,000.00 (0.17 %)" in html
    assert "comprometido $300.25 · disponible $24,700.25" in html
    # the CSP forbids inline style and script: the chart is classes and attributes only
    assert "style=" not in html and "<script" not in html
    assert html.count('class="bar-spent"') == 3
    assert 'data-state="executed">Ejecutado<' in html and 'data-state="prepared">Preparado<' in html


def test_another_organizations_money_is_not_found(client, ctx):
    other = agreement_in_execution()
    payment = ph.prepared(ctx)
    login(client, other["ngo"])
    assert client.get(f"/agreements/{ctx['agreement'].id}/money").status_code == 404
    assert client.get(f"/payments/{payment.id}").status_code == 404
    assert client.get(f"/invoices/{payment.invoice_id}").status_code == 404
    assert client.get(f"/payments/{payment.id}/order.pdf").status_code == 404
    assert client.get("/payments?state=prepared").status_code == 200
    assert f'data-payment="{payment.id}"' not in html_of(client.get("/payments?state=prepared"))


# --- invoices ----------------------------------------------------------------------------------

def invoice_form(token, ctx, number="F-100", lines=(), **overrides):
    data = {"csrf_token": token, "supplier_id": str(ctx["supplier"].id), "number": number,
            "issue_date": "2026-04-02", "period_start": "2026-03-01", "period_end": "2026-03-31"}
    for i, line in enumerate(lines):
        for name, value in line.items():
            if value is not None:
                data[f"lines-{i}-{name}"] = value
    data.update(overrides)
    return data


def test_ngo_registers_an_invoice_with_rows_added_by_buttons_and_beneficiaries_by_document(client, ctx):
    agreement = ctx["agreement"]
    login(client, ctx["ngo"])
    assert 'data-testid="register-invoice"' in html_of(client.get(f"/agreements/{agreement.id}/money"))
    url = f"/agreements/{agreement.id}/invoices/new"
    token = csrf_token(client, url)
    first = {"budget_line": "1", "description": "Curso", "quantity": "", "unit_price": "120.00", "per_beneficiary": "y",
             "beneficiaries": ""}
    response = client.post(url, data={**invoice_form(token, ctx, lines=[first]), "add_line": "1"})
    assert response.status_code == 200 and html_of(response).count('data-testid="line-row"') == 2
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0

    documents = {name: e.beneficiary.document_number for name, e in ctx["people"].items()}
    bad = dict(first, beneficiaries="99999999-9")
    response = client.post(url, data=invoice_form(token, ctx, number="", lines=[bad]))
    html = html_of(response)
    assert response.status_code == 422
    assert "No están inscritos en este convenio: 99999999-9" in field_errors(html, "lines-0-beneficiaries")
    assert "Este campo es obligatorio." in field_errors(html, "number")

    good = dict(first, beneficiaries=f"{documents['active']}\n{documents['never']}")
    extra = {"budget_line": "2", "description": "Materiales", "quantity": "3", "unit_price": "10.50"}
    response = client.post(url, data=invoice_form(token, ctx, lines=[good, extra]))
    assert response.status_code == 303
    invoice = db.session.scalars(select(Invoice)).one()
    assert response.headers["Location"].endswith(f"/invoices/{invoice.id}")
    assert (invoice.number, invoice.total, invoice.status) == ("F-100", Decimal("271.50"), "registered")
    assert sorted(b.enrollment_id for b in invoice.lines[0].beneficiaries) == sorted(
        [ctx["people"]["active"].id, ctx["people"]["never"].id])
    assert events("invoice", invoice.id, "invoice.registered") == 1


def test_invoice_page_previews_the_payable_amount_and_each_deduction_with_its_reason(client, ctx):
    invoice = ph.register(ctx, [ph.beneficiary_line(ctx, ["active", "never", "inactive"])])
    login(client, ctx["ngo"])
    html = html_of(client.get(f"/invoices/{invoice.id}"))
    assert re.search(r'data-amount="invoiced">\$360.00<', html)
    assert re.search(r'data-amount="deducted">\$240.00<', html)
    assert re.search(r'data-amount="payable"><strong>\$120.00<', html)
    assert sorted(re.findall(r'<tr data-reason="(\w+)">', html)) == ["beneficiary_not_active",
                                                                      "beneficiary_partly_active"]
    assert 'data-testid="certificate-form"' not in html        # the NGO does not certify


def test_the_administrator_certifies_the_receipt_and_differences_need_a_description(client, ctx):
    invoice = ph.register(ctx)
    login(client, ctx["administrator"])
    url = f"/invoices/{invoice.id}"
    html = html_of(client.get(url))
    assert 'data-testid="certificate-form"' in html
    token = csrf_token(client, url)
    response = client.post(f"{url}/receipt-certificate", data={"csrf_token": token, "received_on": "2026-04-03",
                                                                "conforming": "no", "differences": ""})
    assert response.status_code == 422
    assert "Describa las diferencias" in field_errors(html_of(response), "differences")
    assert db.session.get(Invoice, invoice.id).status == "registered"
    response = client.post(f"{url}/receipt-certificate", data={"csrf_token": token, "received_on": "2026-04-03",
                                                                "conforming": "yes", "differences": ""})
    assert response.status_code == 303
    assert db.session.get(Invoice, invoice.id).status == "certified"
    assert events("invoice", invoice.id, "invoice.certified") == 1


def test_only_the_designated_administrator_certifies(client, ctx):
    from tests.factories import make_user

    invoice = ph.register(ctx)
    login(client, make_user(["administrator"]))
    url = f"/invoices/{invoice.id}"
    assert 'data-testid="certificate-form"' not in html_of(client.get(url))
    response = client.post(f"{url}/receipt-certificate", data={"csrf_token": csrf_token(client, url),
                                                                "received_on": "2026-04-03", "conforming": "yes"})
    assert response.status_code == 403
    assert refusal(html_of(response)) == "Solo el administrador designado del convenio emite el acta de recepción."
    assert db.session.get(Invoice, invoice.id).status == "registered"


def test_the_ngo_voids_an_invoice_with_a_reason(client, ctx):
    invoice = ph.register(ctx)
    login(client, ctx["ngo"])
    url = f"/invoices/{invoice.id}"
    token = csrf_token(client, url)
    response = client.post(f"{url}/void", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 422
    assert "Indique el motivo de la anulación." in field_errors(html_of(response), "reason")
    response = client.post(f"{url}/void", data={"csrf_token": token, "reason": "Número equivocado"})
    assert response.status_code == 303
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.status, invoice.void_reason) == ("voided", "Número equivocado")
    assert 'data-testid="void-reason"' in html_of(client.get(url))


# --- payments ----------------------------------------------------------------------------------

def test_treasury_prepares_and_the_preparer_cannot_authorize(client, ctx):
    invoice = ph.certified(ctx, [ph.line(1, "2", "50.00")])
    login(client, ctx["treasury"])
    url = f"/invoices/{invoice.id}"
    assert "Preparar el pago de $100.00" in html_of(client.get(url))
    response = client.post(f"{url}/payment", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    payment = db.session.scalars(select(Payment)).one()
    assert (payment.status, payment.amount, payment.prepared_by_id) == ("prepared", Decimal("100.00"),
                                                                        ctx["treasury"].id)
    page = f"/payments/{payment.id}"
    html = html_of(client.get(page))
    assert 'data-testid="authorize-form"' not in html
    assert "Usted preparó este pago: debe autorizarlo otra persona de tesorería." in html
    response = client.post(f"{page}/authorize", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 409
    assert refusal(html_of(response)) == "Quien preparó el pago no puede autorizarlo (segregación de funciones)."
    assert db.session.get(Payment, payment.id).status == "prepared"

    login(client, ctx["treasury2"])
    html = html_of(client.get(page))
    assert 'data-testid="authorize-form"' in html
    response = client.post(f"{page}/authorize", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 303
    assert db.session.get(Payment, payment.id).status == "authorized"
    assert events("payment", payment.id, "payment.authorized") == 1


def test_a_second_prepare_of_the_same_invoice_is_refused_on_the_page(client, ctx):
    payment = ph.prepared(ctx)
    login(client, ctx["treasury2"])
    url = f"/invoices/{payment.invoice_id}"
    assert 'data-testid="prepare-form"' not in html_of(client.get(url))
    response = client.post(f"{url}/payment", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 409
    assert "ya tiene el pago N.º" in refusal(html_of(response))
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_double_click_on_execute_moves_the_money_once(client, ctx):
    payment = ph.authorized(ctx, [ph.line(1, "2", "50.00")])
    login(client, ctx["treasury"])
    page = f"/payments/{payment.id}"
    html = html_of(client.get(page))
    key = key_of(html, "execute-form")
    token = csrf_token(client, page)
    today = invoices.today().isoformat()
    form = {"csrf_token": token, "idempotency_key": key, "bank_reference": "TRF-2026-0042", "transfer_date": today}
    first = client.post(f"{page}/execute", data=form)
    second = client.post(f"{page}/execute", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"].endswith(page) and second.headers["Location"].endswith(page)
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.bank_reference) == ("executed", "TRF-2026-0042")
    assert events("payment", payment.id, "payment.executed") == 1
    assert ledger.balances(ctx["agreement"]).paid_directly == Decimal("100.00")
    html = html_of(client.get(page))
    assert "Esta operación ya se había registrado: no se repitió." in html
    assert 'data-testid="execute-form"' not in html

    # the same key with another body: nothing runs, the person is told why
    third = client.post(f"{page}/execute", data=dict(form, bank_reference="TRF-OTRA"))
    assert third.status_code == 303
    assert db.session.get(Payment, payment.id).bank_reference == "TRF-2026-0042"


def test_execute_needs_a_bank_reference_and_a_fresh_key_is_kept_after_an_error(client, ctx):
    payment = ph.authorized(ctx)
    login(client, ctx["treasury"])
    page = f"/payments/{payment.id}"
    key = key_of(html_of(client.get(page)), "execute-form")
    form = {"csrf_token": csrf_token(client, page), "idempotency_key": key, "bank_reference": "",
            "transfer_date": invoices.today().isoformat()}
    response = client.post(f"{page}/execute", data=form)
    assert response.status_code == 422
    html = html_of(response)
    assert field_errors(html, "bank_reference") and key_of(html, "execute-form") == key
    assert db.session.get(Payment, payment.id).status == "authorized"
    response = client.post(f"{page}/execute", data=dict(form, bank_reference="TRF-9"))
    assert response.status_code == 303 and db.session.get(Payment, payment.id).status == "executed"


def test_execute_without_a_key_is_refused_not_run(client, ctx):
    payment = ph.authorized(ctx)
    login(client, ctx["treasury"])
    page = f"/payments/{payment.id}"
    response = client.post(f"{page}/execute", data={"csrf_token": csrf_token(client, page), "bank_reference": "T-1",
                                                    "transfer_date": invoices.today().isoformat()})
    assert response.status_code == 400
    assert db.session.get(Payment, payment.id).status == "authorized"


def test_cancel_needs_a_reason_and_releases_the_money(client, ctx):
    payment = ph.prepared(ctx, [ph.line(1, "1", "80.00")])
    login(client, ctx["treasury2"])
    page = f"/payments/{payment.id}"
    token = csrf_token(client, page)
    response = client.post(f"{page}/cancel", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422 and "Indique el motivo de la cancelación." in field_errors(html_of(response),
                                                                                                   "reason")
    response = client.post(f"{page}/cancel", data={"csrf_token": token, "reason": "Cuenta equivocada"})
    assert response.status_code == 303
    assert db.session.get(Payment, payment.id).status == "cancelled"
    assert ledger.balances(ctx["agreement"]).committed == Decimal("0.00")


def test_the_treasury_queue_lists_payments_by_state_with_counts(client, ctx):
    prepared = ph.prepared(ctx)
    authorized = ph.authorized(ctx)
    login(client, ctx["treasury3"])
    html = html_of(client.get("/payments"))
    assert re.search(r'data-count="prepared">1<', html) and re.search(r'data-count="authorized">1<', html)
    assert f'data-payment="{prepared.id}"' in html and f'data-payment="{authorized.id}"' not in html
    html = html_of(client.get("/payments?state=authorized"))
    assert f'data-payment="{authorized.id}"' in html and f'data-payment="{prepared.id}"' not in html
    assert 'data-testid="nav-payments"' in html


def test_the_payment_order_pdf_names_the_supplier_and_the_amount(client, ctx):
    payment = ph.executed(ctx, [ph.line(1, "2", "50.00")], reference="TRF-PDF-1")
    login(client, ctx["treasury3"])
    response = client.get(f"/payments/{payment.id}/order.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Capacitaciones El Roble" in text and "100.00" in text and "TRF-PDF-1" in text


def test_the_ngo_sees_its_payment_without_treasury_forms(client, ctx):
    payment = ph.authorized(ctx)
    login(client, ctx["ngo"])
    html = html_of(client.get(f"/payments/{payment.id}"))
    assert 'data-state="authorized"' in html
    for form in ("authorize-form", "execute-form", "cancel-form"):
        assert f'data-testid="{form}"' not in html
    response = client.post(f"/payments/{payment.id}/execute", data={
        "csrf_token": csrf_token(client, f"/payments/{payment.id}"), "bank_reference": "X", "transfer_date": ""})
    assert response.status_code == 403


# --- advances and statements -------------------------------------------------------------------

@pytest.fixture
def actx(app):
    return ah.money_setup()


def test_advance_request_approval_preparation_and_disbursement_through_the_pages(client, actx):
    agreement = actx["agreement"]
    login(client, actx["ngo"])
    url = f"/agreements/{agreement.id}/advances/new"
    html = html_of(client.get(url))
    assert "Desembolso 1 · 15/02/2026 · $40,000.00" in html
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
                                                     "transfer_date": "2026-02-16"})
    assert response.status_code == 409
    assert refusal(html_of(response)) == "Quien preparó el desembolso no puede ejecutarlo (segregación de funciones)."

    login(client, actx["treasury2"])
    html = html_of(client.get(page))
    form = {"csrf_token": csrf_token(client, page), "idempotency_key": key_of(html, "disburse-form"),
            "bank_reference": "TRF-A1", "transfer_date": "2026-02-16"}
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


def test_a_refund_recorded_twice_with_the_same_key_counts_once(client, actx):
    advance = ah.disbursed(actx)
    login(client, actx["ngo"])
    page = f"/advances/{advance.id}"
    html = html_of(client.get(page))
    form = {"csrf_token": csrf_token(client, page), "idempotency_key": key_of(html, "refund-form"),
            "amount": "1,500.00", "bank_reference": "DEP-77", "refunded_on": "2026-03-01"}
    assert client.post(f"{page}/refunds", data=form).status_code == 303
    assert client.post(f"{page}/refunds", data=form).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
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

    bad = [ah.row(issue_date="2026-07-01"), ah.row(budget_line=9)]
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

def test_home_panels_count_the_money_work_waiting_for_each_role(client, ctx):
    ph.prepared(ctx)                              # prepared by treasury
    ph.authorized(ctx)
    invoice = ph.register(ctx)
    login(client, ctx["treasury2"])
    html = html_of(client.get("/"))
    counts = dict(re.findall(r'data-queue="(\w+)"><strong>(\d+)<', html))
    assert counts == {"payments_to_authorize": "1", "payments_to_execute": "1", "advances_to_prepare": "0",
                      "advances_to_disburse": "0"}
    login(client, ctx["treasury"])               # its own preparation is not its to authorize
    assert 'data-queue="payments_to_authorize"><strong>0<' in html_of(client.get("/"))
    login(client, ctx["administrator"])
    html = html_of(client.get("/"))
    assert 'data-count="invoices_to_certify">1<' in html and f'href="/invoices/{invoice.id}"' in html


def test_home_panels_for_financial_and_the_ngo(client, actx):
    requested = ah.requested(actx)
    login(client, actx["financial"])
    html = html_of(client.get("/"))
    assert 'data-count="advances_to_approve">1<' in html and f'href="/advances/{requested.id}"' in html
    ah.advances.approve_advance(ah.act(actx["financial"]), requested.id)
    ah.advances.prepare_disbursement(ah.act(actx["treasury"]), requested.id)
    ah.advances.disburse_advance(ah.act(actx["treasury2"]), requested.id, "TRF-H", ah.TRANSFER_DAY)
    db.session.commit()
    login(client, actx["ngo"])
    html = html_of(client.get("/"))
    assert 'data-testid="statements-due"' in html and "pendiente $40,000.00" in html
