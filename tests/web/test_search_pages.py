"""Search and exports of the lists (issue 14, "Find and take away"): each search finds what it
should and not the rest, the pager keeps the filters, a bad filter is a message (never a 500), a
DUI search is in the audit log (a name search is not), and each export opens and holds the page's
rows for the same filters — formula-like text neutralized, an NGO's file only its own."""
import csv
import hashlib
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent
from tests.factories import make_user
from tests.helpers import built_file, csrf_token, html_of, login
from tests.money import payment_helpers as ph

FORMULA_NAME = "=SUMA(1;2) Asociación de Prueba"


def rows_of(html: str, testid: str) -> list[list[str]]:
    """The body rows of a page's table, as the cells' text."""
    table = re.search(rf'data-testid="{testid}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) > 1:
            rows.append(cells)
    return rows


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def searched_events():
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.searched")).all()


@pytest.fixture
def two(app):
    """Two NGOs, each with an agreement in execution, a validated supplier and people; the first
    NGO's legal name looks like a formula."""
    first = ph.payments_setup(beneficiaries=False, legal_name=FORMULA_NAME)
    second = ph.payments_setup(beneficiaries=False, legal_name="Fundación Segunda de Prueba")
    first["people"] = ph.enroll(first, [f"ana{chr(97 + k // 26)}{chr(97 + k % 26)}" for k in range(27)] + ["berta", "carla"])
    second["people"] = ph.enroll(second, ["anaz", "dora"])
    first["monitoring_client"] = first["monitoring"]
    return first, second


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


# --- agreements ---------------------------------------------------------------------------------

def test_agreements_by_organization_number_state_and_year(app, two):
    first, second = two
    client = signed_in(app, first["legal"])
    number = second["agreement"].number
    found = rows_of(html_of(client.get("/agreements?q=segunda")), "agreements")
    assert [r[0] for r in found] == [number]
    assert [r[0] for r in rows_of(html_of(client.get(f"/agreements?q={number.lower()}")), "agreements")] == [number]
    year = first["agreement"].year
    both = {r[0] for r in rows_of(html_of(client.get(f"/agreements?year={year}&state=in_execution")), "agreements")}
    assert both == {first["agreement"].number, number}
    assert rows_of(html_of(client.get(f"/agreements?year={year + 1}")), "agreements") == []
    assert rows_of(html_of(client.get("/agreements?state=suspended")), "agreements") == []


@pytest.mark.parametrize("args", ["state=nonsense", "year=abc", "year=99999999999", "q=%25%25_%5C", "page=-1",
                                  "state=IN_EXECUTION&year=2026.5"])
def test_bad_filter_values_are_a_message_or_ignored_never_an_error(app, two, args):
    client = signed_in(app, two[0]["legal"])
    admin = signed_in(app, make_user(["admin"]))
    assert admin.get(f"/admin/organizations?{args}").status_code in (200, 422)
    for path in ("/agreements", "/plans", "/payments",
                 f"/agreements/{two[0]['agreement'].id}/suppliers",
                 f"/agreements/{two[0]['agreement'].id}/beneficiaries"):
        response = client.get(f"{path}?{args}")
        assert response.status_code in (200, 422), (path, args)  # 422: a number no database holds
        assert "Traceback" not in html_of(response)
    html = html_of(client.get("/agreements?state=nonsense"))
    assert "Estado desconocido" in html and len(rows_of(html, "agreements")) == 2
    assert "q=%25%25_%5C" not in args or rows_of(html_of(client.get(f"/agreements?{args}")), "agreements") == []


def test_the_agreements_export_holds_the_page_rows_and_neutralizes_formulas(app, two):
    first, second = two
    client = signed_in(app, first["legal"])
    page = rows_of(html_of(client.get("/agreements?q=prueba")), "agreements")
    assert len(page) == 2
    html = html_of(client.get("/agreements?q=prueba"))
    assert "/exports/agreements.csv?q=prueba" in html
    rows = csv_rows(client.get("/exports/agreements.csv?q=prueba"))
    assert [r[0] for r in rows[1:]] == [r[0] for r in page]
    assert "'" + FORMULA_NAME in [r[1] for r in rows[1:]]
    sheet = load_workbook(io.BytesIO(client.get("/exports/agreements.xlsx?q=prueba").get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert [v[0] for v in values[1:]] == [r[0] for r in page]
    assert "'" + FORMULA_NAME in [v[1] for v in values[1:]]
    amount, start = sheet.cell(2, 4), sheet.cell(2, 5)
    assert isinstance(amount.value, (int, float)) and "$" in amount.number_format
    assert start.is_date and start.number_format == "dd/mm/yyyy"
    assert Decimal(str(amount.value)) == first["agreement"].amount or Decimal(str(amount.value)) == second["agreement"].amount


def test_an_ngo_exports_only_its_own(app, two):
    first, second = two
    client = signed_in(app, second["ngo"])
    rows = csv_rows(client.get("/exports/agreements.csv"))
    assert [r[0] for r in rows[1:]] == [second["agreement"].number]
    assert [r[0] for r in rows_of(html_of(client.get("/agreements")), "agreements")] == [second["agreement"].number]
    assert client.get(f"/exports/registry.csv?agreement_id={first['agreement'].id}").status_code == 404
    assert client.get(f"/exports/suppliers.csv?agreement_id={first['agreement'].id}").status_code == 200
    assert csv_rows(client.get(f"/exports/suppliers.csv?agreement_id={first['agreement'].id}"))[1:] == []


# --- people ---------------------------------------------------------------------------------------

def test_people_by_name_prefix_page_by_page_with_the_filter_kept(app, two):
    first, _ = two
    client = signed_in(app, first["monitoring"])
    path = f"/agreements/{first['agreement'].id}/beneficiaries"
    html = html_of(client.get(f"{path}?q=ana"))
    names = [r[1] for r in rows_of(html, "enrollments")]
    assert len(names) == 25 and all("Ana" in n for n in names)
    next_link = re.search(r'<a href="([^"]+)">Siguiente', html).group(1).replace("&amp;", "&")
    assert "q=ana" in next_link and "page=2" in next_link
    rest = [r[1] for r in rows_of(html_of(client.get(next_link)), "enrollments")]
    assert len(rest) == 2 and all("Ana" in n for n in rest) and not set(rest) & set(names)
    assert ["Berta" in r[1] for r in rows_of(html_of(client.get(f"{path}?q=BER")), "enrollments")] == [True]
    assert rows_of(html_of(client.get(f"{path}?q=dora")), "enrollments") == []  # the other agreement's
    assert searched_events() == []  # a name search reads no document


def test_people_by_exact_dui_is_audited_and_shown_masked(app, two):
    first, _ = two
    client = signed_in(app, first["monitoring"])
    path = f"/agreements/{first['agreement'].id}/beneficiaries"
    person = first["people"]["berta"].beneficiary
    dui = person.document_number
    response = client.post(f"{path}/dui", data={"dui": dui.replace("-", ""), "csrf_token": csrf_token(client, path)})
    html = html_of(response)
    assert response.status_code == 200
    found = rows_of(html, "enrollments")
    assert len(found) == 1 and "Berta" in found[0][1]
    assert dui not in html and dui[-3:] in html and "•" in html
    [event] = searched_events()
    assert event.after["document_sha256"] == hashlib.sha256(dui.encode()).hexdigest()
    assert dui not in str(event.after) and event.entity_id == str(first["agreement"].id)
    assert event.actor_id == first["monitoring"].id
    other = ph.valid_dui(99_999_999 - 5) if hasattr(ph, "valid_dui") else None
    assert other is not None
    html = html_of(client.post(f"{path}/dui", data={"dui": other, "csrf_token": csrf_token(client, path)}))
    assert rows_of(html, "enrollments") == [] and len(searched_events()) == 2


@pytest.mark.parametrize("typed", ["12345678-5", "abc", "", "1" * 40])
def test_a_wrong_dui_is_a_message_and_not_logged(app, two, typed):
    first, _ = two
    client = signed_in(app, first["monitoring"])
    path = f"/agreements/{first['agreement'].id}/beneficiaries"
    response = client.post(f"{path}/dui", data={"dui": typed, "csrf_token": csrf_token(client, path)})
    assert response.status_code == 422
    assert 'data-field="dui"' in html_of(response)
    assert searched_events() == []


def test_the_registry_export_is_built_by_a_job_masked_with_the_page_filters(app, two):
    first, second = two
    client = signed_in(app, first["monitoring"])
    path = f"/agreements/{first['agreement'].id}/beneficiaries"
    page = rows_of(html_of(client.get(f"{path}?q=anaab")), "enrollments")
    rows = csv_rows(built_file(client, f"/exports/registry.csv?agreement_id={first['agreement'].id}&q=anaab"))
    assert len(rows) == 1 + len(page) == 2
    assert rows[1][0] + " " + rows[1][1] in page[0][1] or rows[1][1] in page[0][1]
    dui = first["people"]["anaab"].beneficiary.document_number
    assert rows[1][3] != dui and rows[1][3].endswith(dui[-3:])
    workbook = load_workbook(io.BytesIO(built_file(
        client, f"/exports/registry.xlsx?agreement_id={first['agreement'].id}&q=ana").get_data()))
    assert len(list(workbook.active.iter_rows(values_only=True))) == 1 + 27
    assert isinstance(workbook.active.cell(2, 8).value, date)
    # the file is its requester's: another NGO cannot read it by its address
    from grants.models import GeneratedFile

    file_id = db.session.scalar(select(GeneratedFile.id).where(GeneratedFile.kind == "list_export_csv"))
    other = signed_in(app, second["ngo"])
    assert other.get(f"/files/{file_id}/download").status_code in (403, 404)


# --- payments, suppliers, organizations, plans ----------------------------------------------------

def test_payments_by_invoice_number_and_supplier_with_their_export(app, two):
    first, second = two
    one = ph.prepared(first, number="F-ROBLE-1")
    ph.prepared(second, number="X-OTRA-2")
    client = signed_in(app, first["treasury"])
    html = html_of(client.get("/payments?q=roble-1"))
    assert f"/payments/{one.id}" in html and "X-OTRA-2" not in html
    assert "/payments?q=roble-1" not in html or "state=prepared" in html
    found = html_of(client.get("/payments?q=roble&state=prepared"))
    assert found.count('href="/payments/') >= 2  # both suppliers are "El Roble": the name finds both
    rows = csv_rows(client.get("/exports/payments.csv?q=roble-1&state=prepared"))
    assert [r[0] for r in rows[1:]] == [str(one.id)] and rows[1][4] == "F-ROBLE-1"
    assert csv_rows(client.get("/exports/payments.csv?q=roble-1&state=executed"))[1:] == []
    assert client.get("/payments?state=bogus").status_code == 200


def test_suppliers_organizations_and_plans_by_name(app, two):
    first, second = two
    client = signed_in(app, first["legal"])
    path = f"/agreements/{first['agreement'].id}/suppliers"
    assert len(rows_of(html_of(client.get(f"{path}?q=roble")), "suppliers")) == 1
    assert rows_of(html_of(client.get(f"{path}?q=ferreteria")), "suppliers") == []
    assert len(rows_of(html_of(client.get(f"{path}?q={ph.SUPPLIER_NIT[:4]}")), "suppliers")) == 1
    admin = signed_in(app, make_user(["admin"]))
    response = admin.get("/admin/organizations?q=segunda")
    assert response.status_code == 200, html_of(response)[-3000:]
    orgs = rows_of(html_of(response), "organizations")
    assert [r[0] for r in orgs] == ["Fundación Segunda de Prueba"]
    nit = second["organization"].nit
    assert [r[1] for r in rows_of(html_of(admin.get(f"/admin/organizations?q={nit}")), "organizations")] == [nit]
    plans = rows_of(html_of(client.get("/plans?q=segunda")), "plans")
    assert len(plans) == 1 and "Segunda" in plans[0][1]


def test_the_money_and_follow_up_pages_link_their_exports_which_open(app, two):
    first, second = two
    ph.prepared(first, number="F-LINK-1")
    agreement_id = first["agreement"].id
    client = signed_in(app, first["ngo"])
    money = html_of(client.get(f"/agreements/{agreement_id}/money"))
    follow = html_of(client.get(f"/agreements/{agreement_id}/follow-up"))
    for name, html in (("payments", money), ("advances", money), ("followup", follow)):
        link = f"/exports/{name}.xlsx?agreement_id={agreement_id}"
        assert link in html, name
        sheet = load_workbook(io.BytesIO(client.get(link).get_data())).active
        assert sheet.max_column > 3, name
    rows = csv_rows(client.get(f"/exports/payments.csv?agreement_id={agreement_id}"))
    assert [r[4] for r in rows[1:]] == ["F-LINK-1"]
    other = signed_in(app, second["ngo"])
    assert csv_rows(other.get(f"/exports/payments.csv?agreement_id={agreement_id}"))[1:] == []


def test_the_plans_export_holds_the_page_rows(app, two):
    first, second = two
    client = signed_in(app, first["legal"])
    year = first["agreement"].year
    html = html_of(client.get(f"/plans?q=segunda&year={year}"))
    page = rows_of(html, "plans")
    assert len(page) == 1 and f"/exports/plans.csv?q=segunda&amp;year={year}" in html
    rows = csv_rows(client.get(f"/exports/plans.csv?q=segunda&year={year}"))
    assert [r[1] for r in rows[1:]] == [p[1] for p in page] == ["Fundación Segunda de Prueba"]
    assert csv_rows(client.get(f"/exports/plans.csv?q=segunda&year={year + 1}"))[1:] == []
    assert csv_rows(signed_in(app, first["ngo"]).get("/exports/plans.csv?q=segunda"))[1:] == []
