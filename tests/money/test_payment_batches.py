"""Payment batches (lotes de pago) through the services: the pain.001.001.09 file validates against
the official XSD and reads back to exactly the batch's items; a payment in at most one live batch
(the service, and the database's partial UNIQUE index below it); cancelling frees; an issued batch
never changes; who may; the manual operations refuse what an issued batch sent to the bank."""
import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grants.audit import verify_chain
from grants.clock import today
from grants.extensions import db
from grants.models import AuditEvent, PaymentBatchItem
from grants.reports import pain001
from grants.services import advances, payment_batches, payments
from grants.services.bank_ids import end_to_end_id
from tests.factories import make_user
from tests.helpers import audit_actions, outcome
from tests.money.batch_helpers import batch_data, issued, made_batch, prepared_advance, some_payments
from tests.money.payment_helpers import act, authorized, payments_setup, prepared


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def test_the_file_validates_and_reads_back_to_the_batch_items(ctx):
    paid = some_payments(ctx, ("100.00", "250.55", "0.01"))
    advance = prepared_advance(ctx)
    batch = made_batch(ctx, paid, [advance])
    data = issued(ctx, batch)

    pain001.validate(data)  # the official schema (sepaxml's pain.001.001.09.xsd)
    parsed = pain001.parse(data)
    assert batch.number == f"FONDOS-LOTE-{batch.id:06d}" == parsed["message_id"] == parsed["payment_info_id"]
    assert parsed["count"] == parsed["info_count"] == 4 == batch.item_count
    assert parsed["control_sum"] == parsed["info_control_sum"] == Decimal("40350.56") == batch.control_sum
    assert parsed["control_sum"] == sum(t.amount for t in parsed["transfers"])
    assert parsed["execution_date"] == today().isoformat()
    assert (parsed["debtor_account"], parsed["debtor_bic"]) == ("100-200-300-4", "BCRSSVSS")
    assert [(t.end_to_end_id, t.amount, t.currency, t.creditor_name, t.creditor_account, t.creditor_bank,
             t.remittance) for t in parsed["transfers"]] == [
        (i.end_to_end_id, i.amount, "USD", i.creditor_name, i.creditor_account, i.creditor_bank, i.remittance)
        for i in batch.items]
    supplier, organization = ctx["supplier"], ctx["organization"]
    assert [(i.end_to_end_id, i.amount, i.creditor_account) for i in batch.items] == [
        (end_to_end_id("payment", paid[0].id), Decimal("100.00"), supplier.bank_account),
        (end_to_end_id("payment", paid[1].id), Decimal("250.55"), supplier.bank_account),
        (end_to_end_id("payment", paid[2].id), Decimal("0.01"), supplier.bank_account),
        (end_to_end_id("advance", advance.id), Decimal("40000.00"), organization.bank_account)]
    assert batch.items[0].remittance == f"Factura {paid[0].invoice.number} / Orden de pago OP-{paid[0].id:06d}"
    assert batch.items[3].remittance == (f"Anticipo N.º {advance.id} / Convenio {ctx['agreement'].number} "
                                         f"desembolso 1")
    assert b"<InstdAmt Ccy=\"USD\">0.01</InstdAmt>" in data


