"""An NGO registers an invoice by picking the people served (headless Chromium, demo data, both
backends): it searches the agreement's people active in the service period, ticks two, and the
invoice page names them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from grants import clock
from grants.extensions import db
from grants.models import Agreement
from tests import browser_support as support

pytestmark = pytest.mark.browser

browser, new_page = support.browser, support.new_page
demo_app, live_server = support.demo_app, support.live_server


def test_an_ngo_picks_served_people_on_an_invoice_and_the_invoice_shows_them(demo_app, live_server, new_page):
    with demo_app.app_context():
        agreement = db.session.query(Agreement).filter_by(number="MJSP-CONV-2026-0001").one()
        agreement_id = agreement.id
        end = min(clock.today(), agreement.end_date) - timedelta(days=1)   # a week already served
        start = end - timedelta(days=6)
        db.session.remove()
    page = new_page()
    support.log_in(page, live_server, "ngo2@fondos.example.org", demo_app.config["DEMO_PASSWORD"])
    page.goto(f"{live_server}/agreements/{agreement_id}/money")
    page.click("[data-testid=register-invoice]")
    page.select_option("select[name=supplier_id]",
                       label="Panadería y Eventos La Espiga, S.A. de C.V. · 0210-140395-102-0")
    page.fill("input[name=number]", "B-7781")
    page.fill("input[name=issue_date]", end.isoformat())
    page.fill("input[name=period_start]", start.isoformat())
    page.fill("input[name=period_end]", end.isoformat())
    page.select_option("select[name='lines-0-budget_line']", "1")
    page.fill("input[name='lines-0-description']", "Transporte por participante")
    page.fill("input[name='lines-0-unit_price']", "4.00")
    page.check("input[name='lines-0-per_beneficiary']")
    page.click("[data-testid=people-search]")

    rows = page.locator("[data-testid=served-list] tbody tr[data-enrollment]")
    expect(rows).to_have_count(20)   # the demo's 20 active people (one page); the two never activated are not offered
    names = [rows.nth(i).locator("label").inner_text() for i in (0, 3)]
    for i in (0, 3):
        rows.nth(i).locator("input[type=checkbox]").check()
    page.click("[data-testid=save-invoice]")

    expect(page.locator("h1")).to_contain_text("B-7781")
    served = page.locator("[data-testid=served-people] li")
    expect(served).to_have_count(2)
    for name in names:
        expect(page.locator("[data-testid=served-people]")).to_contain_text(name)
    expect(page.locator("[data-amount=invoiced]")).to_have_text("$8.00")
