"""«Mi trabajo» in headless Chromium on the demo data (both backends): treasury finds a certified
invoice in its queue and pays it from the queues alone — one officer prepares it, a second one
finds the payment in their list of payments to authorize and authorizes it (ticking the
confirmation), the first executes it from their list of payments to execute — and never opens
the inbox; once paid, it is in nobody's queue."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.audit import Actor
from grants.demo import demo_accounts
from grants.extensions import db
from grants.models import Invoice, Payment, User
from grants.services import invoices, ledger
from tests import browser_support as support

pytestmark = pytest.mark.browser

browser, new_page = support.browser, support.new_page
demo_app, live_server = support.demo_app, support.live_server


def log_in(page, base: str, email: str) -> None:
    support.log_in(page, base, email, password=DEMO_PASSWORD)


TREASURY, TREASURY2 = "treasury@fondos.example.org", "treasury2@fondos.example.org"
DEMO_PASSWORD = "demo-2026"  # the demo accounts' (config DEMO_PASSWORD in tests)


@pytest.fixture(scope="module")
def certified_invoice(demo_app):
    """A new invoice on the demo's paid-directly agreement, certified by its administrator (like the
    demo's own second month, over the same period): waiting for treasury to prepare its payment."""
    with demo_app.app_context():
        model = db.session.scalars(select(Invoice).where(Invoice.number == "A-0422")).one()
        ngo2, administrator = (db.session.scalars(select(User).where(User.email == f"{who}@fondos.example.org")).one()
                               for who in ("ngo2", "administrator"))
        invoice = invoices.register_invoice(Actor.for_user(ngo2), model.agreement_id, {
            "supplier_id": model.supplier_id, "number": "A-0999", "issue_date": model.issue_date.isoformat(),
            "period_start": model.period_start.isoformat(), "period_end": model.period_end.isoformat(),
            "lines": [{"budget_line": 4, "description": "Transporte de los facilitadores", "quantity": "1",
                       "unit_price": "35.00"}]})
        invoices.certify_receipt(Actor.for_user(administrator), invoice.id, {
            "received_on": model.certificate.received_on.isoformat(), "conforming": True, "differences": None})
        db.session.commit()
        found = {"id": invoice.id, "agreement": model.agreement.number}
        db.session.remove()
    return found


def open_from_queue(page, base: str, queue: str, href: str) -> None:
    """Mi trabajo (from the navigation) → the item's link in the list ``queue``."""
    page.goto(f"{base}/")
    page.click("[data-testid=work-link]")
    expect(page).to_have_url(f"{base}/trabajo")
    page.locator(f"section[data-queue={queue}] a[href='{href}']").click()
    expect(page).to_have_url(f"{base}{href}")


def test_treasury_pays_a_certified_invoice_from_its_queues_without_the_inbox(
        live_server, demo_app, new_page, certified_invoice):
    base, invoice_href = live_server, f"/invoices/{certified_invoice['id']}"
    visited: list[str] = []
    preparer, authorizer = new_page(), new_page()
    for page in (preparer, authorizer):
        page.on("request", lambda request: visited.append(request.url))

    log_in(preparer, base, TREASURY)
    expect(preparer.locator("[data-testid=money-treasury] [data-queue=invoices_to_pay] strong")).not_to_have_text("0")
    open_from_queue(preparer, base, "invoices_to_pay", invoice_href)
    preparer.click("[data-testid=prepare]")
    expect(preparer.locator("[data-testid=payment-state]")).to_have_text("Preparado")
    payment_href = preparer.url[len(base):]
    preparer.goto(f"{base}/trabajo")
    expect(preparer.locator(f"section[data-queue=invoices_to_pay] a[href='{invoice_href}']")).to_have_count(0)
    # segregation of duties: the preparer's own payment is not in their list to authorize
    expect(preparer.locator(f"section[data-queue=payments_to_authorize] a[href='{payment_href}']")).to_have_count(0)

    log_in(authorizer, base, TREASURY2)
    open_from_queue(authorizer, base, "payments_to_authorize", payment_href)
    authorizer.check("[data-testid=confirm-authorize_payment]")
    authorizer.click("[data-testid=authorize]")
    expect(authorizer.locator("[data-testid=payment-state]")).to_have_text("Autorizado")

    open_from_queue(preparer, base, "payments_to_execute", payment_href)
    preparer.fill("input[name=bank_reference]", "BCR-TRF-QUEUE-0001")
    preparer.check("[data-testid=confirm-execute_payment]")
    preparer.click("[data-testid=execute]")
    expect(preparer.locator("[data-testid=payment-state]")).to_have_text("Ejecutado")

    for page in (preparer, authorizer):
        page.goto(f"{base}/trabajo")
        expect(page.locator(f"tr[data-item='{payment_href}'], tr[data-item='{invoice_href}']")).to_have_count(0)
    assert not [url for url in visited if "/inbox" in url]
    with demo_app.app_context():
        payment = db.session.scalars(select(Payment).where(Payment.invoice_id == certified_invoice["id"])).one()
        assert (payment.status, payment.bank_reference, payment.prepared_by.email, payment.executed_by.email) == (
            "executed", "BCR-TRF-QUEUE-0001", TREASURY, TREASURY)
        assert [a.user.email for a in payment.authorizations] == [TREASURY2]
        assert ledger.check_invariants() == []
        db.session.remove()


EXPECTED = {  # a list each demo account has on «Mi trabajo» (with or without items)
    "treasury": "payments_to_authorize", "treasury2": "payments_to_authorize", "legal": "reviews_legal",
    "financial": "advances_to_approve", "monitoring": "lists_to_validate", "administrator": "invoices_to_certify",
    "auditor": "findings_to_decide", "ngo1": "plans_returned", "ngo2": "statements_due", "ngo3": "incidents_to_answer",
    "admin": "commitments_due",
}


@pytest.mark.parametrize(("email", "roles"), demo_accounts(), ids=[e.split("@")[0] for e, _ in demo_accounts()])
def test_each_demo_account_opens_its_work_from_the_navigation(live_server, new_page, email, roles):
    page = new_page()
    log_in(page, live_server, email)
    page.click("[data-testid=work-link]")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mi trabajo")
    expect(page.locator(f"section[data-queue={EXPECTED[email.split('@')[0]]}]")).to_have_count(1)
    # the demo's April payment waits for the second officer, never for treasury, who prepared it
    april = page.locator("section[data-queue=payments_to_authorize] tr[data-item^='/payments/']")
    if email.startswith("treasury2"):
        expect(april).to_have_count(1)
    elif email.startswith("treasury"):
        expect(april).to_have_count(0)
