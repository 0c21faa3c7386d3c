"""Supplier pages: the NGO proposes and edits (item rows with buttons), the financial reviewer's
queue with each check by name, validate/reject, versions, scoping, and the debarment upload."""
import io
import re

import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.extensions import db
from grants.models import DebarredSupplier, Supplier
from grants.services import suppliers
from tests.factories import make_agreement_in_execution, make_organization, make_user
from tests.helpers import csrf_token, web_login

NIT_HIGH = "0614-050707-104-8"
NIT_LOW = "0614-010180-001-2"


def act(user):
    return Actor.for_user(user)


def error_after(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-field="{re.escape(field)}">([^<]+)<', html))


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def form_data(token, items=(("Refrigerios", "unidad", "2.50"),), **overrides):
    data = {"csrf_token": token, "tax_id": NIT_HIGH, "nrc": "123456-7",
            "legal_name": "Distribuidora El Roble, S.A. de C.V.", "address": "Av. Los Próceres 25, San Salvador",
            "phone": "2260-1234", "bank_name": "Banco Agrícola", "bank_account": "0011-22-333333"}
    for i, (description, unit, price) in enumerate(items):
        data.update({f"items-{i}-description": description, f"items-{i}-unit": unit, f"items-{i}-unit_price": price})
    data.update(overrides)
    return data


@pytest.fixture
def p(app):
    people = make_agreement_in_execution(legal_name="Fundación Paz y Futuro")
    people["admin"] = make_user(["admin"])
    return people


def api_propose(p, **overrides):
    data = {"tax_id": NIT_HIGH, "legal_name": "Distribuidora El Roble", "address": "Av. Los Próceres 25",
            "phone": "2260-1234", "bank_name": "Banco Agrícola", "bank_account": "0011-22-333333",
            "items": [{"description": "Refrigerios", "unit": "unidad", "unit_price": "2.50"}]}
    data.update(overrides)
    supplier = suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, data)
    db.session.commit()
    return supplier


