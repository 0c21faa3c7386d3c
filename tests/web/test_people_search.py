"""The registry-wide people search (``/beneficiarios``, issue 14) and the invoices' search on an
agreement's money page with its export: a person is found across agreements by the beginning of a
name or by exact DUI, an NGO never sees another organization's people (by name or DUI), the DUI
search is in the audit log and the name search is not, documents are masked, the pager keeps the
filter, and garbage input is a message, never a 500."""
import hashlib
import io
import re

import pytest
from openpyxl import load_workbook

from grants import clock
from grants.extensions import db
from grants.models import Enrollment
from grants.services import beneficiary_imports
from tests.factories import make_user
from tests.helpers import csrf_token, html_of
from tests.money import payment_helpers as ph
from tests.timeline import day
from tests.web.test_search_pages import csv_rows, rows_of, searched_events, signed_in, two  # noqa: F401

PATH = "/beneficiarios"


def by_dui(client, dui: str):
    return client.post(f"{PATH}/dui", data={"dui": dui, "csrf_token": csrf_token(client, PATH)})


def enroll_again(ctx: dict, person) -> None:
    """The same person (same DUI) enrolled in another agreement, through the real import."""
    row = (f"DUI,{person.document_number},{person.first_names},{person.last_names},"
           f"{person.birth_date.strftime('%d/%m/%Y')},F,San Salvador Centro,{day('2026-02-01').isoformat()}")
    with clock.at(day("2026-02-10")):
        batch = beneficiary_imports.import_file(ph.act(ctx["ngo"]), ctx["agreement"].id, "lista.csv",
                                                (ph.HEADER + "\n" + row + "\n").encode(), "enrollment")
        assert batch.rows_error == 0
        beneficiary_imports.confirm_batch(ph.act(ctx["ngo"]), batch.id)
    db.session.commit()


def test_a_name_finds_people_across_agreements_page_by_page_and_is_not_logged(app, two):
    first, second = two
    client = signed_in(app, first["monitoring"])
    assert "registry-hint" in html_of(client.get(PATH))  # nothing typed: no one listed
    html = html_of(client.get(f"{PATH}?q=ANA"))
    found = rows_of(html, "registry")
    assert len(found) == 25 and all("Ana" in r[0] for r in found)
    assert "28 inscripciones" in html  # 27 in the first agreement, «Anaz» in the second
    next_link = re.search(r'<a href="([^"]+)">Siguiente', html).group(1).replace("&amp;", "&")
    assert "q=ANA" in next_link and "page=2" in next_link
    rest = rows_of(html_of(client.get(next_link)), "registry")
    assert len(rest) == 3 and {r[2] for r in found + rest} == {first["agreement"].number, second["agreement"].number}
    anaz = [r for r in rest if r[0].endswith("Anaz")]
    assert anaz and anaz[0][3] == "Fundación Segunda de Prueba"
    assert f'/agreements/{second["agreement"].id}/beneficiaries' in html_of(client.get(next_link))
    dui = second["people"]["anaz"].beneficiary.document_number
    assert dui not in html and all("•" in r[1] for r in found)
    assert searched_events() == []


def test_a_dui_finds_every_enrollment_audited_and_masked(app, two):
    first, second = two
    person = first["people"]["berta"].beneficiary
    enroll_again(second, person)
    client = signed_in(app, make_user(["auditor"]))
    response = by_dui(client, person.document_number.replace("-", ""))
    html = html_of(response)
    assert response.status_code == 200
    found = rows_of(html, "registry")
    assert sorted(r[2] for r in found) == sorted([first["agreement"].number, second["agreement"].number])
    assert person.document_number not in html and all(r[1].endswith(person.document_number[-3:]) for r in found)
    [event] = searched_events()
    assert event.after["document_sha256"] == hashlib.sha256(person.document_number.encode()).hexdigest()
    assert event.after["found"] == 2 and person.document_number not in str(event.after)
    assert event.entity_type == "beneficiary_registry" and event.organization_id is None


def test_an_ngo_sees_only_its_own_people_by_name_and_by_dui(app, two):
    first, second = two
    berta = first["people"]["berta"].beneficiary
    client = signed_in(app, second["ngo"])
    assert [r[0] for r in rows_of(html_of(client.get(f"{PATH}?q=ana")), "registry")] == ["Prueba anaz, Anaz"]
    assert rows_of(html_of(client.get(f"{PATH}?q=berta")), "registry") == []
    html = html_of(by_dui(client, berta.document_number))
    assert rows_of(html, "registry") == [] and "Berta" not in html
    [event] = searched_events()  # searched, found nothing: still a reading of the registry
    assert event.after["found"] == 0 and event.organization_id == second["organization"].id
    enroll_again(second, berta)  # now also the second NGO's: it sees its own enrollment only
    found = rows_of(html_of(by_dui(client, berta.document_number)), "registry")
    assert [r[2] for r in found] == [second["agreement"].number]


