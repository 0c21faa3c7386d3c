"""«Mi trabajo» of the reviewers, the auditor, the NGOs and the owners of commitments: each item
appears when it starts waiting for that person, disappears once done, and never appears to someone
else (another discipline, another organization, who declared or uploaded it)."""
from datetime import timedelta

import pytest

from grants import clock
from grants.audit import Actor
from grants.extensions import db
from grants.services import (
    beneficiary_imports,
    due_process,
    expense_statements,
    final_liquidation,
    meetings,
    plans,
    refunds,
)
from tests.agreement_helpers import agreement_in_execution
from tests.closing import helpers as closing_helpers
from tests.factories import make_allocation, make_organization, make_user, plan_content, valid_dui
from tests.followup import helpers as followup_helpers
from tests.helpers import login
from tests.meetings import helpers as meeting_helpers
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.web.test_beneficiary_pages import GOOD, HEADER, batch_id_of, upload
from tests.web.test_work_queues import queue_links


def act(user):
    return Actor.for_user(user)


def test_a_plan_waits_for_each_discipline_then_goes_back_to_its_own_ngo_only(client, app):
    ctx = agreement_in_execution()                    # its reviewers; its NGO is the "other" one here
    organization = make_organization()
    ngo = make_user(["ngo"], organization=organization)
    plan = plans.create_plan(act(ngo), make_allocation(organization).id, "Plan", plan_content())
    plans.submit_plan(act(ngo), plan.id)
    db.session.commit()
    review = f"/plans/{plan.id}/review"
    login(client, ctx["legal"])
    assert queue_links(client, "reviews_legal") == [review]
    plans.record_review(act(ctx["legal"]), plan.id, 1, "legal", "approve", [])
    plans.record_review(act(ctx["financial"]), plan.id, 1, "financial", "approve", [])
    db.session.commit()
    assert queue_links(client, "reviews_legal") == []
    login(client, ctx["monitoring"])
    assert queue_links(client, "reviews_monitoring") == [review]
    login(client, ngo)
    assert queue_links(client, "plans_returned") == []
    plans.record_review(act(ctx["monitoring"]), plan.id, 1, "monitoring", "request_changes",
                        [{"section": "indicators", "text": "Agregue un indicador de permanencia escolar."}])
    db.session.commit()
    assert queue_links(client, "plans_returned") == [f"/plans/{plan.id}"]
    login(client, ctx["ngo"])
    assert queue_links(client, "plans_returned") == []
    login(client, ctx["monitoring"])
    assert queue_links(client, "reviews_monitoring") == []


