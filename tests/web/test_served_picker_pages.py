"""The invoice form's people served: picked from the agreement's people active the whole service
period (searched and paged by the form's own buttons), all of them at once, or a CSV of document
numbers checked row by row; another agreement's or an inactive person never gets in."""
import io
import re

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import Invoice
from tests.agreement_helpers import agreement_in_execution
from tests.helpers import csrf_token, html_of, login
from tests.money import payment_helpers as ph
from tests.timeline import day, iso
from tests.web import money_page_helpers as mh
from tests.web.money_page_helpers import field_errors

invariants = mh.invariants


@pytest.fixture
def ctx(app):
    ctx = ph.payments_setup()
    more = ph.enroll(ctx, ["ana", "beto", "carla"])
    for enrollment in more.values():
        ph.set_history(ctx, enrollment, [("active", day("2026-02-15"))])
    ctx["people"].update(more)
    return ctx


LINE = {"lines-0-budget_line": "1", "lines-0-description": "Refrigerio", "lines-0-unit_price": "5.00",
        "lines-0-per_beneficiary": "y"}


def form(client, ctx, **extra):
    url = f"/agreements/{ctx['agreement'].id}/invoices/new"
    login(client, ctx["ngo"])
    data = {"csrf_token": csrf_token(client, url), "supplier_id": str(ctx["supplier"].id), "number": "F-7",
            "issue_date": iso("2026-04-02"), "period_start": iso("2026-03-01"), "period_end": iso("2026-03-31"),
            **LINE, **extra}
    return url, data


def invoices() -> int:
    return db.session.scalar(select(func.count()).select_from(Invoice))


def served(invoice: Invoice) -> set[int]:
    return {b.enrollment_id for b in invoice.lines[0].beneficiaries}


