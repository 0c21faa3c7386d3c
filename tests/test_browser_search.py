"""Search and export in headless Chromium, on both backends: monitoring searches an agreement's
people by DUI, sees the one person with the document masked (the search is in the audit log),
then downloads the registry export, built by a job, with the documents masked."""
from __future__ import annotations

import csv
import hashlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent
from tests import browser_support as support
from tests.money import payment_helpers as ph

browser, new_page = support.browser, support.new_page
log_in = support.log_in

pytestmark = pytest.mark.browser


def _people() -> dict:
    ctx = ph.payments_setup(beneficiaries=False)
    people = ph.enroll(ctx, ["berta", "carla", "dora"])
    return {"monitoring": ctx["monitoring"].email, "agreement_id": ctx["agreement"].id,
            "dui": people["carla"].beneficiary.document_number}


@pytest.fixture
def search_server(live_app):
    with support.serve_prepared(live_app, "search-server", _people) as served:
        yield served


def test_monitoring_searches_by_dui_sees_it_masked_and_downloads_the_registry(search_server, new_page, live_app):
    base, data = search_server
    dui = data["dui"]
    page = new_page()
    log_in(page, base, data["monitoring"])
    page.goto(f"{base}/agreements/{data['agreement_id']}/beneficiaries")
    expect(page.locator("[data-testid=enrollments] [data-testid=enrollment-row]")).to_have_count(3)
    page.fill("[data-testid=search-dui]", dui)
    page.click("[data-testid=dui-search] button[type=submit]")
    rows = page.locator("[data-testid=enrollments] [data-testid=enrollment-row]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Carla")
    expect(rows.first).to_contain_text(dui[-3:])
    assert dui not in page.content()
    with live_app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.searched")).all()
        assert [e.after["document_sha256"] for e in events] == [hashlib.sha256(dui.encode()).hexdigest()]
        db.session.remove()

    page.goto(f"{base}/agreements/{data['agreement_id']}/beneficiaries?q=carla")
    page.click("[data-testid=exports] [data-testid=export-csv]")
    expect(page.locator("[data-testid=file]")).to_have_attribute("data-status", "ready", timeout=30000)
    with page.expect_download() as download:
        page.click("[data-testid=file-download]")
    with open(download.value.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 2 and rows[1][1] == "Carla"
    assert rows[1][3] != dui and rows[1][3].endswith(dui[-3:])
