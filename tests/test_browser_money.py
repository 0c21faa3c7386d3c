"""A direct payment end to end in headless Chromium (Debian's, driven by Playwright), on both
backends: treasury prepares the payment of a certified invoice, a second treasury officer
authorizes it (the preparer is not offered the button), it is executed with its bank reference,
and the payment order PDF is downloaded and read."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from grants.extensions import db
from grants.models import Payment
from grants.services import ledger
from tests import browser_support as support
from tests.money import payment_helpers as ph

pytestmark = pytest.mark.browser

# the fixtures: Chromium and a page per browser context (tests/browser_support.py)
browser, new_page = support.browser, support.new_page
log_in = support.log_in


@pytest.fixture
def money_server(live_app):
    """A certified invoice (two beneficiaries billed, one not active: deducted) served over HTTP."""
    with live_app.app_context():
        ctx = ph.payments_setup()
        invoice = ph.certified(ctx, [ph.beneficiary_line(ctx, ["active", "never"])])
        data = {"invoice_id": invoice.id, "agreement": ctx["agreement"].number,
                **{role: ctx[role].email for role in ("treasury", "treasury2", "ngo")}}
        db.session.remove()
    with support.serve(live_app, "money-server") as base_url:
        yield base_url, data
    with live_app.app_context():
        problems = ledger.check_invariants()
        db.session.remove()
    assert problems == []



def test_treasury_prepares_another_authorizes_then_it_is_executed_and_the_order_downloaded(
        money_server, new_page, live_app):
    base, data = money_server
    invoice_url = f"{base}/invoices/{data['invoice_id']}"

    preparer = new_page()
    log_in(preparer, base, data["treasury"])
    preparer.goto(invoice_url)
    expect(preparer.locator("[data-amount=payable]")).to_have_text("$120.00")
    expect(preparer.locator("[data-testid=deductions] tbody tr")).to_have_count(1)
    preparer.click("[data-testid=prepare]")
    expect(preparer.locator("[data-testid=payment-state]")).to_have_text("Preparado")
    expect(preparer.locator("[data-testid=authorize-form]")).to_have_count(0)
    expect(preparer.locator("[data-testid=preparer-cannot-authorize]")).to_contain_text(
        "debe autorizarlo otra persona de tesorería")
    payment_url = preparer.url

    authorizer = new_page()
    log_in(authorizer, base, data["treasury2"])
    authorizer.goto(f"{base}/payments")
    authorizer.locator(f"a[href='{payment_url[len(base):]}']").click()
    authorizer.check("[data-testid=confirm-authorize_payment]")
    authorizer.click("[data-testid=authorize]")
    expect(authorizer.locator("[data-testid=payment-state]")).to_have_text("Autorizado")

    preparer.reload()
    preparer.fill("input[name=bank_reference]", "TRF-2026-000451")
    preparer.check("[data-testid=confirm-execute_payment]")
    preparer.click("[data-testid=execute]")
    expect(preparer.locator("[data-testid=payment-state]")).to_have_text("Ejecutado")
    expect(preparer.locator("[data-testid=transfer]")).to_contain_text("TRF-2026-000451")

    with preparer.expect_download() as download_info:
        preparer.click("[data-testid=order-pdf]")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.read())).pages)
    assert "Capacitaciones El Roble" in text
    assert data["agreement"] in text
    assert "120.00" in text and "TRF-2026-000451" in text

    with live_app.app_context():
        payment = db.session.scalars(db.select(Payment)).one()
        assert (payment.status, str(payment.amount), str(payment.deducted_amount)) == ("executed", "120.00", "120.00")
        assert payment.prepared_by.email == data["treasury"]
        assert [a.user.email for a in payment.authorizations] == [data["treasury2"]]
        db.session.remove()
