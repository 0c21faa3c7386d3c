"""Search and exports of issue 14 on the findings list and the organizations (the pieces of
``grants.web.search``): the findings' text search (agreement number, NGO name, words of the
summary) kept by the pager and by the XLSX/PDF exports, which hold the page's rows; an unknown
state is a message, never an error; the organizations' export has the page's filters and only
what its reader may see; the streamed XLSX formats amounts and days like the held one."""
from __future__ import annotations

import re
import subprocess
from datetime import date
from decimal import Decimal
from functools import partial
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditFinding
from grants.reports.table_export import table_file, table_xlsx
from tests.audit import rule_helpers as rh
from tests.factories import make_user
from tests.helpers import csrf_token, html_of, login
from tests.timeline import day
from tests.web.test_search_pages import csv_rows, rows_of


def _findings(app):
    """Two NGOs, each with an overdue advance; the checks run once: a finding per agreement."""
    first = rh.payments_ctx(beneficiaries=False, legal_name="Asociación Ceiba del Norte")
    second = rh.payments_ctx(beneficiaries=False, legal_name="Fundación Maquilishuat")
    for ctx in (first, second):
        rh.disbursed_advance(ctx)
    client = app.test_client()
    login(client, rh.auditor())
    client.post("/audit/checks", data={"csrf_token": csrf_token(client, "/audit/checks")})
    return client, first, second


def _page_ids(html: str) -> list[str]:
    return re.findall(r'data-finding="(\d+)"', html)


def _xlsx_ids(client, html: str) -> list[str]:
    link = re.search(r'href="([^"]+)" data-testid="export-xlsx"', html).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data))["Hallazgos"]
    ids = []
    for (value,) in sheet.iter_rows(min_row=3, max_col=1, values_only=True):
        if value is None:
            break
        ids.append(str(value))
    return ids


def _pdf_text(client, html: str) -> str:
    link = re.search(r'href="([^"]+)" data-testid="export-pdf"', html).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode()


def test_findings_by_agreement_ngo_or_summary_words_with_the_exports_holding_the_page_rows(app):
    client, first, second = _findings(app)
    overdue = db.session.scalars(select(AuditFinding).where(AuditFinding.rule_code == "advance_overdue")).all()
    assert len(overdue) == 2
    mine = next(f for f in overdue if f.agreement_id == first["agreement"].id)
    number, other_number = first["agreement"].number, second["agreement"].number
    searches = {number: [mine.id], "ceiba norte": [mine.id], "MAQUILISHUAT": None, "zzz-nada": []}
    word = max(mine.summary.split(), key=len).strip(".,:;()«»")
    for q, expected in searches.items():
        html = html_of(client.get("/audit/findings", query_string={"q": q, "rule_code": "advance_overdue"}))
        ids = _page_ids(html)
        if expected is not None:
            assert ids == [str(i) for i in expected], q
        else:
            assert ids == [str(next(f.id for f in overdue if f.id != mine.id))], q
        assert _xlsx_ids(client, html) == ids, q
        assert f'value="{q}"' in html
    # words of the summary (with the other filters: the state, as the page has it)
    html = html_of(client.get("/audit/findings", query_string={"q": f"{word} {number}", "status": "open"}))
    assert _page_ids(html) == [str(mine.id)] and _xlsx_ids(client, html) == [str(mine.id)]
    text = _pdf_text(client, html)
    assert number in text and other_number not in text
    html = html_of(client.get("/audit/findings", query_string={"q": "prueba zzz"}))
    assert _page_ids(html) == [] and 'data-testid="no-findings"' in html


