"""Due process before a measure takes effect (issue 10 §5): the NGO is notified and may reply with
attachments within INCIDENT_REPLY_WORKING_DAYS working days; the ministry applies or withdraws the
measure only after the reply or the deadline — unless the measure is urgent and says why."""
from datetime import date, timedelta

import pytest

from grants import clock
from grants.clock import add_working_days, today
from grants.extensions import db
from grants.models import Incident
from grants.services import attachments, due_process, incidents, ledger
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.factories import make_user
from tests.followup.helpers import act, recorded
from tests.helpers import api_headers, assert_problem, csrf_token, outcome, web_login
from tests.money.payment_helpers import payments_setup
from tests.pdfs import tiny_pdf, tiny_png


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def test_working_days_skip_the_weekend():
    friday = date(2026, 12, 4)
    assert friday.weekday() == 4
    assert add_working_days(friday, 1) == date(2026, 12, 7)      # Monday
    assert add_working_days(friday, 5) == date(2026, 12, 11)     # next Friday
    assert add_working_days(date(2026, 12, 7), 5) == date(2026, 12, 14)


def test_a_suspension_waits_for_the_reply_and_the_agreement_keeps_running(ctx):
    incident = recorded(ctx, "suspension")
    db.session.refresh(ctx["agreement"])
    assert (incident.measure_status, ctx["agreement"].status) == ("pending_reply", "in_execution")
    assert incident.reply_due == add_working_days(today(), 5)
    with pytest.raises(Conflict) as early:
        due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "")
    assert early.value.code == "reply_period_open"


def test_the_ngo_replies_with_attachments_and_then_the_measure_is_applied(ctx):
    incident = recorded(ctx, "suspension")
    with pytest.raises(Forbidden):
        due_process.reply_to_incident(act(ctx["administrator"]), incident.id, "No soy la ONG", [])
    db.session.rollback()
    reply = due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Las listas se entregaron el 12; adjuntamos "
                                          "el acuse.", [("acuse.pdf", tiny_pdf("Acuse")), ("foto.png", tiny_png())])
    db.session.commit()
    assert [a.filename for a in attachments.attachments_of(reply, "incident_reply")] == ["acuse.pdf", "foto.png"]
    with pytest.raises(Conflict) as twice:
        due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Otra vez", [])
    assert twice.value.code == "reply_exists"
    db.session.rollback()
    due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "El acuse no cubre abril.")
    db.session.commit()
    db.session.refresh(ctx["agreement"])
    assert (incident.measure_status, ctx["agreement"].status) == ("in_effect", "suspended")
    assert incident.measure_decided_by_id == ctx["administrator"].id


def test_a_measure_is_withdrawn_only_with_its_reason(ctx):
    incident = recorded(ctx, "sanction", sanction_type="written_warning")
    due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Ya se corrigió.", [])
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        due_process.decide_measure(act(ctx["administrator"]), incident.id, False, " ")
    assert set(refused.value.errors) == {"note"}
    db.session.rollback()
    due_process.decide_measure(act(ctx["administrator"]), incident.id, False, "El descargo demuestra la entrega.")
    db.session.commit()
    assert incident.measure_status == "withdrawn"


def test_without_a_reply_the_measure_is_decided_after_the_deadline(ctx):
    incident = recorded(ctx, "sanction", sanction_type="written_warning")
    with clock.at(incident.reply_due + timedelta(days=1)):
        with pytest.raises(Conflict) as late:
            due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Tarde", [])
        assert late.value.code == "reply_overdue"
        db.session.rollback()
        due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "Sin descargo en el plazo.")
        db.session.commit()
    assert incident.measure_status == "in_effect"


def test_an_urgent_suspension_takes_effect_at_once_and_must_say_why(ctx):
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, "suspension", urgent=True, urgent_reason="")
    assert set(refused.value.errors) == {"urgent_reason"}
    db.session.rollback()
    incident = recorded(ctx, "suspension", urgent=True, urgent_reason="Se detectó desvío de fondos en curso.")
    db.session.refresh(ctx["agreement"])
    assert (incident.measure_status, ctx["agreement"].status) == ("in_effect", "suspended")


def test_an_observation_needs_no_reply(ctx):
    incident = recorded(ctx, "observation")
    assert (incident.measure_status, incident.reply_due) == ("in_effect", None)
    with pytest.raises(Conflict) as refused:
        due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "x", [])
    assert refused.value.code == "no_reply_expected"


