"""The public transparency portal (/transparencia): no login, one fiscal year per page, the same money
as the ledger, the report's files only once sent to the Assembly, and no personal data of anyone
served — no DUI-shaped string and no beneficiary's name on any page or in the open-data file."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from grants.audit import Actor
from grants.extensions import db
from grants.models import Beneficiary
from grants.services import ledger, legislature
from tests.closing import helpers as h
from tests.factories import make_allocation, make_organization, valid_dui
from tests.helpers import html_of
from tests.money import payment_helpers as ph
from tests.timeline import year

D = Decimal
DUI_SHAPED = re.compile(r"\d{8}-\d")


@pytest.fixture
def ctx(app):
    ctx = h.setup()  # five enrolled people with DUIs, names and birth dates
    h.pay(ctx, "1234.56")
    # a supplier who is a natural person, identified by a DUI, paid directly
    person = ph.validated_supplier(ctx, tax_id=valid_dui(4242), legal_name="Marta Lidia Quintanilla")
    ph.executed(ctx, [ph.line(2, unit_price="300.00")], reference="TRF-DUI", supplier_id=person.id)
    ctx["person_supplier"] = person
    ctx["last_year_org"] = make_organization(legal_name="Asociación del Año Pasado")
    make_allocation(ctx["last_year_org"], fiscal_year=year() - 1, decree_number="D.L. N.º 9001")
    return ctx


def portal_pages(client) -> dict[str, str]:
    """Every page of the portal, and the open-data file of each year, as a stranger reads them."""
    first = client.get("/transparencia")
    assert first.status_code == 302
    pages = {"/transparencia": html_of(client.get(first.headers["Location"]))}
    for y in (year(), year() - 1):
        page = client.get(f"/transparencia/{y}")
        assert page.status_code == 200
        pages[f"/transparencia/{y}"] = html_of(page)
        data = client.get(f"/api/v1/open-data/{y}.json")
        assert data.status_code == 200
        pages[f"/api/v1/open-data/{y}.json"] = data.get_data(as_text=True)
    return pages


def test_the_portal_needs_no_login_and_shows_only_the_chosen_year(ctx, client):
    html = html_of(client.get(f"/transparencia/{year()}"))
    assert ctx["agreement"].number in html and "Asociación del Año Pasado" not in html
    assert f'href="/api/v1/open-data/{year()}.json"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart' in html and "<script" not in html
    last = html_of(client.get(f"/transparencia/{year() - 1}"))
    assert "Asociación del Año Pasado" in last and ctx["agreement"].number not in last
    assert client.get(f"/transparencia/{year() + 5}").status_code == 404
    assert client.get("/transparencia/abc").status_code == 404


def test_the_amounts_are_the_ledgers(ctx, client):
    html = html_of(client.get(f"/transparencia/{year()}"))
    b = ledger.balances(ctx["agreement"])
    row = re.search(rf'data-agreement="{re.escape(ctx["agreement"].number)}">(.*?)</tr>', html, re.S).group(1)
    amounts = [D(v.replace("$", "").replace(",", "")) for v in re.findall(r'class="num">([^<]+)<', row)]
    assert amounts == [b.assigned, b.executed, b.assigned - b.executed]
    executed = re.search(r'data-total="executed">([^<]+)<', html).group(1)
    assert D(executed.replace("$", "").replace(",", "")) == b.executed == D("1534.56")


def test_no_personal_data_on_any_page_or_in_the_open_data(ctx, client):
    people = db.session.scalars(select(Beneficiary)).all()
    assert len(people) == 5
    for where, text in portal_pages(client).items():
        assert DUI_SHAPED.search(text) is None, where
        for person in people:
            assert person.first_names not in text and person.last_names not in text, where
        assert ctx["person_supplier"].tax_id not in text, where
    # the natural person is named as a supplier paid, without her document
    assert "Marta Lidia Quintanilla" in html_of(client.get(f"/transparencia/{year()}"))


def test_the_verdict_and_the_assemblys_report_files_are_public_once_decided_and_sent(ctx, client):
    assert 'data-verdict="cumple_parcialmente">Cumple parcialmente: 0<' in html_of(client.get(f"/transparencia/{year()}"))
    h.to_closing(ctx)
    h.liquidate(ctx, "cumple_parcialmente", "Ejecutó el plan con atrasos.")
    html = html_of(client.get(f"/transparencia/{year()}"))
    row = re.search(rf'data-agreement="{re.escape(ctx["agreement"].number)}">(.*?)</tr>', html, re.S).group(1)
    assert row.endswith("<td>Cumple parcialmente</td>")
    assert 'data-verdict="cumple_parcialmente">Cumple parcialmente: 1<' in html
    assert client.get(f"/transparencia/{year()}/informe-asamblea.json").status_code == 404
    assert 'data-testid="report-pdf"' not in html_of(client.get(f"/transparencia/{year()}"))
    legislature.send_report(Actor.for_user(ctx["auditor"]), year())
    db.session.commit()
    html = html_of(client.get(f"/transparencia/{year()}"))
    assert f'href="/transparencia/{year()}/informe-asamblea.pdf"' in html
    sent = client.get(f"/transparencia/{year()}/informe-asamblea.json")
    assert sent.status_code == 200
    text = sent.get_data(as_text=True)
    assert ctx["agreement"].number in text and DUI_SHAPED.search(text) is None
    assert client.get(f"/transparencia/{year()}/informe-asamblea.pdf").data.startswith(b"%PDF")
    assert client.get(f"/transparencia/{year() - 1}/informe-asamblea.pdf").status_code == 404


def test_the_portal_speaks_english_too(ctx, client):
    html = html_of(client.get(f"/transparencia/{year()}", headers={"Accept-Language": "en"}))
    assert "<h1>Transparency portal</h1>" in html
    assert "Assigned and executed by NGO, fiscal year" in html and "Direct payments by supplier" in html
    assert "Ejercicio fiscal" not in html and "Pagos directos" not in html
