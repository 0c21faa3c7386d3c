"""/api/v1 follow-up: reports, indicator progress, incidents with evidence, resolution with
resumption, and the start of the closing — through HTTP, with organization scoping (404)."""
from __future__ import annotations

import io

import pytest

from grants.extensions import db
from grants.services import payments
from tests.factories import make_agreement_in_execution, make_user
from tests.followup.helpers import PNG, URGENT, act, incident_data, report_data
from tests.helpers import api_headers, assert_problem
from tests.money import payment_helpers as ph
from tests.timeline import iso


@pytest.fixture
def ctx(app):
    return ph.payments_setup()


def test_report_through_the_api(client, ctx):
    agreement_id = ctx["agreement"].id
    admin, ngo = api_headers(client, ctx["administrator"]), api_headers(client, ctx["ngo"])
    body = report_data(ctx)
    response = client.post(f"/api/v1/agreements/{agreement_id}/follow-up-reports", json=body, headers=admin)
    assert response.status_code == 201, response.get_data(as_text=True)
    report = response.get_json()
    assert (report["period_start"], report["period_end"], report["active_beneficiaries"]) == (
        iso("2026-03-01"), iso("2026-03-31"), 2)
    assert [(a["name"], a["progress"]) for a in report["activities"]] == [
        ("Talleres vocacionales", "25.00"), ("Tutorías escolares", "10.50")]
    assert [(i["name"], i["baseline"], i["target"], i["value"]) for i in report["indicators"]] == [
        ("Jóvenes que terminan un taller", "0.00", "250.00", "40.00")]
    assert report["author_name"] == ctx["administrator"].full_name

    problem = assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/follow-up-reports", json=body,
                                         headers=admin), 422, "validation_error")
    assert list(problem["errors"]) == ["period_start"]
    bad = {**body, "period_start": iso("2026-04-01"), "period_end": iso("2026-04-30"),
           "activities": [{**body["activities"][0], "progress": "mucho"}, body["activities"][1]]}
    problem = assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/follow-up-reports", json=bad,
                                         headers=admin), 422, "validation_error")
    assert list(problem["errors"]) == ["activities.0.progress"]
    assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/follow-up-reports", json=body, headers=ngo),
                   403, "forbidden")

    listed = client.get(f"/api/v1/agreements/{agreement_id}/follow-up-reports", headers=ngo).get_json()
    assert (listed["total"], listed["items"][0]["id"]) == (1, report["id"])
    assert client.get(f"/api/v1/follow-up-reports/{report['id']}", headers=ngo).get_json()["id"] == report["id"]
    progress = client.get(f"/api/v1/agreements/{agreement_id}/indicator-progress", headers=ngo).get_json()
    assert [(p["latest_value"], p["percent_of_target"], p["report_id"]) for p in progress["items"]] == [
        ("40.00", "16.00", report["id"])]

    outsider = api_headers(client, make_agreement_in_execution()["ngo"])
    for path in (f"/api/v1/agreements/{agreement_id}/follow-up-reports", f"/api/v1/follow-up-reports/{report['id']}",
                 f"/api/v1/agreements/{agreement_id}/indicator-progress"):
        assert_problem(client.get(path, headers=outsider), 404, "not_found")


def test_incident_suspension_evidence_and_resumption_through_the_api(client, ctx):
    agreement_id = ctx["agreement"].id
    admin, ngo = api_headers(client, ctx["administrator"]), api_headers(client, ctx["ngo"])
    invoice = ph.certified(ctx, [ph.line(1, "1", "80.00")])

    assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/incidents", json=incident_data("termination"),
                               headers=admin), 403, "termination_not_allowed")
    problem = assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/incidents",
                                         json=incident_data(severity="enorme"), headers=admin), 422, "validation_error")
    assert list(problem["errors"]) == ["severity"]
    response = client.post(f"/api/v1/agreements/{agreement_id}/incidents",
                           json=incident_data("suspension", **URGENT), headers=admin)
    assert response.status_code == 201, response.get_data(as_text=True)
    incident = response.get_json()
    assert (incident["status"], incident["measure"], incident["agreement_status"]) == ("open", "suspension",
                                                                                      "suspended")

    treasury = api_headers(client, ctx["treasury"])
    assert_problem(client.post("/api/v1/payments", json={"invoice_id": invoice.id}, headers=treasury),
                   409, "agreement_not_in_execution")
    assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/advances", json={"tranche_number": 1},
                               headers=ngo), 409, "agreement_not_in_execution")

    path = f"/api/v1/incidents/{incident['id']}/evidence"
    problem = assert_problem(client.post(path, data={"file": (io.BytesIO(b"GIF89a..."), "x.gif")}, headers=admin,
                                         content_type="multipart/form-data"), 422, "validation_error")
    assert list(problem["errors"]) == ["file"]
    response = client.post(path, data={"file": (io.BytesIO(PNG), "acta.png")}, headers=admin,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    [evidence] = response.get_json()["evidence"]
    assert evidence["filename"] == "acta.png"
    download = client.get(evidence["url"], headers=ngo)
    assert (download.status_code, download.mimetype, download.data) == (200, "image/png", PNG)

    listed = client.get(f"/api/v1/agreements/{agreement_id}/incidents?status=open", headers=ngo).get_json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]
    outsider = api_headers(client, make_agreement_in_execution()["ngo"])
    assert_problem(client.get(f"/api/v1/incidents/{incident['id']}", headers=outsider), 404, "not_found")
    assert_problem(client.get(evidence["url"], headers=outsider), 404, "not_found")

    resolve = f"/api/v1/incidents/{incident['id']}/resolve"
    assert_problem(client.post(resolve, json={"resolution": "Listo", "resume": True}, headers=ngo), 403, "forbidden")
    response = client.post(resolve, json={"resolution": "Listas entregadas.", "resume": True}, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["status"], response.get_json()["agreement_status"]) == ("resolved", "in_execution")
    assert_problem(client.post(resolve, json={"resolution": "Otra"}, headers=admin), 409, "incident_resolved")
    response = client.post("/api/v1/payments", json={"invoice_id": invoice.id}, headers=treasury)
    assert response.status_code == 201, response.get_data(as_text=True)


def test_begin_closing_through_the_api(client, ctx):
    agreement_id = ctx["agreement"].id
    admin = api_headers(client, ctx["administrator"])
    payment = ph.prepared(ctx, [ph.line(1, "1", "80.00")])
    problem = assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/closing", headers=admin),
                             409, "money_in_flight")
    assert f"pago N.º {payment.id}" in problem["detail"]
    assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/closing",
                               headers=api_headers(client, make_user(["administrator"]))), 403, "forbidden")
    payments.cancel_payment(act(ctx["treasury"]), payment.id, "Factura duplicada")
    db.session.commit()
    response = client.post(f"/api/v1/agreements/{agreement_id}/closing", headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "closing"
    assert_problem(client.post(f"/api/v1/agreements/{agreement_id}/closing", headers=admin), 409,
                   "invalid_transition")


def test_openapi_documents_the_follow_up_paths(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/agreements/{agreement_id}/follow-up-reports", "/api/v1/follow-up-reports/{report_id}",
                 "/api/v1/agreements/{agreement_id}/incidents", "/api/v1/incidents/{incident_id}/evidence",
                 "/api/v1/incidents/{incident_id}/resolve", "/api/v1/agreements/{agreement_id}/closing",
                 "/api/v1/agreements/{agreement_id}/indicator-progress"):
        assert path in paths, path