def offered(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr data-enrollment="(\d+)">', html)}


def test_the_list_offers_only_people_active_the_whole_period_searched_by_name_with_documents_masked(client, ctx):
    url, data = form(client, ctx)
    response = client.post(url, data={**data, "people_search": "1"})
    html = html_of(response)
    people = ctx["people"]
    assert response.status_code == 200 and invoices() == 0         # searching saves nothing
    assert offered(html) == {people[n].id for n in ("active", "ana", "beto", "carla")}
    for name in ("inactive", "late", "never", "withdrawn"):          # partly, later, never, no longer active
        assert f'data-enrollment="{people[name].id}"' not in html
    document = people["ana"].beneficiary.document_number
    assert document not in html and f"•••••••{document[-3:]}" in html

    typed = {"period_start": day("2026-03-01").strftime("%d/%m/%Y"),
             "period_end": day("2026-03-31").strftime("%d/%m/%Y")}
    assert offered(html_of(client.post(url, data={**data, **typed, "people_search": "1"}))) == offered(html)
    html = html_of(client.post(url, data={**data, "people_search": "1", "people_q": "prueba BETO"}))
    assert offered(html) == {people["beto"].id}
    html = html_of(client.post(url, data={**data, "people_search": "1", "people_q": document}))
    assert offered(html) == {people["ana"].id}


def test_ngo_picks_some_people_across_pages_and_the_invoice_bills_them(client, ctx, monkeypatch):
    monkeypatch.setattr("grants.web.served_picker.PAGE_SIZE", 2)
    url, data = form(client, ctx)
    people = ctx["people"]
    first = html_of(client.post(url, data={**data, "people_search": "1"}))
    page_one = offered(first)
    assert len(page_one) == 2 and "Página 1 de 2" in first
    picked = sorted(page_one)[0]
    second = html_of(client.post(url, data={**data, "pick": str(picked), "people_at": "1", "people_page": "2"}))
    assert "Página 2 de 2" in second and offered(second).isdisjoint(page_one)
    assert f'<input type="hidden" name="served" value="{picked}">' in second   # carried from page 1
    assert "1 persona elegida" in second
    other = sorted(offered(second))[0]

    response = client.post(url, data={**data, "served": str(picked), "pick": str(other), "people_at": "2"})
    assert response.status_code == 303
    invoice = db.session.scalars(select(Invoice)).one()
    assert served(invoice) == {picked, other} and invoice.lines[0].quantity == 2
    assert served(invoice) <= {people[n].id for n in ("active", "ana", "beto", "carla")}


def test_all_active_in_the_period_never_takes_an_inactive_or_out_of_period_person(client, ctx):
    url, data = form(client, ctx)
    response = client.post(url, data={**data, "served_all": "y"})
    assert response.status_code == 303
    invoice = db.session.scalars(select(Invoice)).one()
    assert served(invoice) == {ctx["people"][n].id for n in ("active", "ana", "beto", "carla")}
    assert invoice.total == 4 * 5
    html = html_of(client.get(f"/invoices/{invoice.id}"))
    ana = ctx["people"]["ana"].beneficiary
    assert f"{ana.full_name} · •••••••{ana.document_number[-3:]}" in html and ana.document_number not in html
    assert ctx["people"]["inactive"].beneficiary.full_name not in html


def test_a_forged_id_of_another_agreement_or_of_an_inactive_person_is_refused_and_nothing_saved(client, ctx):
    other = agreement_in_execution()
    stranger = ph.enroll(other, ["otra"])["otra"]
    ph.set_history(other, stranger, [("active", day("2026-02-15"))])
    url, data = form(client, ctx)
    for forged in (stranger.id, ctx["people"]["inactive"].id):
        response = client.post(url, data={**data, "pick": str(forged)})
        html = html_of(response)
        assert response.status_code == 422 and invoices() == 0
        assert "Se quitó de la selección 1 persona que no está activa" in field_errors(html, "served")
        assert f'name="served" value="{forged}"' not in html


def test_a_csv_with_bad_rows_lists_each_row_and_saves_nothing_then_a_good_one_registers(client, ctx):
    people = ctx["people"]
    other = agreement_in_execution()
    stranger = ph.enroll(other, ["otra"])["otra"].beneficiary.document_number
    rows = ["DUI", people["ana"].beneficiary.document_number, "=HYPERLINK(\"http://x\")",
            people["ana"].beneficiary.document_number, stranger, people["inactive"].beneficiary.document_number,
            "12345678-0"]
    url, data = form(client, ctx)
    upload = (io.BytesIO(("\n".join(rows) + "\n").encode()), "personas.csv")
    response = client.post(url, data={**data, "served_file": upload}, content_type="multipart/form-data")
    html = html_of(response)
    assert response.status_code == 422 and invoices() == 0
    errors = re.findall(r'data-field="served_file">([^<]+)<', html)
    assert errors[0].startswith("No se tomó ninguna persona del archivo")
    assert errors[1].startswith("Fila 3: No es un número de documento")
    assert errors[2] == "Fila 4: Repetido: ya está en la fila 2."
    assert errors[3].startswith("Fila 5 (") and errors[3].endswith("no está inscrita en este convenio.")
    assert errors[4].startswith("Fila 6 (") and "no estuvo activa todo el período del servicio" in errors[4]
    assert errors[5] == "Fila 7: El dígito verificador del DUI no es correcto."
    assert "HYPERLINK" not in html and stranger not in html

    good = "\n".join(people[n].beneficiary.document_number for n in ("ana", "carla")) + "\n"
    response = client.post(url, data={**data, "served_file": (io.BytesIO(good.encode("cp1252")), "p.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert served(db.session.scalars(select(Invoice)).one()) == {people["ana"].id, people["carla"].id}


def test_the_csv_is_size_limited_and_must_be_text(client, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "INVOICE_PEOPLE_MAX_BYTES", 64)
    url, data = form(client, ctx)
    number = ctx["people"]["ana"].beneficiary.document_number
    big = (number + "\n") * 10
    for content, message in ((big.encode(), "El archivo supera el máximo de 1 MB."),
                             (b"%PDF-1.4\n%\xe2\xe3\n", "El archivo debe ser CSV")):
        response = client.post(url, data={**data, "served_file": (io.BytesIO(content), "p.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 422 and invoices() == 0
        assert message in field_errors(html_of(response), "served_file")
