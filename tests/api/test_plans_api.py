"""Work plans and agreements through the API: the whole round, field-path errors, G4, G5."""
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.helpers import api_headers, assert_problem
from tests.pdfs import tiny_pdf
from tests.timeline import dmy, iso, year


@pytest.fixture
def round_(client, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    org = make_organization(legal_name="Fundación Paz y Futuro")
    allocation = make_allocation(org, amount="100000.00")
    users = {
        "ngo": make_user(["ngo"], organization=org),
        "legal": make_user(["legal_reviewer"]),
        "financial": make_user(["financial_reviewer"]),
        "monitoring": make_user(["monitoring_reviewer"]),
        "administrator": make_user(["administrator"]),
    }
    headers = {name: api_headers(client, user) for name, user in users.items()}
    return {"client": client, "allocation": allocation, "org": org, "users": users, "h": headers}


def create_plan(r, content=None):
    response = r["client"].post("/api/v1/plans", headers=r["h"]["ngo"], json={
        "allocation_id": r["allocation"].id, "title": "Jóvenes con futuro", "content": content or plan_content()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def decide(r, plan_id, version, who, decision, observations=(), reason=None):
    body = {"discipline": who, "decision": decision, "observations": list(observations)}
    if reason:
        body["reason"] = reason
    return r["client"].post(f"/api/v1/plans/{plan_id}/versions/{version}/reviews", headers=r["h"][who], json=body)


def test_the_whole_round_through_the_api(round_):
    r, c = round_, round_["client"]
    plan = create_plan(r)
    assert plan["status"] == "draft" and plan["versions"][0]["budget_total"] == "100000.00"
    assert c.post(f"/api/v1/plans/{plan['id']}/submit", headers=r["h"]["ngo"]).get_json()["status"] == "submitted"
    assert decide(r, plan["id"], 1, "legal", "approve").status_code == 201
    assert decide(r, plan["id"], 1, "financial", "approve").status_code == 201
    response = decide(r, plan["id"], 1, "monitoring", "request_changes",
                      [{"section": "indicators", "text": "Falta un indicador de permanencia."}])
    assert response.status_code == 201, response.get_json()
    assert c.get(f"/api/v1/plans/{plan['id']}", headers=r["h"]["ngo"]).get_json()["status"] == "changes_requested"

    assert c.post(f"/api/v1/plans/{plan['id']}/versions", headers=r["h"]["ngo"]).status_code == 201
    content = plan_content()
    content["indicators"].append({"expected_result": "Permanencia", "name": "Siguen estudiando", "unit": "%",
                                  "baseline": "60", "target": "80", "means_of_verification": "Constancias"})
    response = c.put(f"/api/v1/plans/{plan['id']}/versions/2", headers=r["h"]["ngo"], json={"content": content})
    assert response.status_code == 200, response.get_json()
    c.post(f"/api/v1/plans/{plan['id']}/submit", headers=r["h"]["ngo"])
    diff = c.get(f"/api/v1/plans/{plan['id']}/versions/2/diff", headers=r["h"]["legal"]).get_json()
    assert [d["section"] for d in diff if d["changed"]] == ["indicators"]
    for who in ("legal", "financial", "monitoring"):
        assert decide(r, plan["id"], 2, who, "approve").status_code == 201
    assert c.get(f"/api/v1/plans/{plan['id']}", headers=r["h"]["ngo"]).get_json()["status"] == "approved"

    response = c.post("/api/v1/agreements", headers=r["h"]["legal"], json={
        "plan_id": plan["id"], "ministry_signatory_name": "Ministro de Justicia",
        "ministry_signatory_title": "Ministro", "ngo_signatory_name": "Ana Rivas",
        "ngo_signatory_title": "Representante legal", "liquidation_threshold": "80.00"})
    assert response.status_code == 201, response.get_json()
    agreement = response.get_json()
    assert agreement["number"] == f"MJSP-CONV-{year()}-0001"
    assert (agreement["amount"], agreement["liquidation_threshold"], agreement["plan_version"]) == (
        "100000.00", "80.00", 2)
    aid = agreement["id"]
    response = c.post(f"/api/v1/agreements/{aid}/sign", headers=r["h"]["legal"],
                      data={"signed_on": iso("2026-01-20"), "scan": (io.BytesIO(tiny_pdf()), "firmado.pdf")},
                      content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["signed_scan_sha256"]) == 64
    assert_problem(c.post(f"/api/v1/agreements/{aid}/start", headers=r["h"]["legal"]), 409, "administrator_required")
    response = c.post(f"/api/v1/agreements/{aid}/administrator", headers=r["h"]["legal"],
                      json={"user_id": r["users"]["administrator"].id})
    assert response.status_code == 200, response.get_json()
    started = c.post(f"/api/v1/agreements/{aid}/start", headers=r["h"]["legal"]).get_json()
    assert started["status"] == "in_execution"
    assert [h["to_status"] for h in started["history"]] == ["draft", "signed", "in_execution"]
    # the list gives each agreement's summary; its clauses, lines, tranches and history are in the detail
    (listed,) = c.get("/api/v1/agreements", headers=r["h"]["ngo"]).get_json()["items"]
    assert (listed["id"], listed["number"], listed["status"], listed["amount"], listed["plan_version"]) == (
        aid, f"MJSP-CONV-{year()}-0001", "in_execution", "100000.00", 2)
    assert listed["organization_name"] == "Fundación Paz y Futuro" and listed["administrator"]
    assert not {"budget_lines", "tranches", "history", "object"} & set(listed)
    detail = c.get(f"/api/v1/agreements/{aid}", headers=r["h"]["ngo"]).get_json()
    assert [line["amount"] for line in detail["budget_lines"]] and detail["tranches"] and detail["history"]

    pdf = c.get(f"/api/v1/agreements/{aid}/document.pdf", headers=r["h"]["ngo"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert f"MJSP-CONV-{year()}-0001" in text and "Fundación Paz y Futuro" in text
    assert "$60,000.00" in text and dmy("2026-02-15") in text and "$100,000.00" in text  # the first tranche

    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"plan.created", "plan.submitted", "plan.review_recorded", "plan.draft_saved", "agreement.created",
            "agreement.signed", "agreement.administrator_designated", "agreement.execution_started"} <= set(actions)
    inbox = c.get("/api/v1/notifications?unread=true", headers=r["h"]["ngo"]).get_json()
    assert {"plan.changes_requested", "plan.approved", "agreement.signed"} <= {n["kind"] for n in inbox["items"]}


def test_validation_errors_come_with_field_paths(round_):
    r = round_
    content = plan_content(territory=["0623", "9999"])
    content["budget_lines"][0]["amount"] = "95000.00"
    body = assert_problem(r["client"].post("/api/v1/plans", headers=r["h"]["ngo"], json={
        "allocation_id": r["allocation"].id, "title": "Plan", "content": content}), 422, "validation_error")
    assert "budget_lines" in body["errors"]
    assert "supera la asignación" in body["errors"]["budget_lines"][0]
    assert "territory.1" in body["errors"]

    plan = create_plan(r, plan_content(tranches=[{"planned_date": iso("2026-03-01"), "amount": "10.00",
                                                  "budget_lines": [1]}]))
    body = assert_problem(r["client"].post(f"/api/v1/plans/{plan['id']}/submit", headers=r["h"]["ngo"]),
                          422, "validation_error")
    assert "deben ser iguales" in body["errors"]["tranches"][0]
    assert r["client"].get(f"/api/v1/plans/{plan['id']}", headers=r["h"]["ngo"]).get_json()["status"] == "draft"


def test_schema_errors_name_nested_fields(round_):
    r = round_
    content = plan_content()
    content["activities"][0]["quarter"] = "T5"
    content["tranches"][1]["planned_date"] = "15/06/2026"
    body = assert_problem(r["client"].post("/api/v1/plans", headers=r["h"]["ngo"], json={
        "allocation_id": r["allocation"].id, "title": "Plan", "content": content}), 422, "validation_error")
    assert {"content.activities.0.quarter", "content.tranches.1.planned_date"} <= set(body["errors"])


def test_segregation_and_ngo_cannot_review_through_the_api(round_):
    r = round_
    plan = create_plan(r)
    r["client"].post(f"/api/v1/plans/{plan['id']}/submit", headers=r["h"]["ngo"])
    assert_problem(r["client"].post(f"/api/v1/plans/{plan['id']}/versions/1/reviews", headers=r["h"]["ngo"],
                                    json={"discipline": "legal", "decision": "approve"}), 403, "forbidden")
    both = make_user(["legal_reviewer", "monitoring_reviewer"])
    h = api_headers(r["client"], both)
    assert r["client"].post(f"/api/v1/plans/{plan['id']}/versions/1/reviews", headers=h,
                            json={"discipline": "legal", "decision": "approve"}).status_code == 201
    assert_problem(r["client"].post(f"/api/v1/plans/{plan['id']}/versions/1/reviews", headers=h,
                                    json={"discipline": "monitoring", "decision": "approve"}),
                   409, "segregation_of_duties")


def test_another_organization_gets_404_for_plans_and_agreements(round_):
    r = round_
    plan = create_plan(r)
    stranger = api_headers(r["client"], make_user(["ngo"], organization=make_organization()))
    assert_problem(r["client"].get(f"/api/v1/plans/{plan['id']}", headers=stranger), 404, "not_found")
    assert_problem(r["client"].post(f"/api/v1/plans/{plan['id']}/submit", headers=stranger), 404, "not_found")
    assert r["client"].get("/api/v1/plans", headers=stranger).get_json()["total"] == 0
    assert r["client"].get("/api/v1/plans", headers=r["h"]["ngo"]).get_json()["total"] == 1


def test_a_non_pdf_scan_is_refused(round_):
    from grants.audit import Actor
    from grants.services import agreements, plans

    r = round_
    plan = create_plan(r)
    plans.submit_plan(Actor.for_user(r["users"]["ngo"]), plan["id"])
    for who in ("legal", "financial", "monitoring"):
        plans.record_review(Actor.for_user(r["users"][who]), plan["id"], 1, who, "approve", [])
    agreement = agreements.create_agreement(Actor.for_user(r["users"]["legal"]), plan["id"], {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T", "ngo_signatory_name": "N",
        "ngo_signatory_title": "R"})
    db.session.commit()
    body = assert_problem(r["client"].post(
        f"/api/v1/agreements/{agreement.id}/sign", headers=r["h"]["legal"],
        data={"signed_on": iso("2026-01-20"), "scan": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "firmado.pdf")},
        content_type="multipart/form-data"), 422, "validation_error")
    assert "scan" in body["errors"]
    assert r["client"].get(f"/api/v1/agreements/{agreement.id}", headers=r["h"]["legal"]).get_json()["status"] == "draft"
