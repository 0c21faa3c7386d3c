"""Suppliers through the API: propose with checks, the reviewers' queue, validate/reject,
versions, NGO scoping (404), the debarment import and list."""
import io

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent, DebarredSupplier, Supplier
from tests.factories import make_agreement_in_execution, make_organization, make_user, valid_dui
from tests.helpers import api_headers, assert_problem

NIT_HIGH = "0614-050707-104-8"
NIT_LOW = "0614-010180-001-2"


def body(**overrides):
    data = {"tax_id": NIT_HIGH, "nrc": "123456-7", "legal_name": "Distribuidora El Roble, S.A. de C.V.",
            "address": "Av. Los Próceres 25, San Salvador", "phone": "2260-1234", "bank_name": "Banco Agrícola",
            "bank_account": "0011-22-333333",
            "items": [{"description": "Refrigerios", "unit": "unidad", "unit_price": "2.5"},
                      {"description": "Transporte", "unit": "viaje", "unit_price": 35.10}]}
    data.update(overrides)
    return data


@pytest.fixture
def r(client, app):
    people = make_agreement_in_execution()
    people["admin"] = make_user(["admin"])
    other = make_organization()
    people["stranger"] = make_user(["ngo"], organization=other)
    headers = {name: api_headers(client, people[name])
               for name in ("ngo", "financial", "legal", "admin", "stranger")}
    return {"c": client, "p": people, "h": headers, "url": f"/api/v1/agreements/{people['agreement'].id}/suppliers"}