@pytest.mark.parametrize("typed", ["12345678-5", "abc", "", "1" * 40])
def test_a_wrong_dui_is_a_message_and_not_logged(app, two, typed):
    response = by_dui(signed_in(app, two[0]["monitoring"]), typed)
    assert response.status_code == 422 and 'data-field="dui"' in html_of(response)
    assert searched_events() == []


@pytest.mark.parametrize("args", ["q=%25%25_%5C", "q=" + "x" * 500, "state=nonsense&q=ana", "page=-1&q=ana",
                                  "page=99999999999999&q=ana", "q=%00"])
def test_garbage_in_the_query_string_is_never_an_error(app, two, args):
    response = signed_in(app, two[0]["ngo"]).get(f"{PATH}?{args}")
    assert response.status_code in (200, 422)  # 422: a number no database holds (the input guard)
    assert "Traceback" not in html_of(response)
    if args.startswith("q=%25"):
        assert rows_of(html_of(response), "registry") == []


# --- invoices on the money page ----------------------------------------------------------------

def test_invoices_by_number_supplier_and_state_with_the_export(app, two):
    first, second = two
    ph.register(first, number="F-ROBLE-1")
    ph.certified(first, number="F-ROBLE-2")
    ph.register(second, number="F-ROBLE-9")
    money = f"/agreements/{first['agreement'].id}/money"
    client = signed_in(app, first["ngo"])
    assert [r[0] for r in rows_of(html_of(client.get(f"{money}?q=roble-1")), "invoices")] == ["F-ROBLE-1"]
    assert len(rows_of(html_of(client.get(f"{money}?q=el roble")), "invoices")) == 2  # the supplier's name
    assert len(rows_of(html_of(client.get(f"{money}?q={ph.SUPPLIER_NIT[:6]}")), "invoices")) == 2
    html = html_of(client.get(f"{money}?q=roble&state=certified"))
    assert [r[0] for r in rows_of(html, "invoices")] == ["F-ROBLE-2"]
    assert "Estado desconocido" in html_of(client.get(f"{money}?state=bogus"))
    link = f"/exports/invoices.csv?q=roble&amp;state=certified&amp;agreement_id={first['agreement'].id}"
    assert link in html
    rows = csv_rows(client.get(link.replace("&amp;", "&")))
    assert [r[0] for r in rows[1:]] == ["F-ROBLE-2"] and rows[1][1] == first["agreement"].number
    sheet = load_workbook(io.BytesIO(client.get(
        f"/exports/invoices.xlsx?q=roble&agreement_id={first['agreement'].id}").get_data())).active
    page = [r[0] for r in rows_of(html_of(client.get(f"{money}?q=roble")), "invoices")]
    assert [v[0] for v in list(sheet.iter_rows(values_only=True))[1:]] == page
    assert sorted(page) == ["F-ROBLE-1", "F-ROBLE-2"] and sheet.cell(2, 5).is_date
    # the other NGO exports none of the first's invoices, even naming its agreement
    other = signed_in(app, second["ngo"])
    assert csv_rows(other.get(f"/exports/invoices.csv?agreement_id={first['agreement'].id}"))[1:] == []
    assert [r[0] for r in csv_rows(other.get("/exports/invoices.csv?q=roble"))[1:]] == ["F-ROBLE-9"]


def test_the_invoices_pager_keeps_the_search(app, two):
    first, _ = two
    for k in range(26):
        ph.register(first, number=f"F-PAG-{k:02d}")
    ph.register(first, number="X-OTRA")
    money = f"/agreements/{first['agreement'].id}/money"
    client = signed_in(app, first["treasury"])
    html = html_of(client.get(f"{money}?q=f-pag"))
    assert len(rows_of(html, "invoices")) == 25
    next_link = re.search(r'<a href="([^"]+)">Siguiente', html).group(1).replace("&amp;", "&")
    assert "q=f-pag" in next_link and "invoices_page=2" in next_link
    rest = rows_of(html_of(client.get(next_link)), "invoices")
    assert len(rest) == 1 and rest[0][0].startswith("F-PAG-")


def test_a_search_matching_too_many_says_so_and_pages_no_further(app, two, monkeypatch):
    from grants.web import people

    monkeypatch.setattr(people, "COUNTED", 25)
    html = html_of(signed_in(app, two[0]["monitoring"]).get(f"{PATH}?q=prueba"))  # 31 people: more than 25
    assert "Más de 25 inscripciones coinciden" in html and len(rows_of(html, "registry")) == 25
    assert "Siguiente" not in html
    exact = html_of(signed_in(app, two[0]["monitoring"]).get(f"{PATH}?q=anab"))
    assert "1 inscripción encontrada" in exact  # Anaba: under the cap, counted