def test_a_sanction_states_its_type_and_a_fine_its_amount(ctx):
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, "sanction")
    assert set(refused.value.errors) == {"sanction_type"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        recorded(ctx, "sanction", sanction_type="fine", fine_amount="0")
    assert set(refused.value.errors) == {"fine_amount"}
    db.session.rollback()
    incident = recorded(ctx, "sanction", sanction_type="fine", fine_amount="1500.00")
    assert ledger.balances(ctx["agreement"]).fines_assessed == 0  # not in effect before the decision
    due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Pedimos que se reconsidere.", [])
    due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "Se confirma la multa.")
    db.session.commit()
    assert ledger.balances(ctx["agreement"]).fines_assessed == 1500


def test_an_incident_waiting_for_its_decision_is_not_resolved(ctx):
    incident = recorded(ctx, "sanction", sanction_type="written_warning")
    with pytest.raises(Conflict) as refused:
        incidents.resolve_incident(act(ctx["administrator"]), incident.id, "Cerrado")
    assert refused.value.code == "measure_pending"


def test_the_pages_show_the_deadline_take_the_reply_and_the_decision(ctx, client, app):
    incident = recorded(ctx, "suspension")
    web_login(client, ctx["ngo"].email)
    page = f"/incidents/{incident.id}"
    html = client.get(page).get_data(as_text=True)
    from grants.formats import day

    assert 'data-testid="reply-form"' in html and f"descargo hasta el {day(incident.reply_due)}" in html
    response = client.post(f"{page}/reply", data={"csrf_token": csrf_token(client, page),
                                                  "text": "Entregamos las listas.",
                                                  "files": [(__import__("io").BytesIO(tiny_pdf("Listas")), "listas.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    client = app.test_client()
    web_login(client, ctx["administrator"].email)
    html = client.get(page).get_data(as_text=True)
    assert "Entregamos las listas." in html and "listas.pdf" in html and 'data-testid="measure-form"' in html
    response = client.post(f"{page}/measure", data={"csrf_token": csrf_token(client, page), "decision": "withdraw",
                                                    "note": "Entregó a tiempo."})
    assert response.status_code == 303
    assert db.session.get(Incident, incident.id).measure_status == "withdrawn"


def test_the_api_takes_the_reply_and_the_decision(ctx, client):
    incident = recorded(ctx, "sanction", sanction_type="written_warning")
    ngo = api_headers(client, ctx["ngo"])
    reply = client.post(f"/api/v1/incidents/{incident.id}/reply", headers=ngo,
                        data={"text": "Descargo por la API", "files": [(__import__("io").BytesIO(tiny_png()), "p.png")]})
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["reply"]["text"] == "Descargo por la API" and body["reply"]["attachments"][0]["filename"] == "p.png"
    admin = api_headers(client, ctx["administrator"])
    assert_problem(client.post(f"/api/v1/incidents/{incident.id}/measure", headers=admin,
                               json={"apply": False}), 422, "validation_error")
    done = client.post(f"/api/v1/incidents/{incident.id}/measure", headers=admin, json={"apply": True, "note": "Sí"})
    assert done.status_code == 200 and done.get_json()["measure_status"] == "in_effect"
    other = make_user(["ngo"], organization=__import__("tests.factories", fromlist=["x"]).make_organization())
    assert_problem(client.get(f"/api/v1/incidents/{incident.id}", headers=api_headers(client, other)), 404, "not_found")


INCIDENT_ACTIONS = {
    "reply": lambda user, i: due_process.reply_to_incident(act(user), i, "Descargo", []),
    "decide_measure": lambda user, i: due_process.decide_measure(act(user), i, False, "Se retira."),
    "resolve": lambda user, i: incidents.resolve_incident(act(user), i, "Resuelto."),
}


@pytest.mark.parametrize("moment", ["waiting", "replied", "deadline_passed", "decided"])
def test_who_may_act_on_an_incident_is_one_rule_for_the_service_and_the_page(ctx, moment):
    """``Incident.refusal_for`` (issue 13 §3) is what the service answers, person by person, at each
    moment of due process; the page's buttons follow it."""
    incident = recorded(ctx, "sanction", sanction_type="written_warning")
    if moment in ("replied", "decided"):
        due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Descargo", [])
        db.session.commit()
    if moment == "decided":
        due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "")
        db.session.commit()
    on = incident.reply_due + timedelta(days=1) if moment == "deadline_passed" else today()
    seen = set()
    with clock.at(on):
        for name in ("ngo", "administrator", "treasury", "legal"):
            for action, call in INCIDENT_ACTIONS.items():
                expected = db.session.get(Incident, incident.id).refusal_for(ctx[name], action)
                assert outcome(lambda: call(ctx[name], incident.id)) == expected, (moment, name, action)
                seen.add(expected)
    assert None in seen and "forbidden" in seen
