"""Bank statements (camt.053.001.08): every line matched executes what it pays or confirms what it
collects, with the bank's date and reference; each planted mismatch stays unmatched with its reason
and nothing is executed for it; the same file twice changes nothing; reconciliation equals the
ledger to the cent."""
from __future__ import annotations

from decimal import Decimal

import pytest
import xmlschema
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from grants.domain_errors import Conflict
from grants.extensions import db
from grants.models import Advance, AuditEvent, BankStatementLine, Payment
from grants.reports.camt053 import statement_xml
from grants.services import bank_statements
from grants.services.bank_ids import end_to_end_id
from grants.services.bank_statement_files import SCHEMA_PATH, parse
from grants.workflows.advance import AdvanceState
from grants.workflows.bank_statement import LineState
from grants.workflows.deposit import DepositState
from grants.workflows.payment import PaymentState
from tests.money import advance_helpers as ah
from tests.money.bank_statement_helpers import (
    ACCOUNT,
    authorized,
    by_number,
    camt,
    credit,
    debit,
    declared_refund,
    events,
    setup,
    statements,
    upload,
)
from tests.timeline import today


@pytest.fixture
def ctx(app):
    return setup()


def test_the_writer_is_valid_against_the_iso_schema_and_the_reader_reads_every_entry(app):
    data = statement_xml(ACCOUNT, "EXT-A", today(), [
        {"direction": "debit", "amount": "10.50", "end_to_end_id": "FONDOS-PAG-000001", "bank_reference": "B1",
         "remittance": "Factura F-1", "counterparty": "Proveedor"},
        {"direction": "debit", "bank_reference": "B2", "transactions": [
            {"amount": "1.25", "end_to_end_id": "FONDOS-PAG-000002"}, {"amount": "2.75", "remittance": "Otro"}]},
        {"direction": "credit", "amount": "3.00", "bank_reference": "DEP-1", "counterparty": "ONG"}],
        opening_balance=Decimal("100.00"))
    xmlschema.XMLSchema(str(SCHEMA_PATH)).validate(data.decode())
    parsed = parse(data)
    assert (parsed.account, parsed.statement_ref, parsed.opening_balance, parsed.closing_balance) == \
        (ACCOUNT, "EXT-A", Decimal("100.00"), Decimal("88.50"))
    assert [(x.direction, x.amount, x.end_to_end_id, x.bank_reference) for x in parsed.lines] == [
        ("debit", Decimal("10.50"), "FONDOS-PAG-000001", "B1"),
        ("debit", Decimal("1.25"), "FONDOS-PAG-000002", "B2"),
        ("debit", Decimal("2.75"), None, "B2"),
        ("credit", Decimal("3.00"), None, "DEP-1")]
    assert parsed.lines[0].remittance == "Factura F-1" and parsed.lines[0].counterparty == "Proveedor"
    assert parsed.lines[3].counterparty == "ONG" and all(x.booking_date == today() for x in parsed.lines)


def test_a_statement_executes_payments_disburses_advances_and_confirms_refunds(ctx):
    one, two, three = authorized(ctx, "100.00"), authorized(ctx, "250.40"), authorized(ctx, "80.10")
    refund = declared_refund(ah.money_setup(), "500.00", "DEP-REINT-1")  # another agreement's advance
    advance = ah.prepared(ctx)
    statement, created = upload(ctx, camt([
        debit(one, reference="TRF-BANCO-1"),
        {"direction": "debit", "bank_reference": "LOTE-7", "transactions": [
            {"amount": str(two.amount), "end_to_end_id": end_to_end_id("payment", two.id)},
            {"amount": str(three.amount), "end_to_end_id": end_to_end_id("payment", three.id)}]},
        debit(advance, "advance", reference="TRF-ANT-2"),
        credit("500.00", "DEP-REINT-1")]))
    assert created and statement.line_count == 5
    lines = by_number(statement)
    assert [lines[n].status for n in range(1, 6)] == [LineState.MATCHED] * 5, [lines[n].reason for n in lines]
    assert [lines[n].match_method for n in range(1, 6)] == ["e2e"] * 4 + ["amount_reference"]
    for payment, reference in ((one, "TRF-BANCO-1"), (two, "LOTE-7"), (three, "LOTE-7")):
        db.session.refresh(payment)
        assert (payment.status, payment.transfer_date, payment.bank_reference, payment.executed_by_id) == \
            (PaymentState.EXECUTED, today(), reference, ctx["treasury3"].id)
    db.session.refresh(advance)
    assert (advance.status, advance.transfer_date, advance.bank_reference) == \
        (AdvanceState.DISBURSED, today(), "TRF-ANT-2")
    db.session.refresh(refund)
    assert refund.status == DepositState.CONFIRMED and refund.decided_by_id == ctx["treasury3"].id
    assert (lines[1].payment_id, lines[4].advance_id, lines[5].refund_id) == (one.id, advance.id, refund.id)
    assert statement.total_debits == one.amount + two.amount + three.amount + advance.amount


