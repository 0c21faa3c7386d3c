"""Internal audit end to end in headless Chromium (Debian's, driven by Playwright), on both
backends: an auditor runs the liquidation checks, opens a finding (an advance overdue), marks it
justified with a note, and the page shows it justified."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from grants.audit.rules import RULES
from grants.extensions import db
from grants.models import AuditFinding
from tests import browser_support as support
from tests.audit import rule_helpers as rh

# the fixtures: Chromium and a page per browser context (tests/browser_support.py)
browser, new_page = support.browser, support.new_page
log_in = support.log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def audit_server(live_app):
    """An agreement whose first advance is overdue, served over HTTP, and an auditor."""
    with live_app.app_context():
        ctx = rh.payments_ctx(beneficiaries=False)
        rh.disbursed_advance(ctx)
        data = {"auditor": rh.auditor().email, "agreement": ctx["agreement"].number}
        db.session.remove()
    with support.serve(live_app, "audit-server") as base_url:
        yield base_url, data


def test_an_auditor_runs_checks_opens_a_finding_and_marks_it_justified(audit_server, new_page, live_app):
    base, data = audit_server
    page = new_page()
    log_in(page, base, data["auditor"])
    page.goto(f"{base}/audit/checks")
    expect(page.locator("[data-testid=rule-catalogue] tbody tr")).to_have_count(len(RULES))
    page.select_option("select[name=agreement_id]", label=data["agreement"])
    page.click("[data-testid=run-checks]")
    # The run goes to a job; its page refreshes itself until the run is over, then links to its findings.
    expect(page.locator("[data-testid=run-state]")).to_have_text("Terminada", timeout=30000)
    expect(page.locator("[data-testid=run-scope]")).to_have_text(data["agreement"])
    page.click("[data-testid=run-findings]")
    expect(page.locator("[data-testid=run-filter]")).to_be_visible()

    row = page.locator("[data-testid=findings] tr[data-rule=advance_overdue]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("$40,000.00")
    row.locator("[data-testid=finding-link]").click()
    expect(page.locator("[data-testid=finding-state]")).to_have_text("Abierto")
    expect(page.locator("[data-testid=evidence] tr[data-key=outstanding]")).to_contain_text("$40,000.00")

    page.select_option("select[name=status]", "justified")
    page.fill("textarea[name=note]", "Prórroga autorizada por nota MJSP-12")
    page.click("[data-testid=decide]")
    expect(page.locator("[data-testid=finding-state]")).to_have_text("Justificado")
    expect(page.locator("[data-testid=note]")).to_contain_text("Prórroga autorizada por nota MJSP-12")

    page.goto(f"{base}/audit/findings?status=justified")
    expect(page.locator("[data-testid=findings] tr[data-rule=advance_overdue] [data-testid=finding-state]")
           ).to_have_text("Justificado")
    with live_app.app_context():
        finding = db.session.scalars(db.select(AuditFinding).where(AuditFinding.rule_code == "advance_overdue")).one()
        assert (finding.status, finding.note) == ("justified", "Prórroga autorizada por nota MJSP-12")
        db.session.remove()