def propose(r, **overrides):
    response = r["c"].post(r["url"], headers=r["h"]["ngo"], json=body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_propose_list_get_and_validate(r):
    c, h = r["c"], r["h"]
    supplier = propose(r)
    assert supplier["status"] == "proposed" and supplier["version"] == 1 and supplier["tax_id_type"] == "nit"
    assert [i["unit_price"] for i in supplier["items"]] == ["2.50", "35.10"]
    assert supplier["checks"]["identity"]["ok"] is True and supplier["failed_checks"] == []
    assert supplier["agreement_number"] == r["p"]["agreement"].number

    listing = c.get(r["url"], headers=h["ngo"]).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == supplier["id"]
    queue = c.get("/api/v1/suppliers?status=proposed", headers=h["financial"]).get_json()
    assert [s["id"] for s in queue["items"]] == [supplier["id"]]

    response = c.post(f"/api/v1/suppliers/{supplier['id']}/validate", headers=h["financial"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "validated"
    assert c.get("/api/v1/suppliers?status=proposed", headers=h["financial"]).get_json()["total"] == 0
    assert_problem(c.post(f"/api/v1/suppliers/{supplier['id']}/validate", headers=h["financial"]), 409,
                   "invalid_transition")


def test_field_errors_and_invalid_identity_store_nothing(r):
    c, h = r["c"], r["h"]
    response = c.post(r["url"], headers=h["ngo"], json=body(tax_id="0614-050707-104-7", bank_name="",
                                                            items=[{"description": "x", "unit": "u", "unit_price": "0"}]))
    problem = assert_problem(response, 422, "validation_error")
    assert "dígito verificador" in problem["errors"]["tax_id"][0]
    assert set(problem["errors"]) == {"tax_id", "bank_name", "items.0.unit_price"}
    response = c.post(r["url"], headers=h["ngo"], json=body(items=[{"description": "x", "unit": "u", "unit_price": "1.999"}]))
    assert "items.0.unit_price" in assert_problem(response, 422, "validation_error")["errors"]
    response = c.post(r["url"], headers=h["ngo"], json=body(status="validated"))
    assert "status" in assert_problem(response, 422, "validation_error")["errors"]
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0


def test_duplicate_is_refused_and_a_dui_supplier_is_accepted(r):
    propose(r)
    response = r["c"].post(r["url"], headers=r["h"]["ngo"], json=body(tax_id="06140507071048"))
    assert "Ya existe un proveedor" in assert_problem(response, 422, "validation_error")["errors"]["tax_id"][0]
    dui = propose(r, tax_id=valid_dui(3456789))
    assert dui["tax_id_type"] == "dui" and dui["tax_id"] == valid_dui(3456789)


def test_conflict_of_interest_is_flagged_and_blocks_validation(r):
    org = r["p"]["org"]
    supplier = propose(r, tax_id=NIT_LOW, bank_account=org.bank_account.replace("-", " "))
    assert supplier["failed_checks"] == ["conflict_of_interest"]
    assert supplier["checks"]["conflict_of_interest"]["detail"] == "misma cuenta bancaria que la organización"
    problem = assert_problem(r["c"].post(f"/api/v1/suppliers/{supplier['id']}/validate", headers=r["h"]["financial"]),
                             409, "checks_failed")
    assert "misma cuenta bancaria" in problem["detail"]


def test_reject_needs_a_reason(r):
    c, h = r["c"], r["h"]
    supplier = propose(r)
    url = f"/api/v1/suppliers/{supplier['id']}/reject"
    assert "reason" in assert_problem(c.post(url, headers=h["financial"], json={}), 422, "validation_error")["errors"]
    assert_problem(c.post(url, headers=h["financial"], json={"reason": "  "}), 422, "validation_error")
    response = c.post(url, headers=h["financial"], json={"reason": "Sin cotización."})
    assert response.status_code == 200 and response.get_json()["decision_reason"] == "Sin cotización."
    assert response.get_json()["status"] == "rejected"


def test_bank_change_on_a_validated_supplier_makes_a_new_version(r):
    c, h = r["c"], r["h"]
    supplier = propose(r)
    c.post(f"/api/v1/suppliers/{supplier['id']}/validate", headers=h["financial"])
    response = c.patch(f"/api/v1/suppliers/{supplier['id']}", headers=h["ngo"], json={"bank_account": "9999-1111"})
    assert response.status_code == 200, response.get_json()
    v2 = response.get_json()
    assert (v2["version"], v2["supersedes_id"], v2["status"]) == (2, supplier["id"], "proposed")
    old = c.get(f"/api/v1/suppliers/{supplier['id']}", headers=h["ngo"]).get_json()
    assert old["status"] == "superseded"
    assert [s["id"] for s in c.get(r["url"], headers=h["ngo"]).get_json()["items"]] == [v2["id"]]
    assert c.get(f"{r['url']}?include_superseded=true", headers=h["ngo"]).get_json()["total"] == 2
    assert c.post(f"/api/v1/suppliers/{v2['id']}/validate", headers=h["financial"]).get_json()["status"] == "validated"


def test_ngo_gets_404_for_other_organizations_suppliers(r):
    c, h = r["c"], r["h"]
    supplier = propose(r)
    sid = supplier["id"]
    assert_problem(c.get(f"/api/v1/suppliers/{sid}", headers=h["stranger"]), 404, "not_found")
    assert_problem(c.patch(f"/api/v1/suppliers/{sid}", headers=h["stranger"], json={"legal_name": "X"}), 404, "not_found")
    assert_problem(c.get(r["url"], headers=h["stranger"]), 404, "not_found")
    assert_problem(c.post(r["url"], headers=h["stranger"], json=body(tax_id=NIT_LOW)), 404, "not_found")
    assert c.get("/api/v1/suppliers", headers=h["stranger"]).get_json()["total"] == 0
    assert c.get("/api/v1/suppliers", headers=h["ngo"]).get_json()["total"] == 1
    # the NGO cannot decide; other staff cannot validate
    assert_problem(c.post(f"/api/v1/suppliers/{sid}/validate", headers=h["ngo"]), 403, "forbidden")
    assert_problem(c.post(f"/api/v1/suppliers/{sid}/validate", headers=h["legal"]), 403, "forbidden")
    assert_problem(c.post(r["url"], headers=h["financial"], json=body(tax_id=NIT_LOW)), 403, "forbidden")


DEBARRED = (f"NIT,nombre,motivo,fecha,fuente\n{NIT_HIGH},El Roble,Incumplimiento,15/03/2025,UNAC\n").encode()


def upload(r, data: bytes, who="admin"):
    return r["c"].post("/api/v1/debarred-suppliers/import", headers=r["h"][who],
                       data={"file": (io.BytesIO(data), "inhabilitados.csv")}, content_type="multipart/form-data")


def test_debarment_import_and_list(r):
    c, h = r["c"], r["h"]
    assert_problem(upload(r, DEBARRED, "financial"), 403, "forbidden")
    bad = DEBARRED + b"0614-050707-104-7,Mala,Fraude,2025-01-01,\n"
    problem = assert_problem(upload(r, bad), 422, "validation_error")
    assert list(problem["errors"]) == ["rows.3.tax_id"]
    assert db.session.scalar(select(func.count()).select_from(DebarredSupplier)) == 0
    response = upload(r, DEBARRED)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "suppliers_flagged": 0}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "debarred_suppliers.imported")) is not None
    listing = c.get("/api/v1/debarred-suppliers?q=roble", headers=h["financial"]).get_json()
    assert listing["total"] == 1 and listing["items"][0]["listed_on"] == "2025-03-15"
    assert_problem(c.get("/api/v1/debarred-suppliers", headers=h["ngo"]), 403, "forbidden")
    missing = c.post("/api/v1/debarred-suppliers/import", headers=h["admin"], data={},
                     content_type="multipart/form-data")
    assert_problem(missing, 422, "validation_error")

    supplier = propose(r)
    assert supplier["failed_checks"] == ["debarred"]
    assert_problem(c.post(f"/api/v1/suppliers/{supplier['id']}/validate", headers=h["financial"]), 409, "checks_failed")


def test_openapi_lists_the_supplier_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/agreements/{agreement_id}/suppliers", "/api/v1/suppliers", "/api/v1/suppliers/{supplier_id}",
                 "/api/v1/suppliers/{supplier_id}/validate", "/api/v1/suppliers/{supplier_id}/reject",
                 "/api/v1/debarred-suppliers", "/api/v1/debarred-suppliers/import"):
        assert path in spec["paths"], path
    assert spec["components"]["schemas"]["SupplierItem"]["properties"]["unit_price"]["type"] == "string"
