"""/api/v1 technical meetings through HTTP: record on a case, read (paginated, scoped: 404 for another
NGO), upload the signed minutes, add and close commitments, the caller's overdue commitments,
problem+json refusals, and the OpenAPI document."""
from __future__ import annotations

import io
from datetime import timedelta

from tests.agreement_helpers import agreement_in_execution
from tests.helpers import api_headers, assert_problem
from tests.meetings.helpers import commitment, meeting_data
from tests.pdfs import tiny_pdf
from tests.timeline import iso, today


def test_record_read_and_close_through_the_api(client, ctx):
    agreement, ngo = ctx["agreement"], ctx["ngo"]
    admin, ngo_api = api_headers(client, ctx["administrator"]), api_headers(client, ngo)
    body = meeting_data(commitments=[commitment(ngo, iso("2026-06-30"))])
    response = client.post(f"/api/v1/agreements/{agreement.id}/meetings", json=body, headers=admin)
    assert response.status_code == 201, response.get_data(as_text=True)
    meeting = response.get_json()
    assert (meeting["stage"], meeting["agreement_id"], meeting["held_on"]) == ("agreement", agreement.id,
                                                                               iso("2026-06-15"))
    assert [(p["institution"], p["name"]) for p in meeting["participants"]] == [
        ("ministry", "Licda. Karla Mejía"), ("ngo", "Carlos Menjívar")]
    assert [(c["owner_id"], c["due_on"], c["status"]) for c in meeting["commitments"]] == [
        (ngo.id, iso("2026-06-30"), "open")]
    assert meeting["signed_minutes"] == []

    listed = client.get(f"/api/v1/plans/{agreement.plan_id}/meetings", headers=ngo_api).get_json()
    assert (listed["total"], listed["page"], [m["id"] for m in listed["items"]]) == (1, 1, [meeting["id"]])
    assert client.get(f"/api/v1/meetings/{meeting['id']}", headers=ngo_api).get_json()["subject"] == body["subject"]

    item = meeting["commitments"][0]["id"]
    done = client.post(f"/api/v1/commitments/{item}/done", json={"note": "Listas entregadas."}, headers=ngo_api)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["status"], done.get_json()["closed_by_id"]) == ("done", ngo.id)
    assert_problem(client.post(f"/api/v1/commitments/{item}/cancel", json={"note": "x"}, headers=admin),
                   409, "commitment_closed")


def test_refusals_are_problem_documents(client, ctx):
    agreement, ngo = ctx["agreement"], ctx["ngo"]
    admin, ngo_api = api_headers(client, ctx["administrator"]), api_headers(client, ngo)
    path = f"/api/v1/agreements/{agreement.id}/meetings"
    future = (today() + timedelta(days=1)).isoformat()
    problem = assert_problem(client.post(path, json=meeting_data(held_on=future), headers=admin),
                             422, "validation_error")
    assert list(problem["errors"]) == ["held_on"]
    problem = assert_problem(client.post(path, json=meeting_data(participants=[{"name": "A"}]), headers=admin),
                             422, "validation_error")
    assert list(problem["errors"]) == ["participants.0.institution"]
    problem = assert_problem(client.post(path, json=meeting_data(
        commitments=[commitment(ngo, iso("2026-06-01"))]), headers=admin), 422, "validation_error")
    assert list(problem["errors"]) == ["commitments.0.due_on"]
    assert_problem(client.post(path, json=meeting_data(), headers=ngo_api), 403, "forbidden")
    assert_problem(client.post(f"/api/v1/plans/{agreement.plan_id}/meetings", json=meeting_data(),
                               headers=api_headers(client, ctx["monitoring"])), 409, "meeting_stage")

    outsider = api_headers(client, agreement_in_execution()["ngo"])
    meeting = client.post(path, json=meeting_data(commitments=[commitment(ngo, iso("2026-06-30"))]),
                          headers=admin).get_json()
    for url in (path, f"/api/v1/plans/{agreement.plan_id}/meetings", f"/api/v1/meetings/{meeting['id']}",
                f"/api/v1/commitments/{meeting['commitments'][0]['id']}"):
        assert_problem(client.get(url, headers=outsider), 404, "not_found")
    assert_problem(client.post(f"/api/v1/commitments/{meeting['commitments'][0]['id']}/done", json={},
                               headers=outsider), 404, "not_found")


def test_signed_minutes_and_commitments_added_later(client, ctx):
    agreement, administrator = ctx["agreement"], ctx["administrator"]
    admin = api_headers(client, administrator)
    meeting = client.post(f"/api/v1/agreements/{agreement.id}/meetings", json=meeting_data(), headers=admin).get_json()
    url = f"/api/v1/meetings/{meeting['id']}/minutes"
    problem = assert_problem(client.post(url, data={"file": (io.BytesIO(b"GIF89a"), "acta.pdf")}, headers=admin,
                                         content_type="multipart/form-data"), 422, "validation_error")
    assert list(problem["errors"]) == ["file"]
    response = client.post(url, data={"file": (io.BytesIO(tiny_pdf("Acta")), "acta.pdf")}, headers=admin,
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    [minutes] = response.get_json()["signed_minutes"]
    assert (minutes["kind"], minutes["filename"]) == ("meeting_minutes", "acta.pdf")
    download = client.get(minutes["url"], headers=api_headers(client, ctx["ngo"]))
    assert (download.status_code, download.mimetype) == (200, "application/pdf")

    late = client.post(f"/api/v1/meetings/{meeting['id']}/commitments", headers=admin, json={
        "description": "Visitar los talleres.", "owner_id": administrator.id, "due_on": iso("2026-06-20")})
    assert late.status_code == 201, late.get_data(as_text=True)
    client.post(f"/api/v1/meetings/{meeting['id']}/commitments", headers=admin, json={
        "description": "Revisar las listas.", "owner_id": administrator.id, "due_on": today().isoformat()})
    assert late.get_json()["overdue"] is True  # due months ago, still open
    mine = client.get("/api/v1/commitments?overdue=true", headers=admin).get_json()
    assert [c["description"] for c in mine["items"]] == ["Visitar los talleres."]
    assert client.get("/api/v1/commitments", headers=admin).get_json()["total"] == 2
    assert client.get("/api/v1/commitments?overdue=true", headers=api_headers(client, ctx["ngo"])).get_json()[
        "total"] == 0


def test_the_openapi_document_describes_meetings(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/allocations/{allocation_id}/meetings", "/api/v1/plans/{plan_id}/meetings",
                 "/api/v1/agreements/{agreement_id}/meetings", "/api/v1/meetings/{meeting_id}",
                 "/api/v1/meetings/{meeting_id}/minutes", "/api/v1/meetings/{meeting_id}/commitments",
                 "/api/v1/commitments/{commitment_id}/done", "/api/v1/commitments/{commitment_id}/cancel",
                 "/api/v1/commitments"):
        assert path in spec["paths"], path
    meeting = spec["components"]["schemas"]["Meeting"]["properties"]
    assert meeting["participants"]["type"] == "array" and meeting["signed_minutes"]["readOnly"] is True
    assert spec["components"]["schemas"]["Commitment"]["properties"]["status"]["enum"] == ["open", "done", "cancelled"]