def test_findings_search_is_kept_by_the_pager(app, monkeypatch):
    client, first, second = _findings(app)
    import grants.web.audit_checks as pages
    from grants.web.paging import page_of

    monkeypatch.setattr(pages, "page_of", partial(page_of, size=1))  # a page of one finding
    overdue = db.session.scalars(select(AuditFinding).where(AuditFinding.rule_code == "advance_overdue")).all()
    common = (set(overdue[0].summary.split()) & set(overdue[1].summary.split())) - {"", "-"}
    q = max(common, key=len)
    html = html_of(client.get("/audit/findings", query_string={"q": q, "rule_code": "advance_overdue"}))
    links = [a.replace("&amp;", "&") for a in re.findall(r'href="(/audit/findings\?[^"]*page=2[^"]*)"', html)]
    assert links and len(_page_ids(html)) == 1
    second_page = html_of(client.get(links[0]))
    assert len(_page_ids(second_page)) == 1 and _page_ids(second_page) != _page_ids(html)
    assert f'value="{q}"' in second_page


def test_an_unknown_finding_state_is_a_message_not_an_error(app):
    client, first, second = _findings(app)
    for state in ("bogus", "OPEN", "'; drop table x"):
        response = client.get("/audit/findings", query_string={"status": state})
        assert response.status_code == 200, state
        html = html_of(response)
        assert "Estado desconocido: se muestran todos los estados." in html
        assert len(_page_ids(html)) == db.session.query(AuditFinding).count() or 'class="pager' in html
        assert client.get("/audit/findings.xlsx", query_string={"status": state}).status_code == 200


# --- organizations ------------------------------------------------------------------------------

def test_the_organizations_export_has_the_page_filters_and_the_readers_scope(app):
    first = rh.payments_ctx(beneficiaries=False, legal_name="=HYPERLINK(1) Asociación Uno")
    second = rh.payments_ctx(beneficiaries=False, legal_name="Fundación Dos de Prueba")
    admin = app.test_client()
    login(admin, make_user(["admin"]))
    html = html_of(admin.get("/admin/organizations?q=dos"))
    page = rows_of(html, "organizations")
    assert [r[0] for r in page] == ["Fundación Dos de Prueba"]
    assert "/exports/organizations.csv?q=dos" in html and "/exports/organizations.xlsx?q=dos" in html
    rows = csv_rows(admin.get("/exports/organizations.csv?q=dos"))
    assert [r[:2] for r in rows[1:]] == [r[:2] for r in page]
    nit = second["organization"].nit
    sheet = load_workbook(BytesIO(admin.get(f"/exports/organizations.xlsx?q={nit}").data)).active
    assert [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [("Fundación Dos de Prueba", nit)]
    everyone = csv_rows(admin.get("/exports/organizations.csv"))
    assert "'=HYPERLINK(1) Asociación Uno" in [r[0] for r in everyone[1:]]
    # an NGO exports only its own organization, whatever it types
    ngo = app.test_client()
    login(ngo, second["ngo"])
    assert [r[0] for r in csv_rows(ngo.get("/exports/organizations.csv"))[1:]] == ["Fundación Dos de Prueba"]
    assert csv_rows(ngo.get("/exports/organizations.csv?q=uno"))[1:] == []
    assert app.test_client().get("/exports/organizations.csv").status_code in (302, 401)  # signed in only
    assert first["organization"].id != second["organization"].id


# --- the streamed XLSX ----------------------------------------------------------------------------

def test_the_streamed_xlsx_formats_amounts_and_days_like_the_held_one():
    headers = ["Convenio", "Monto", "Inicio"]
    rows = [["C-1", Decimal("2500.50"), day("2026-03-01")], ["C-2", Decimal("10"), day("2026-04-01")]]
    path = table_file("xlsx", "Convenios", headers, iter(rows))
    try:
        streamed = load_workbook(path).active
    finally:
        path.unlink()
    held = load_workbook(BytesIO(table_xlsx("Convenios", headers, rows))).active
    for sheet in (streamed, held):
        amount, start = sheet.cell(2, 2), sheet.cell(2, 3)
        assert Decimal(str(amount.value)) == Decimal("2500.50") and "$" in amount.number_format
        assert start.is_date and start.value.date() == rows[0][2] and start.number_format == "dd/mm/yyyy"
        assert sheet.cell(1, 2).number_format == "General"
    assert streamed.cell(3, 2).number_format == held.cell(3, 2).number_format
    assert isinstance(rows[0][2], date)