def test_an_issued_batch_returns_the_same_bytes_and_its_hash_is_audited(ctx):
    batch = made_batch(ctx, some_payments(ctx))
    first = issued(ctx, batch)
    second = issued(ctx, batch)
    _, stored = payment_batches.batch_file(act(ctx["treasury3"]), batch.id)
    assert first == second == stored
    assert batch.status == "issued" and batch.file_sha256 == hashlib.sha256(first).hexdigest()
    assert audit_actions("payment_batch", batch.id) == ["payment_batch.created", "payment_batch.issued"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment_batch.issued")).one()
    assert event.after["file_sha256"] == batch.file_sha256 and "file_bytes" not in event.after
    assert outcome(lambda: payment_batches.cancel_batch(act(ctx["treasury2"]), batch.id, "")) == "validation_error"
    assert verify_chain(db.session).ok


def test_a_payment_is_in_one_live_batch_and_cancelling_frees_it(ctx):
    payment = authorized(ctx)
    first = made_batch(ctx, [payment])
    assert outcome(lambda: payment_batches.create_batch(act(ctx["treasury3"]), batch_data([payment.id]))) \
        == "already_in_batch"
    payment_batches.cancel_batch(act(ctx["treasury3"]), first.id, "Cuenta equivocada")
    db.session.commit()
    assert first.status == "cancelled" and [i.live for i in first.items] == [False]
    second = made_batch(ctx, [payment], by="treasury3")
    assert second.items[0].payment_id == payment.id and second.items[0].live
    assert audit_actions("payment_batch", first.id) == ["payment_batch.created", "payment_batch.cancelled"]


def test_the_database_refuses_a_second_live_item_of_one_payment(ctx):
    payment = authorized(ctx)
    batch = made_batch(ctx, [payment])
    with db.session.begin_nested():  # bypassing the service
        db.session.add(PaymentBatchItem(batch_id=batch.id, kind="payment", payment_id=payment.id, amount=1,
                                        end_to_end_id="X", creditor_name="X", creditor_account="1",
                                        creditor_bank="B", remittance="R", live=False))
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(PaymentBatchItem(batch_id=batch.id, kind="payment", payment_id=payment.id, amount=1,
                                            end_to_end_id="X", creditor_name="X", creditor_account="1",
                                            creditor_bank="B", remittance="R", live=True))
    with pytest.raises(IntegrityError):  # exactly one of payment / advance
        with db.session.begin_nested():
            db.session.add(PaymentBatchItem(batch_id=batch.id, kind="payment", payment_id=payment.id,
                                            advance_id=None, amount=0, end_to_end_id="X", creditor_name="X",
                                            creditor_account="1", creditor_bank="B", remittance="R", live=False))
    db.session.rollback()


def test_only_authorized_payments_and_prepared_advances_go_to_the_bank(ctx):
    waiting = prepared(ctx)
    assert outcome(lambda: payment_batches.create_batch(act(ctx["treasury2"]), batch_data([waiting.id]))) \
        == "payment_not_authorized"
    advance = prepared_advance(ctx)
    # the officer who prepared the disbursement does not send it (segregation of duties)
    assert outcome(lambda: payment_batches.create_batch(act(ctx["treasury"]), batch_data(advance_ids=[advance.id]))) \
        == "segregation_of_duties"
    assert outcome(lambda: payment_batches.create_batch(act(ctx["treasury2"]), batch_data([999999]))) == "not_found"
    assert outcome(lambda: payment_batches.create_batch(act(ctx["treasury2"]), batch_data())) == "validation_error"
    for bad in ({"debtor_account_id": "otra"}, {"execution_date": "2026-02-30"},
                {"execution_date": (today() - timedelta(days=1)).isoformat()}, {"advance_ids": ["1; DROP"]}):
        assert outcome(lambda: payment_batches.create_batch(
            act(ctx["treasury2"]), batch_data([waiting.id], **bad))) == "validation_error", bad


def test_who_may_build_download_and_cancel(ctx):
    payment = authorized(ctx)
    for user in (ctx["ngo"], ctx["legal"], ctx["financial"], make_user(["auditor"])):
        assert outcome(lambda: payment_batches.create_batch(act(user), batch_data([payment.id]))) == "forbidden"
    batch = made_batch(ctx, [payment])
    for user in (ctx["ngo"], ctx["legal"]):
        assert outcome(lambda: payment_batches.issue_batch(act(user), batch.id)) == "forbidden"
        assert outcome(lambda: payment_batches.cancel_batch(act(user), batch.id, "x")) == "forbidden"
        assert outcome(lambda: payment_batches.batch_file(act(user), batch.id)) == "not_found"


def test_what_an_issued_batch_sent_is_not_executed_nor_cancelled_by_hand(ctx):
    payment, other = some_payments(ctx)
    advance = prepared_advance(ctx)
    batch = made_batch(ctx, [payment], [advance])
    # an open batch has not gone to the bank: a payment in it may still be cancelled by hand …
    payments.cancel_payment(act(ctx["treasury"]), payment.id, "Factura duplicada")
    db.session.commit()
    # … and then the batch cannot be issued with it
    assert outcome(lambda: payment_batches.issue_batch(act(ctx["treasury2"]), batch.id)) == "batch_stale"
    payment_batches.cancel_batch(act(ctx["treasury2"]), batch.id, "Un pago se canceló")
    db.session.commit()
    batch = made_batch(ctx, [other], [advance])
    issued(ctx, batch)
    assert outcome(lambda: payments.execute_payment(act(ctx["treasury"]), other.id, "TRF-1", today())) \
        == "in_issued_batch"
    assert outcome(lambda: payments.cancel_payment(act(ctx["treasury"]), other.id, "no")) == "in_issued_batch"
    assert outcome(lambda: advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-2", today())) \
        == "in_issued_batch"
    # the bank did not take the file: cancel the batch, and the payment is treasury's again
    payment_batches.cancel_batch(act(ctx["treasury2"]), batch.id, "El banco rechazó el archivo")
    db.session.commit()
    assert outcome(lambda: payments.execute_payment(act(ctx["treasury"]), other.id, "TRF-1", today())) is None


def test_a_hostile_creditor_name_still_makes_a_valid_file(ctx):
    payment = authorized(ctx)
    item_name = '<Cía "Ñandú" & Hijos> ]]> ' + "Á" * 300 + "\x07"
    batch = made_batch(ctx, [payment])
    batch.items[0].creditor_name = item_name[:200]
    batch.items[0].remittance = "Factura <1> & 'ü'"
    db.session.flush()
    from grants.audit import Actor, record_event
    record_event(db.session, Actor.system(), "payment_batch.test_edit", "payment_batch", batch.id)
    data = issued(ctx, batch)
    transfer = pain001.parse(data)["transfers"][0]
    assert transfer.creditor_name == pain001.clean(item_name, 140) and len(transfer.creditor_name) == 140
    assert transfer.creditor_name.startswith('<Cía "Ñandú" & Hijos> ]]> ÁÁ')
    assert transfer.remittance == "Factura <1> & 'ü'"


def test_a_file_the_schema_refuses_is_a_clear_refusal(ctx, monkeypatch):
    batch = made_batch(ctx, [authorized(ctx)])
    monkeypatch.setattr(payment_batches, "_document", lambda b: pain001.Pain001(
        "M" * 5, b.created_at, "x", "x", "x", "x", None, b.execution_date,
        (pain001.Transfer("E", Decimal("-1.00"), "n", "a", "b", "r"),)))
    assert outcome(lambda: payment_batches.issue_batch(act(ctx["treasury2"]), batch.id)) == "invalid_payment_file"
    assert batch.status == "open" and batch.file_sha256 is None


def test_the_bank_statement_executes_what_an_issued_batch_sent_and_the_batch_then_stays(ctx):
    payment, other = some_payments(ctx)
    advance = prepared_advance(ctx)
    batch = made_batch(ctx, [payment, other], [advance])
    issued(ctx, batch)
    item = payment_batches.items_by_end_to_end_id([end_to_end_id("payment", payment.id), "FONDOS-PAG-999999"])
    assert list(item) == [end_to_end_id("payment", payment.id)] and item[end_to_end_id("payment", payment.id)].batch \
        == batch
    payments.execute_payment(act(ctx["treasury"]), payment.id, "BANK-REF-1", today(), by_bank_statement=True)
    advances.disburse_advance(act(ctx["treasury2"]), advance.id, "BANK-REF-2", today(), by_bank_statement=True)
    db.session.commit()
    assert outcome(lambda: payment_batches.cancel_batch(act(ctx["treasury2"]), batch.id, "El banco no lo tomó")) \
        == "batch_partly_executed"