def test_a_confirmed_list_waits_for_monitoring_never_for_its_uploader(client, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    ctx = agreement_in_execution()
    login(client, ctx["ngo"])
    rows = f"{HEADER}\n{GOOD.format(dui=valid_dui(3), name='Ana')}\n"
    batch_id = batch_id_of(upload(client, ctx["agreement"].id, rows))
    beneficiary_imports.confirm_batch(act(ctx["ngo"]), batch_id)
    db.session.commit()
    assert "lists_to_validate" not in client.get("/trabajo").get_data(as_text=True)
    login(client, ctx["monitoring"])
    assert queue_links(client, "lists_to_validate") == [f"/beneficiary-imports/{batch_id}"]
    beneficiary_imports.validate_batch(act(ctx["monitoring"]), batch_id)
    db.session.commit()
    assert queue_links(client, "lists_to_validate") == []


def test_a_proposed_supplier_waits_for_the_financial_review(client, app):
    ctx = agreement_in_execution()
    supplier = ph.suppliers.propose_supplier(act(ctx["ngo"]), ctx["agreement"].id, ph.supplier_data())
    db.session.commit()
    login(client, ctx["financial"])
    assert queue_links(client, "suppliers_to_validate") == [f"/suppliers/{supplier.id}"]
    ph.suppliers.validate_supplier(act(ctx["financial"]), supplier.id)
    db.session.commit()
    assert queue_links(client, "suppliers_to_validate") == []


def test_a_declared_refund_waits_for_a_treasury_officer_other_than_who_declared_it(client, app):
    ctx = ah.money_setup()
    advance = ah.disbursed(ctx)
    by_ngo = ah.refunded(ctx, advance, "100.00", "BOL-1", confirm_by=None)
    by_treasury = ah.refunded(ctx, advance, "50.00", "BOL-2", user="treasury", confirm_by=None)
    page = f"/advances/{advance.id}"
    login(client, ctx["treasury"])
    assert queue_links(client, "refunds_to_confirm") == [page]               # the NGO's, not its own
    login(client, ctx["treasury2"])
    assert queue_links(client, "refunds_to_confirm") == [page, page]
    refunds.confirm_refund(act(ctx["treasury2"]), by_ngo.id)
    refunds.confirm_refund(act(ctx["treasury2"]), by_treasury.id)
    db.session.commit()
    assert queue_links(client, "refunds_to_confirm") == []


def test_an_ngo_answers_a_measure_from_its_list_until_it_replies(client, app):
    ctx = agreement_in_execution()
    incident = followup_helpers.recorded(ctx, "suspension")
    other = agreement_in_execution()
    login(client, other["ngo"])
    assert queue_links(client, "incidents_to_answer") == []
    login(client, ctx["ngo"])
    assert queue_links(client, "incidents_to_answer") == [f"/incidents/{incident.id}"]
    due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Las listas se entregaron el 12 de abril.")
    db.session.commit()
    assert queue_links(client, "incidents_to_answer") == []


def test_commitments_due_within_a_week_wait_for_their_owner_only(client, app):
    ctx = agreement_in_execution()
    soon = (clock.today() + timedelta(days=3)).isoformat()
    later = (clock.today() + timedelta(days=30)).isoformat()
    meeting = meeting_helpers.recorded(ctx, held_on=clock.today().isoformat(), commitments=[
        meeting_helpers.commitment(ctx["ngo"], soon), meeting_helpers.commitment(ctx["ngo"], later, "Otra cosa."),
        meeting_helpers.commitment(ctx["legal"], soon, "Revisar el informe.")])
    mine = [c for c in meeting.commitments if c.owner_id == ctx["ngo"].id and c.due_on.isoformat() == soon]
    page = f"/meetings/{meeting.id}#compromisos"
    login(client, ctx["ngo"])
    assert queue_links(client, "commitments_due") == [page]
    meetings.complete_commitment(act(ctx["ngo"]), mine[0].id, "Entregada.")
    db.session.commit()
    assert queue_links(client, "commitments_due") == []


@pytest.fixture
def closing(app):
    return closing_helpers.ready_in_closing()


def test_a_final_liquidation_waits_for_each_discipline_and_a_send_back_for_the_administrator(client, closing):
    ctx = closing
    liquidation = closing_helpers.prepare(ctx)
    page = f"/agreements/{ctx['agreement'].id}/final-liquidation"
    login(client, ctx["legal"])
    assert queue_links(client, "liquidations_legal") == [page]
    closing_helpers.sign(ctx, "legal")
    assert queue_links(client, "liquidations_legal") == []
    login(client, ctx["administrator"])
    assert queue_links(client, "liquidations_returned") == []
    login(client, ctx["financial"])
    assert queue_links(client, "liquidations_financial") == [page]
    final_liquidation.sign_off(act(ctx["financial"]), ctx["agreement"].id, liquidation.revision, "financial",
                               "send_back", "Falta el acta de la última entrega.")
    db.session.commit()
    assert queue_links(client, "liquidations_financial") == []
    login(client, ctx["administrator"])
    assert queue_links(client, "liquidations_returned") == [page]


def test_an_open_finding_waits_for_the_auditor_until_decided(client, closing):
    item = closing_helpers.finding(closing["agreement"])
    login(client, closing["auditor"])
    assert queue_links(client, "findings_to_decide") == [f"/audit/findings/{item.id}"]
    closing_helpers.decide_finding(item, "justified")
    assert queue_links(client, "findings_to_decide") == []


def test_a_submitted_statement_waits_for_the_financial_review_until_each_receipt_is_decided(client, app):
    ctx = ah.money_setup()
    advance = ah.disbursed(ctx)
    login(client, ctx["ngo"])
    assert queue_links(client, "statements_due") == [f"/advances/{advance.id}"]
    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [ah.row()])
    db.session.commit()
    assert queue_links(client, "statements_due") == []          # submitted: now the ministry's turn
    login(client, ctx["financial"])
    assert queue_links(client, "statements_to_review") == [f"/expense-statements/{statement.id}"]
    expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True)
    db.session.commit()
    assert queue_links(client, "statements_to_review") == []
