"""Closing pages: the final liquidation page (blockers, figures, the administrator's form, the
proposal and its sign-offs; the reviewers' decision forms and queue are in
test_final_liquidation_signoffs.py) and the report to the legislature (year, downloads, send with
confirmation)."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from grants.extensions import db
from grants.models import Agreement, LegislatureReport
from grants.services import ledger
from tests.closing import helpers as h
from tests.closing import timeline_closing as tc
from tests.timeline import year
from tests.helpers import built_file, csrf_token, html_of, login


Y = year()  # the reference plan's fiscal year (2026 on the reference calendar)


@pytest.fixture(autouse=True)
def invariants(app):
    yield
    assert ledger.check_invariants() == []


@pytest.fixture
def ctx(app):
    ctx = h.setup(beneficiaries=False)
    h.pay(ctx, "480.20")
    return ctx


def page(ctx) -> str:
    return f"/agreements/{ctx['agreement'].id}/final-liquidation"


def test_the_page_lists_blockers_and_offers_the_form_only_when_ready(client, ctx):
    advance = tc.disbursed(ctx, 1)
    h.to_closing(ctx)
    login(client, ctx["administrator"])
    html = html_of(client.get(page(ctx)))
    assert 'data-code="advance_not_liquidated"' in html
    assert 'data-testid="liquidation-form"' not in html and 'data-testid="not-ready"' in html
    assert re.search(r'data-figure="paid_directly"><th>[^<]+</th><td class="num">\$480\.20<', html)
    tc.account_for(ctx, advance, accepted=("12000.00",))
    html = html_of(client.get(page(ctx)))
    assert 'data-testid="ready"' in html and 'data-testid="liquidation-form"' in html
    login(client, ctx["auditor"])  # others see the figures, never the form
    html = html_of(client.get(page(ctx)))
    assert 'data-testid="ready"' in html and 'data-testid="liquidation-form"' not in html


def test_the_administrator_proposes_the_verdict_and_the_agreement_waits_for_the_disciplines(client, ctx):
    h.to_closing(ctx)
    login(client, ctx["administrator"])
    token = csrf_token(client, page(ctx))
    missing = client.post(page(ctx), data={"csrf_token": token, "verdict": "cumple", "reasoning": ""})
    assert missing.status_code == 422 and "fundamentación es obligatoria" in html_of(missing)
    response = client.post(page(ctx), data={"csrf_token": token, "verdict": "no_cumple",
                                            "reasoning": "No presentó los informes de seguimiento."})
    assert response.status_code == 303
    html = html_of(client.get(page(ctx)))
    assert 'data-verdict="no_cumple"' in html and "No presentó los informes de seguimiento." in html
    assert 'data-testid="proposal" data-status="proposed" data-revision="1"' in html
    assert html.count('data-decision="pending"') == 3 and 'data-testid="liquidation-form"' not in html
    assert 'data-testid="acta-pdf"' in html
    assert db.session.get(Agreement, ctx["agreement"].id).status == "closing"


def test_a_refusal_is_shown_on_the_page(client, ctx):
    tc.disbursed(ctx, 1)
    h.to_closing(ctx)
    login(client, ctx["administrator"])
    response = client.post(page(ctx), data={"csrf_token": csrf_token(client, page(ctx)), "verdict": "cumple",
                                            "reasoning": "Todo bien."})
    assert response.status_code == 409 and "Hay anticipos sin liquidar" in html_of(response)


def test_legislature_page_downloads_and_sends_with_confirmation(client, ctx):
    h.to_closing(ctx)
    h.liquidate(ctx)
    login(client, ctx["auditor"])
    html = html_of(client.get(f"/legislature-reports?year={Y}"))
    assert f'<option value="{Y}" selected>' in html and ctx["agreement"].number in html
    assert re.search(r'data-total="paid_directly">\$480\.20<', html)
    pdf = built_file(client, f"/legislature-reports/{Y}.pdf")
    assert pdf.status_code == 200 and f"Ejercicio fiscal {Y}" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    xlsx = built_file(client, f"/legislature-reports/{Y}.xlsx")
    assert load_workbook(io.BytesIO(xlsx.data))["Resumen"]["A4"].value == "Decreto"
    assert client.get(f"/legislature-reports/{Y}.json").get_json()["totals"]["paid_directly"] == "480.20"
    token = csrf_token(client, f"/legislature-reports?year={Y}")
    unconfirmed = client.post(f"/legislature-reports/{Y}/send", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Marque la confirmación" in html_of(unconfirmed)
    assert db.session.scalar(select(LegislatureReport.id)) is None
    sent = client.post(f"/legislature-reports/{Y}/send", data={"csrf_token": token, "confirm": "y"})
    assert sent.status_code == 303
    html = html_of(client.get(f"/legislature-reports?year={Y}"))
    assert 'data-testid="sent"' in html and 'data-testid="send-form"' not in html
    assert db.session.get(Agreement, ctx["agreement"].id).status == "reported"


def test_legislature_pages_are_for_auditors_and_admins(client, ctx):
    for user in (ctx["ngo"], ctx["administrator"]):
        login(client, user)
        assert client.get("/legislature-reports").status_code == 403
        assert client.get(f"/legislature-reports/{Y}.pdf").status_code == 403
