"""Payment pages: the agreement's balances and budget chart, the invoice form and page
(eligibility preview, receipt certificate, void), treasury's queue and payment page
(maker-checker, idempotent execution, payment order PDF), and the home panels of that work."""
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import Invoice, Payment
from grants.services import invoices, ledger
from tests.agreement_helpers import agreement_in_execution
from tests.helpers import csrf_token, html_of, login, refusal
from tests.money import payment_helpers as ph
from tests.web import money_page_helpers as mh
from tests.web.money_page_helpers import events, field_errors, key_of
from tests.timeline import iso

invariants = mh.invariants  # autouse: the ledger's invariants hold after every test


@pytest.fixture
def ctx(app):
    return ph.payments_setup()


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
            "issue_date": iso("2026-04-02"), "period_start": iso("2026-03-01"), "period_end": iso("2026-03-31")}
    for i, line in enumerate(lines):
        for name, value in line.items():
            if value is not None:
                data[f"lines-{i}-{name}"] = value
    data.update(overrides)
    return data


def test_ngo_registers_an_invoice_with_rows_added_by_buttons_and_the_people_served_picked(client, ctx):
    agreement = ctx["agreement"]
    login(client, ctx["ngo"])
    assert 'data-testid="register-invoice"' in html_of(client.get(f"/agreements/{agreement.id}/money"))
    url = f"/agreements/{agreement.id}/invoices/new"
    token = csrf_token(client, url)
    first = {"budget_line": "1", "description": "Curso", "quantity": "", "unit_price": "120.00", "per_beneficiary": "y"}
    response = client.post(url, data={**invoice_form(token, ctx, lines=[first]), "add_line": "1"})
    assert response.status_code == 200 and html_of(response).count('data-testid="line-row"') == 2
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0

    response = client.post(url, data=invoice_form(token, ctx, number="", lines=[first]))
    html = html_of(response)
    assert response.status_code == 422
    assert "Línea 1: Indique las inscripciones de los beneficiarios atendidos" in field_errors(html, "served")
    assert "Este campo es obligatorio." in field_errors(html, "number")

    extra = {"budget_line": "2", "description": "Materiales", "quantity": "3", "unit_price": "10.50"}
    response = client.post(url, data={**invoice_form(token, ctx, lines=[first, extra]),
                                      "pick": str(ctx["people"]["active"].id)})
    assert response.status_code == 303
    invoice = db.session.scalars(select(Invoice)).one()
    assert response.headers["Location"].endswith(f"/invoices/{invoice.id}")
    assert (invoice.number, invoice.total, invoice.status) == ("F-100", Decimal("151.50"), "registered")
    assert [b.enrollment_id for b in invoice.lines[0].beneficiaries] == [ctx["people"]["active"].id]
    assert invoice.lines[1].beneficiaries == []
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
    response = client.post(f"{url}/receipt-certificate", data={"csrf_token": token, "received_on": iso("2026-04-03"),
                                                                "conforming": "no", "differences": ""})
    assert response.status_code == 422
    assert "Describa las diferencias" in field_errors(html_of(response), "differences")
    assert db.session.get(Invoice, invoice.id).status == "registered"
    response = client.post(f"{url}/receipt-certificate", data={"csrf_token": token, "received_on": iso("2026-04-03"),
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
                                                                "received_on": iso("2026-04-03"), "conforming": "yes"})
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
    response = client.post(f"{page}/authorize", data={"csrf_token": csrf_token(client, page), "confirm": "y"})
    assert response.status_code == 409
    assert refusal(html_of(response)) == "Quien preparó el pago no puede autorizarlo (segregación de funciones)."
    assert db.session.get(Payment, payment.id).status == "prepared"

    login(client, ctx["treasury2"])
    html = html_of(client.get(page))
    assert 'data-testid="authorize-form"' in html
    response = client.post(f"{page}/authorize", data={"csrf_token": csrf_token(client, page), "confirm": "y"})
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
    form = {"csrf_token": token, "idempotency_key": key, "bank_reference": "TRF-2026-0042", "transfer_date": today,
            "confirm": "y"}
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
            "transfer_date": invoices.today().isoformat(), "confirm": "y"}
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
                                                    "transfer_date": invoices.today().isoformat(), "confirm": "y"})
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
        "csrf_token": csrf_token(client, f"/payments/{payment.id}"), "bank_reference": "X", "transfer_date": "", "confirm": "y"})
    assert response.status_code == 403


# --- home panels -------------------------------------------------------------------------------

def test_home_panels_count_the_money_work_waiting_for_each_role(client, ctx):
    ph.prepared(ctx)                              # prepared by treasury
    ph.authorized(ctx)
    invoice = ph.register(ctx)
    login(client, ctx["treasury2"])
    html = html_of(client.get("/"))
    counts = dict(re.findall(r'data-queue="(\w+)"><strong>(\d+)<', html))
    assert counts == {"invoices_to_pay": "0", "payments_to_authorize": "1", "payments_to_execute": "1",
                      "advances_to_prepare": "0", "advances_to_disburse": "0", "refunds_to_confirm": "0"}
    login(client, ctx["treasury"])               # its own preparation is not its to authorize
    assert 'data-queue="payments_to_authorize"><strong>0<' in html_of(client.get("/"))
    login(client, ctx["administrator"])
    html = html_of(client.get("/"))
    assert 'data-count="invoices_to_certify">1<' in html and f'href="/invoices/{invoice.id}"' in html
