"""The closing decided by the three disciplines, end to end in headless Chromium (Debian's, driven by
Playwright), on both backends: the administrator proposes the final liquidation, legal, financial and
monitoring each find it in their queue and approve it on the page, the agreement shows «Liquidado»,
and the acta de liquidación final PDF is downloaded and carries the three names."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from grants.extensions import db
from grants.models import Agreement, FinalLiquidation
from grants.services import ledger
from tests import browser_support as support
from tests.closing import helpers as h
from tests.closing import timeline_closing as tc
from tests.pdfs import pdf_text

pytestmark = pytest.mark.browser

# the fixtures: Chromium and a page per browser context (tests/browser_support.py)
browser, new_page = support.browser, support.new_page
log_in = support.log_in
DISCIPLINES = ("legal", "financial", "monitoring")


@pytest.fixture
def closing_server(live_app):
    """An agreement in closing (a direct payment, an advance accounted for) served over HTTP."""
    with live_app.app_context():
        ctx = h.setup(beneficiaries=False)
        h.pay(ctx, "480.20")
        tc.liquidated_advance(ctx, 1, accepted=("25000.00",))
        h.to_closing(ctx)
        data = {"agreement_id": ctx["agreement"].id, "number": ctx["agreement"].number,
                **{role: (ctx[role].email, ctx[role].full_name) for role in ("administrator", *DISCIPLINES)}}
        db.session.remove()
    with support.serve(live_app, "closing-server") as base_url:
        yield base_url, data
    with live_app.app_context():
        problems = ledger.check_invariants()
        db.session.remove()
    assert problems == []



def test_the_administrator_proposes_and_the_three_disciplines_approve_in_the_browser(
        closing_server, new_page, live_app):
    base, data = closing_server
    url = f"{base}/agreements/{data['agreement_id']}/final-liquidation"

    admin = new_page()
    log_in(admin, base, data["administrator"][0])
    admin.goto(url)
    expect(admin.locator("[data-testid=ready]")).to_be_visible()
    admin.check("input[name=verdict][value=cumple_parcialmente]")
    admin.fill("textarea[name=reasoning]", "Ejecutó el plan; el anticipo se liquidó con comprobantes y reintegro.")
    admin.click("[data-testid=prepare]")
    expect(admin.locator("[data-testid=liquidation-state]")).to_have_text("Propuesta, por aprobar")
    expect(admin.locator("[data-decision=pending]")).to_have_count(3)
    expect(admin.locator("[data-testid=agreement-state]")).to_have_text("En cierre")
    expect(admin.locator("[data-testid^=signoff-form-]")).to_have_count(0)  # the preparer never signs

    for n, discipline in enumerate(DISCIPLINES, start=1):
        reviewer = new_page()
        log_in(reviewer, base, data[discipline][0])
        queue = reviewer.locator(f"[data-testid=liquidations-to-sign-{discipline}]")
        queue.get_by_role("link", name=f"{data['number']} · revisión 1").click()
        expect(reviewer).to_have_url(url)
        expect(reviewer.locator("[data-testid^=signoff-form-]")).to_have_count(1)
        form = reviewer.locator(f"[data-testid=signoff-form-{discipline}]")
        form.locator("input[value=approve]").check()
        form.locator(f"[data-testid=confirm-sign_off-{discipline}]").check()
        form.locator(f"[data-testid=sign-off-{discipline}]").click()
        expect(reviewer.locator(f"tr[data-discipline={discipline}]")).to_have_attribute("data-decision", "approve")
        expect(reviewer.locator(f"tr[data-discipline={discipline}] [data-testid=signer]")).to_have_text(
            data[discipline][1])
        expect(reviewer.locator("[data-testid=agreement-state]")).to_have_text(
            "Liquidado" if n == len(DISCIPLINES) else "En cierre")

    expect(reviewer.locator("[data-testid=liquidation-state]")).to_have_text("Aprobada por las tres disciplinas")
    with reviewer.expect_download() as download:
        reviewer.click("[data-testid=acta-pdf]")
    text = pdf_text(open(download.value.path(), "rb").read())
    assert "ACTA DE LIQUIDACIÓN FINAL" in text and data["number"] in text and "NO APROBADA" not in text
    for discipline in DISCIPLINES:
        assert data[discipline][1] in text, discipline
    assert "Cumple parcialmente" in text and "$480.20" in text

    admin.reload()
    expect(admin.locator("[data-testid=agreement-state]")).to_have_text("Liquidado")
    with live_app.app_context():
        liquidation = db.session.query(FinalLiquidation).one()
        assert (liquidation.status, [s.discipline for s in liquidation.signoffs]) == ("approved", list(DISCIPLINES))
        assert db.session.get(Agreement, data["agreement_id"]).status == "liquidated"
        db.session.remove()