def test_the_ngo_proposes_a_supplier_through_the_form(client, p):
    agreement = p["agreement"]
    web_login(client, p["ngo"].email)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert f'href="/agreements/{agreement.id}/suppliers"' in page
    listing = client.get(f"/agreements/{agreement.id}/suppliers").get_data(as_text=True)
    assert "todavía no tiene proveedores" in listing and 'data-testid="propose-supplier"' in listing

    url = f"/agreements/{agreement.id}/suppliers/new"
    token = csrf_token(client, url)
    # add a row: nothing is saved, the typed values stay
    response = client.post(url, data={**form_data(token), "add_item": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="item-row"') == 2 and 'value="Refrigerios"' in html
    # remove the first of two rows
    response = client.post(url, data={**form_data(token, items=(("A", "u", "1"), ("B", "u", "2"))), "remove_item-0": "1"})
    html = response.get_data(as_text=True)
    assert html.count('data-testid="item-row"') == 1 and 'value="B"' in html and 'value="A"' not in html
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0

    # every error next to its field, nothing stored
    response = client.post(url, data=form_data(token, items=(("Refrigerios", "unidad", "0"),),
                                               tax_id="0614-050707-104-7", bank_name=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "dígito verificador" in error_after(html, "tax_id")
    assert "obligatorio" in error_after(html, "bank_name")
    assert "mayor que cero" in error_after(html, "items-0-unit_price")
    response = client.post(url, data=form_data(token, items=()))
    assert "al menos un bien o servicio" in error_after(response.get_data(as_text=True), "items")
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0

    response = client.post(url, data=form_data(token, items=(("Refrigerios", "unidad", "2.50"), ("", "", ""),
                                                             ("Local", "día", "150"))))
    assert response.status_code == 303
    supplier = db.session.scalars(select(Supplier)).one()
    assert response.headers["Location"].endswith(f"/suppliers/{supplier.id}")
    assert [i.description for i in supplier.items] == ["Refrigerios", "Local"]
    page = client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert "Propuesto" in page and NIT_HIGH in page and "$150.00" in page
    for name in ("identity", "duplicate", "debarred", "conflict_of_interest"):
        assert f'data-check="{name}" data-ok="true"' in page
    assert 'data-testid="validate-form"' not in page  # the NGO does not decide
    assert "<script" not in page and "style=" not in page


def test_the_reviewer_sees_failed_checks_cannot_validate_and_rejects_with_a_reason(client, p):
    org = p["org"]
    flagged = api_propose(p, bank_account=org.bank_account.replace("-", " "), phone="+503 2222-3333")
    clean = api_propose(p, tax_id=NIT_LOW, legal_name="Librería Central")
    web_login(client, p["financial"].email)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-suppliers"' in home

    queue = client.get("/suppliers/queue").get_data(as_text=True)
    assert queue.index("Distribuidora El Roble") < queue.index("Librería Central")  # oldest first
    row = queue[queue.index(f'data-supplier="{flagged.id}"'):queue.index(f'data-supplier="{clean.id}"')]
    assert 'data-check="conflict_of_interest" data-ok="false"' in row and 'data-check="identity" data-ok="true"' in row
    assert "Sin conflicto de interés con la organización" in row
    assert "misma cuenta bancaria que la organización" in row and "mismo teléfono que la organización (2222-3333)" in row

    url = f"/suppliers/{flagged.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="validate-form"' in page and 'data-testid="validate"' not in page
    token = csrf_token(client, url)
    response = client.post(f"{url}/validate", data={"csrf_token": token})
    assert response.status_code == 409
    assert "No se puede validar el proveedor" in response.get_data(as_text=True)
    assert db.session.get(Supplier, flagged.id).status == "proposed"

    response = client.post(f"{url}/reject", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 422
    assert "necesita un motivo" in error_after(response.get_data(as_text=True), "reason")
    response = client.post(f"{url}/reject", data={"csrf_token": token, "reason": "Cuenta de la propia ONG."})
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Rechazado" in page and "Cuenta de la propia ONG." in page

    response = client.post(f"/suppliers/{clean.id}/validate", data={"csrf_token": token})
    assert response.status_code == 303
    assert db.session.get(Supplier, clean.id).status == "validated"
    queue = client.get("/suppliers/queue").get_data(as_text=True)
    assert "No hay proveedores en este estado." in queue
    assert "Librería Central" in client.get("/suppliers/queue?state=validated").get_data(as_text=True)


def test_a_bank_change_through_the_edit_page_creates_version_2(client, p):
    supplier = api_propose(p)
    suppliers.validate_supplier(act(p["financial"]), supplier.id)
    db.session.commit()
    web_login(client, p["ngo"].email)
    url = f"/suppliers/{supplier.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'data-testid="new-version-notice"' in form and 'value="2.50"' in form
    token = csrf_token(client, url)
    data = form_data(token, tax_id=NIT_HIGH, legal_name="Distribuidora El Roble", address="Av. Los Próceres 25",
                     nrc="", bank_account="0011 22 333333")
    response = client.post(url, data=data)
    assert response.status_code == 303  # the same account written with spaces: no change
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 1
    response = client.post(url, data={**data, "bank_account": "7777-666666"})
    assert response.status_code == 303
    v2 = db.session.scalar(select(Supplier).where(Supplier.version == 2))
    assert response.headers["Location"].endswith(f"/suppliers/{v2.id}")
    assert v2.status == "proposed" and v2.supersedes_id == supplier.id
    page = client.get(f"/suppliers/{v2.id}").get_data(as_text=True)
    assert 'data-testid="versions"' in page and "7777-666666" in page and "0011-22-333333" in page
    old = client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert 'data-testid="superseded"' in old
    assert client.get(url).status_code == 302  # editing an old version leads to the current one


def test_other_organizations_get_404(client, p):
    supplier = api_propose(p)
    stranger = make_user(["ngo"], organization=make_organization())
    web_login(client, stranger.email)
    for path in (f"/suppliers/{supplier.id}", f"/suppliers/{supplier.id}/edit",
                 f"/agreements/{p['agreement'].id}/suppliers", f"/agreements/{p['agreement'].id}/suppliers/new"):
        assert client.get(path).status_code == 404, path
    assert client.get("/suppliers/queue").status_code == 403
    assert client.get("/debarred-suppliers").status_code == 403


def test_the_admin_uploads_the_debarment_list_with_per_row_errors(client, p):
    web_login(client, p["admin"].email)
    assert 'data-testid="nav-debarred"' in client.get("/").get_data(as_text=True)
    url = "/debarred-suppliers"
    token = csrf_token(client, url)
    bad = (f"NIT;nombre;motivo;fecha;fuente\n{NIT_HIGH};El Roble;Incumplimiento;15/03/2025;UNAC\n"
           "0614-050707-104-7;Mala;Fraude;01/13/2025;\n").encode()
    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(bad), "lista.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-testid="import-failed"' in html
    assert 'data-line="3" data-column="tax_id"' in html and 'data-line="3" data-column="listed_on"' in html
    assert "dígito verificador" in html and 'data-line="2"' not in html
    assert db.session.scalar(select(func.count()).select_from(DebarredSupplier)) == 0

    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(b""), "vacio.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Adjunte un archivo CSV" in response.get_data(as_text=True)

    good = bad.split(b"\n0614-050707-104-7")[0] + b"\n"
    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(good), "lista.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Nuevas: 1;" in page and NIT_HIGH in page and "Incumplimiento" in page

    # the NGO's supplier with that NIT is now flagged on its page
    logout(client)
    supplier = api_propose(p)
    web_login(client, p["financial"].email)
    page = client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert 'data-check="debarred" data-ok="false"' in page and "Incumplimiento" in page
    listing = client.get(url).get_data(as_text=True)
    assert 'data-testid="debarment-form"' not in listing  # reviewers read the list; only admins import
    assert client.post(url, data={"csrf_token": csrf_token(client, url)}).status_code == 403
