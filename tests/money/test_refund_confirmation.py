"""Refunds are confirmed by treasury, never self-declared (issue 10 §2, G10): a declaration counts for
nothing until a treasury officer who did not declare it confirms it against the bank, or rejects it
with the reason; the ledger shows declared and confirmed apart."""
from datetime import timedelta

import pytest

from grants.clock import today
from grants.extensions import db
from grants.models import Refund
from grants.services import attachments, expense_statements, ledger, refunds
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.helpers import api_headers, assert_problem, audit_actions
from tests.money.advance_helpers import act, money_setup, row
from tests.money.timeline_advances import declared, disbursed_on
from tests.pdfs import tiny_pdf
from tests.timeline import day


@pytest.fixture
def ctx(app):
    ctx = money_setup()
    ctx["advance"] = disbursed_on(ctx, day("2026-02-16"), amount="1000.00")
    return ctx


def test_a_declared_refund_counts_for_nothing_until_treasury_confirms_it(ctx):
    advance = ctx["advance"]
    refund = declared(ctx, advance, "1000.00")
    db.session.refresh(advance)
    assert (refund.status, advance.refunded_amount, advance.status) == ("declared", 0, "disbursed")
    figures = ledger.balances(ctx["agreement"])
    assert (figures.refunded, figures.refunds_declared, figures.outstanding) == (0, 1000, 1000)

    refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    db.session.commit()
    db.session.refresh(advance)
    assert (refund.status, refund.decided_by_id) == ("confirmed", ctx["treasury"].id)
    assert (advance.refunded_amount, advance.status) == (1000, "liquidated")  # receipts 0 + confirmed 1,000
    figures = ledger.balances(ctx["agreement"])
    assert (figures.refunded, figures.refunds_declared, figures.outstanding) == (1000, 0, 0)
    assert audit_actions("advance", advance.id)[-3:] == [
        "advance.refund_declared", "advance.refund_confirmed", "advance.liquidated"]


def test_receipts_and_a_declared_refund_do_not_liquidate_the_advance(ctx):
    advance = ctx["advance"]
    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id,
                                                    [row(amount="600.00", issue_date=day("2026-03-10").isoformat())])
    expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True)
    refund = declared(ctx, advance, "400.00")
    db.session.refresh(advance)
    assert (advance.liquidated_amount, advance.refunded_amount, advance.status) == (600, 0, "disbursed")
    refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    db.session.commit()
    db.session.refresh(advance)
    assert advance.status == "liquidated"


def test_a_rejected_refund_says_why_and_frees_its_reference(ctx):
    advance = ctx["advance"]
    refund = declared(ctx, advance, "300.00", reference="DEP-77")
    with pytest.raises(ValidationFailed):
        refunds.reject_refund(act(ctx["treasury"]), refund.id, "  ")
    refunds.reject_refund(act(ctx["treasury"]), refund.id, "El depósito DEP-77 no aparece en el estado de cuenta.")
    db.session.commit()
    assert (refund.status, refund.rejection_reason) == ("rejected", "El depósito DEP-77 no aparece en el estado de cuenta.")
    assert ledger.balances(ctx["agreement"]).refunds_declared == 0
    with pytest.raises(Conflict) as twice:
        refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    assert twice.value.code == "invalid_transition"
    db.session.rollback()
    again = declared(ctx, advance, "300.00", reference="DEP-77")  # the corrected declaration
    assert again.status == "declared"


def test_nobody_confirms_what_they_declared_and_the_ngo_never_confirms(ctx):
    refund = declared(ctx, ctx["advance"], "100.00", by="treasury")  # treasury declares on the NGO's behalf
    with pytest.raises(Conflict) as own:
        refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    assert own.value.code == "segregation_of_duties"
    db.session.rollback()
    with pytest.raises(Forbidden):
        refunds.confirm_refund(act(ctx["ngo"]), refund.id)
    db.session.rollback()
    refunds.confirm_refund(act(ctx["treasury2"]), refund.id)
    db.session.commit()
    assert refund.status == "confirmed"


def test_no_confirmation_without_the_deposit_slip_and_the_slip_is_checked_by_content(ctx):
    refund = declared(ctx, ctx["advance"], "100.00", slip=False)
    with pytest.raises(Conflict) as missing:
        refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    assert missing.value.code == "slip_missing"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as fake:
        refunds.attach_slip(act(ctx["ngo"]), refund.id, "boleta.pdf", b"%PDF-1.4 <html><script>x</script></html>")
    assert set(fake.value.errors) == {"slip"}
    db.session.rollback()
    refunds.attach_slip(act(ctx["ngo"]), refund.id, "boleta.pdf", tiny_pdf("Depósito"))
    db.session.commit()
    [slip] = attachments.attachments_of(refund, "deposit_slip")
    assert (slip.content_type, slip.filename) == ("application/pdf", "boleta.pdf")
    refunds.confirm_refund(act(ctx["treasury"]), refund.id)
    db.session.commit()
    assert refund.status == "confirmed"


def test_declarations_never_pass_what_is_still_outstanding(ctx):
    advance = ctx["advance"]
    declared(ctx, advance, "700.00")
    with pytest.raises(Conflict) as over:
        declared(ctx, advance, "300.01")
    assert over.value.code == "exceeds_outstanding"
    db.session.rollback()
    declared(ctx, advance, "300.00")


def test_the_deposit_date_is_neither_future_nor_before_the_transfer(ctx):
    with pytest.raises(ValidationFailed) as refused:
        declared(ctx, ctx["advance"], "10.00", on=today() + timedelta(days=1))
    assert set(refused.value.errors) == {"refunded_on"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        declared(ctx, ctx["advance"], "10.00", on=day("2026-02-15"))
    assert set(refused.value.errors) == {"refunded_on"}


def test_the_api_declares_then_treasury_confirms(ctx, client):
    advance = ctx["advance"]
    ngo = api_headers(client, ctx["ngo"])
    body = {"advance_id": advance.id, "amount": "250.00", "bank_name": "Banco Cuscatlán",
            "bank_reference": "DEP-API-1", "refunded_on": today().isoformat()}
    response = client.post("/api/v1/refunds", json=body, headers={**ngo, "Idempotency-Key": "reintegro-api-0001"})
    assert response.status_code == 201, response.get_json()
    refund = response.get_json()
    assert (refund["status"], refund["slips"]) == ("declared", [])
    treasury = api_headers(client, ctx["treasury"])
    assert_problem(client.post(f"/api/v1/refunds/{refund['id']}/confirm", headers=treasury), 409, "slip_missing")
    upload = client.post(f"/api/v1/refunds/{refund['id']}/slip", headers=ngo,
                         data={"file": (__import__("io").BytesIO(tiny_pdf("Boleta")), "boleta.pdf")})
    assert upload.status_code == 201 and upload.get_json()["slips"][0]["content_type"] == "application/pdf"
    slip_url = upload.get_json()["slips"][0]["url"]
    assert client.get(slip_url, headers=treasury).data.startswith(b"%PDF-")
    assert_problem(client.post(f"/api/v1/refunds/{refund['id']}/confirm", headers=ngo), 403, "forbidden")
    done = client.post(f"/api/v1/refunds/{refund['id']}/confirm", headers=treasury)
    assert done.status_code == 200 and done.get_json()["status"] == "confirmed"
    balances = client.get(f"/api/v1/agreements/{ctx['agreement'].id}/balances", headers=treasury).get_json()
    assert (balances["refunded"], balances["refunds_declared"]) == ("250.00", "0.00")
    assert db.session.get(Refund, refund["id"]).decided_by_id == ctx["treasury"].id