def test_reconciliation_equals_the_ledger_to_the_cent(ctx):
    payments = [authorized(ctx, amount) for amount in ("1234.50", "0.25", "999.75", "310.00")]
    advance = ah.prepared(ctx)
    statement, _ = upload(ctx, camt([debit(p) for p in payments] + [debit(advance, "advance")]
                                    + [debit(payments[0], amount="5.00", end_to_end_id=None, remittance="Comisión")]))
    figures = bank_statements.reconciliation(ACCOUNT, today())
    executed = db.session.scalar(select(func.sum(Payment.amount)).where(
        Payment.status == PaymentState.EXECUTED, Payment.transfer_date == today()))
    disbursed = db.session.scalar(select(func.sum(Advance.amount)).where(
        Advance.status == AdvanceState.DISBURSED, Advance.transfer_date == today()))
    assert executed == Decimal("2544.50") and disbursed == advance.amount
    assert figures.matched_debits == figures.ledger_debits == executed + disbursed
    assert figures.debit_difference == Decimal("0.00") and figures.unmatched_debits == Decimal("5.00")
    assert isinstance(figures.matched_debits, Decimal) and figures.executed_not_on_statements == Decimal("0.00")
    assert bank_statements.reconciliation("otra-cuenta", today()).matched_debits == Decimal("0.00")


def test_each_planted_mismatch_stays_unmatched_with_its_reason_and_nothing_is_executed(ctx):
    good, wrong, twice = authorized(ctx, "100.00"), authorized(ctx, "200.00"), authorized(ctx, "300.00")
    refund = declared_refund(ah.money_setup(), "50.00", "DEP-50")
    before = events()
    statement, _ = upload(ctx, camt([
        debit(good),
        debit(wrong, amount="200.01"),
        debit(twice), debit(twice, reference="OTRA-REF"),
        {"direction": "debit", "amount": "77.00", "end_to_end_id": "FONDOS-PAG-999999", "bank_reference": "X1"},
        {"direction": "debit", "amount": "77.00", "bank_reference": "X2", "remittance": "Pago sin referencia"},
        credit("60.00", "DEP-50"),
        {"direction": "debit", "amount": "100.00", "currency": "EUR", "bank_reference": "X3",
         "end_to_end_id": end_to_end_id("payment", good.id)}]))
    lines = by_number(statement)
    expect = {1: ("matched", None), 2: ("unmatched", "wrong_amount"), 3: ("matched", None),
              4: ("unmatched", "already_reconciled"), 5: ("unmatched", "unknown_reference"),
              6: ("unmatched", "unknown_reference"), 7: ("unmatched", "exceeds_declared"),
              8: ("unmatched", "currency")}
    assert {n: (line.status.value, line.reason_code) for n, line in lines.items()} == expect
    assert "Importe distinto" in lines[2].reason and "$200.01" in lines[2].reason and "$200.00" in lines[2].reason
    assert lines[4].reason.startswith("Ya conciliado") and "línea 3" in lines[4].reason
    assert lines[5].reason.startswith("Referencia desconocida")
    assert "mayor que lo declarado" in lines[7].reason and lines[8].reason.startswith("Moneda EUR")
    db.session.refresh(wrong)
    db.session.refresh(refund)
    assert wrong.status == PaymentState.AUTHORIZED and wrong.bank_reference is None
    assert refund.status == DepositState.DECLARED
    assert events() > before
    # A second statement repeating an executed payment: «ya conciliado», nothing executed twice.
    again, created = upload(ctx, camt([debit(good, reference="REPETIDO")]))
    assert created and by_number(again)[1].reason_code == "already_reconciled"
    db.session.refresh(good)
    assert good.bank_reference == f"BR-payment-{good.id}"
    assert db.session.scalar(select(func.count()).select_from(BankStatementLine).where(
        BankStatementLine.payment_id == good.id)) == 1


