"""The dashboard and the transparency portal in headless Chromium (Debian's, driven by Playwright), on
the demo data and both backends: a reviewer opens the dashboard for the demo's fiscal year and reads
totals equal to the ledger's (agreement by agreement, summed); a stranger opens /transparencia
without logging in, sees the year, its charts and the open-data link, and no DUI-shaped string."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.extensions import db
from grants.models import Agreement, Allocation, Beneficiary
from grants.services import ledger
from tests import browser_support as support
from tests.helpers import demo_fiscal_year

pytestmark = pytest.mark.browser

# the fixtures: Chromium, a page per browser context, the demo served over HTTP (tests/browser_support.py)
browser, new_page, demo_app, live_server = support.browser, support.new_page, support.demo_app, support.live_server
DUI_SHAPED = re.compile(r"\d{8}-\d")
DEMO_PASSWORD = "demo-2026"  # the demo accounts' (README)


def money(text: str) -> Decimal:
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def ledger_totals(app, year: int) -> dict[str, Decimal]:
    """The year's assigned and executed, read from the ledger one agreement at a time."""
    with app.app_context():
        agreements = db.session.scalars(select(Agreement).join(Allocation, Allocation.id == Agreement.allocation_id)
                                        .where(Allocation.fiscal_year == year)).all()
        balances = [ledger.balances(a) for a in agreements]
        totals = {"assigned": sum((b.assigned for b in balances), Decimal(0)),
                  "executed": sum((b.executed for b in balances), Decimal(0))}
        db.session.remove()
    return totals


def test_a_reviewer_reads_the_ledgers_totals_on_the_dashboard(live_server, demo_app, new_page):
    year = demo_fiscal_year()
    expected = ledger_totals(demo_app, year)
    assert expected["executed"] > 0  # the demo has money moved: the comparison means something
    page = new_page()
    support.log_in(page, live_server, "financial@fondos.example.org", DEMO_PASSWORD)
    page.click("[data-testid=nav-dashboard]")
    page.select_option("select#year", str(year))
    page.get_by_role("button", name="Ver").click()
    expect(page.locator("h1")).to_have_text("Tablero del ministerio")
    totals = page.locator("[data-testid=execution-totals]")
    assigned = money(totals.locator("[data-total=assigned]").inner_text())
    executed = money(totals.locator("[data-total=executed]").inner_text())
    not_executed = money(totals.locator("[data-total=not_executed]").inner_text())
    assert (assigned, executed) == (expected["assigned"], expected["executed"])
    assert not_executed == assigned - executed
    # each NGO's row adds up to the total, and the charts are drawn (no script on the page)
    rows = page.locator("[data-testid=by-ngo] tbody tr")
    assert sum(money(rows.nth(i).locator("[data-figure=executed]").inner_text())
               for i in range(rows.count())) == executed
    expect(page.locator("svg.chart[role=img]").first).to_be_visible()
    assert page.locator("script").count() == 0


def test_an_ngo_user_is_refused_the_dashboard(live_server, new_page):
    page = new_page()
    support.log_in(page, live_server, "ngo1@fondos.example.org", DEMO_PASSWORD)
    expect(page.locator("[data-testid=nav-dashboard]")).to_have_count(0)
    response = page.goto(f"{live_server}/tablero")
    assert response.status == 403


def test_a_stranger_opens_the_portal_without_logging_in(live_server, demo_app, new_page):
    year = demo_fiscal_year()
    page = new_page()
    page.goto(f"{live_server}/transparencia")
    expect(page).to_have_url(f"{live_server}/transparencia/{year}")
    expect(page.locator("h1")).to_have_text("Portal de transparencia")
    expect(page.locator("[data-testid=summary]")).to_have_attribute("data-year", str(year))
    expect(page.locator("svg.chart[role=img]").first).to_be_visible()
    expected = ledger_totals(demo_app, year)
    assert money(page.locator("[data-testid=execution-totals] [data-total=executed]").inner_text()) == \
        expected["executed"]
    text = page.content()
    assert DUI_SHAPED.search(text) is None
    with demo_app.app_context():
        names = db.session.execute(select(Beneficiary.first_names, Beneficiary.last_names)).all()
        db.session.remove()
    assert names and all(f"{first} {last}" not in text and last not in text for first, last in names)
    ocds = page.request.get(f"{live_server}{page.locator('[data-testid=ocds-link]').get_attribute('href')}")
    assert ocds.status == 200 and DUI_SHAPED.search(ocds.text()) is None