def test_the_same_file_again_changes_nothing_and_the_same_id_with_other_content_is_refused(ctx):
    payment = authorized(ctx)
    data = camt([debit(payment)], statement_id="EXT-UNICO")
    first, created = upload(ctx, data)
    counted = (events(), statements(), db.session.scalar(select(func.count()).select_from(BankStatementLine)))
    second, created_again = upload(ctx, data, user="treasury2")
    assert created and not created_again and second.id == first.id
    assert (events(), statements(), db.session.scalar(select(func.count()).select_from(BankStatementLine))) == counted
    other = camt([debit(payment, reference="OTRO")], statement_id="EXT-UNICO")
    with pytest.raises(Conflict) as refused:
        upload(ctx, other)
    assert refused.value.code == "statement_already_uploaded" and "EXT-UNICO" in str(refused.value.detail)
    db.session.rollback()
    assert (events(), statements()) == counted[:2]


def test_a_refusal_of_the_service_leaves_the_line_unmatched_and_nothing_half_done(ctx):
    """Segregation of duties: the officer who prepared the disbursement uploads the statement."""
    advance = ah.prepared(ctx)
    payment = authorized(ctx)
    statement, _ = upload(ctx, camt([debit(advance, "advance"), debit(payment)]), user="treasury")
    lines = by_number(statement)
    assert (lines[1].status, lines[1].reason_code) == (LineState.UNMATCHED, "refused")
    assert "segregación de funciones" in lines[1].reason
    db.session.refresh(advance)
    assert advance.status == AdvanceState.PREPARED and advance.transfer_date is None
    assert lines[2].status == LineState.MATCHED  # the payment (no such rule) went through


def test_without_an_end_to_end_id_by_amount_and_reference(ctx):
    payment = authorized(ctx, "412.00")
    same_amount = authorized(ctx, "412.00")
    advance = ah.prepared(ctx)
    number = ctx["agreement"].number
    statement, _ = upload(ctx, camt([
        {"direction": "debit", "amount": "412.00", "bank_reference": "TRF-9",
         "remittance": f"Pago factura {payment.invoice.number}"},
        {"direction": "debit", "amount": str(advance.amount), "bank_reference": "TRF-10",
         "remittance": f"Convenio {number} desembolso 1"},
        {"direction": "debit", "amount": "412.00", "bank_reference": "TRF-11", "remittance": "Pago a proveedor"}]))
    lines = by_number(statement)
    assert (lines[1].status, lines[1].payment_id, lines[1].match_method) == \
        (LineState.MATCHED, payment.id, "amount_reference")
    assert (lines[2].status, lines[2].advance_id) == (LineState.MATCHED, advance.id)
    assert lines[3].reason_code == "unknown_reference"
    db.session.refresh(same_amount)
    assert same_amount.status == PaymentState.AUTHORIZED


def test_a_fine_deposit_is_confirmed_by_its_credit(ctx):
    from tests.money.test_fines import deposit, fine_in_effect

    incident = fine_in_effect(ctx, "300.00")
    fine = deposit(ctx, incident, "300.00", reference="MULTA-77")
    statement, _ = upload(ctx, camt([credit("300.00", "multa-77")]))
    line = by_number(statement)[1]
    db.session.refresh(fine)
    assert (line.status, line.fine_payment_id, fine.status) == (LineState.MATCHED, fine.id, DepositState.CONFIRMED)


def test_a_payment_executed_by_hand_is_confirmed_by_the_statement_without_running_twice(ctx):
    from grants.services import payments

    payment = authorized(ctx, "640.00")
    payments.execute_payment(ah.act(ctx["treasury"]), payment.id, "MANUAL-1", today())
    db.session.commit()
    before = events()
    statement, _ = upload(ctx, camt([debit(payment, reference="BANCO-1")]))
    line = by_number(statement)[1]
    db.session.refresh(payment)
    assert (line.status, line.payment_id) == (LineState.MATCHED, payment.id)
    assert (payment.bank_reference, payment.executed_by_id) == ("MANUAL-1", ctx["treasury"].id)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.seq > before)
                                 .order_by(AuditEvent.seq)).all()
    assert "payment.executed" not in actions and actions[-1] == "bank_statement.uploaded"


def test_the_database_refuses_a_second_line_for_one_payment(ctx):
    payment = authorized(ctx)
    statement, _ = upload(ctx, camt([debit(payment)]))
    line = by_number(statement)[1]
    db.session.add(BankStatementLine(
        statement_id=statement.id, line_number=2, booking_date=today(), direction="debit", amount=payment.amount,
        currency="USD", status=LineState.MATCHED, payment_id=line.payment_id, match_method="e2e"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
