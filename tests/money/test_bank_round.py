"""The whole round with the bank: treasury builds a payment batch and sends its pain.001 file; the bank
answers with its end-of-day camt.053 statement (grants/services/bank_answer.py, built from the batch
as the bank books it); treasury uploads it and every transfer of the batch is executed with the bank's
booking day and reference, a bank fee stays unmatched, and the day's reconciliation equals the ledger
to the cent. A statement of another account executes nothing of the batch."""
from decimal import Decimal

from sqlalchemy import select

from grants.extensions import db
from grants.models import BankStatementLine
from grants.reports import camt053
from grants.services import bank_statements, ledger, payments
from grants.services.bank_answer import statement_for_batch
from tests.helpers import outcome
from tests.money.batch_helpers import issued, made_batch, prepared_advance, some_payments
from tests.money.payment_helpers import act, payments_setup
from tests.timeline import today

import pytest


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def _upload(ctx, data: bytes, by: str = "treasury3"):
    statement, new = bank_statements.upload_statement(act(ctx[by]), "extracto.xml", data)
    db.session.commit()
    return statement, new


def _lines(statement) -> list[BankStatementLine]:
    return db.session.scalars(select(BankStatementLine).where(BankStatementLine.statement_id == statement.id)
                              .order_by(BankStatementLine.line_number)).all()


def test_batch_bank_statement_round_executes_the_batch_and_reconciles_to_the_ledger(ctx):
    paid = some_payments(ctx, ("1234.56", "0.01", "999.99"))
    advance = prepared_advance(ctx)
    batch = made_batch(ctx, paid, [advance])
    issued(ctx, batch)
    statement, new = _upload(ctx, statement_for_batch(batch, fee=Decimal("2.50")))

    assert new and statement.account == batch.debtor_account
    lines = _lines(statement)
    assert [(line.status, line.reason_code) for line in lines] == [("matched", None)] * 4 + [
        ("unmatched", "unknown_reference")]
    for n, payment in enumerate(paid, start=1):
        db.session.refresh(payment)
        assert payment.status == "executed"
        assert (payment.transfer_date, payment.bank_reference) == (today(), f"{batch.number}-{n}")
        assert payment.executed_by_id == ctx["treasury3"].id
    db.session.refresh(advance)
    assert advance.status == "disbursed" and advance.bank_reference == f"{batch.number}-4"

    figures = bank_statements.reconciliation(batch.debtor_account, today())
    assert figures.matched_debits == figures.ledger_debits == batch.control_sum == Decimal("42234.56")
    assert figures.debit_difference == Decimal("0.00") and figures.unmatched_debits == Decimal("2.50")
    assert ledger.check_invariants() == []

    again, new = _upload(ctx, statement_for_batch(batch, fee=Decimal("2.50")))
    assert not new and again.id == statement.id  # the same file: nothing changes


def test_a_statement_of_another_account_executes_nothing_of_the_batch(ctx):
    paid = some_payments(ctx, ("300.00",))
    batch = made_batch(ctx, paid)
    issued(ctx, batch)
    item = batch.items[0]
    other = camt053.statement_xml("999-888777-6", "EXT-OTRA-CUENTA", today(), [
        {"direction": "debit", "amount": item.amount, "end_to_end_id": item.end_to_end_id,
         "bank_reference": "OTRA-1", "remittance": item.remittance}])
    statement, _ = _upload(ctx, other)
    [line] = _lines(statement)
    assert (line.status, line.reason_code) == ("unmatched", "wrong_account")
    assert batch.number in line.reason and batch.debtor_account in line.reason and "999-888777-6" in line.reason
    db.session.refresh(paid[0])
    assert paid[0].status == "authorized"
    # and by hand it is still refused: the batch is at the bank
    assert outcome(lambda: payments.execute_payment(act(ctx["treasury3"]), paid[0].id, "X-1", today())) == \
        "in_issued_batch"


def test_a_transfer_the_bank_did_not_book_stays_authorized_in_its_batch(ctx):
    paid = some_payments(ctx, ("10.00", "20.00"))
    batch = made_batch(ctx, paid)
    issued(ctx, batch)
    statement, _ = _upload(ctx, statement_for_batch(batch, omit=1))
    assert [line.status for line in _lines(statement)] == ["matched"]
    db.session.refresh(paid[0]), db.session.refresh(paid[1])
    assert (paid[0].status, paid[1].status) == ("executed", "authorized")
    figures = bank_statements.reconciliation(batch.debtor_account, today())
    assert figures.matched_debits == figures.ledger_debits == Decimal("10.00")


def test_flask_bank_statement_writes_the_banks_answer_to_an_issued_batch(app, ctx, tmp_path):
    paid = some_payments(ctx, ("75.25",))
    batch = made_batch(ctx, paid)
    runner = app.test_cli_runner()
    early = runner.invoke(args=["bank", "statement", "--batch", batch.number, "--out", str(tmp_path / "x.xml")])
    assert early.exit_code == 1 and "issued" in early.output  # nothing sent to the bank yet
    issued(ctx, batch)
    out = tmp_path / "extracto.xml"
    result = runner.invoke(args=["bank", "statement", "--batch", batch.number, "--out", str(out), "--fee", "1.75"])
    assert result.exit_code == 0 and batch.debtor_account in result.output
    statement, _ = _upload(ctx, out.read_bytes())
    assert [(line.amount, line.status) for line in _lines(statement)] == [
        (Decimal("75.25"), "matched"), (Decimal("1.75"), "unmatched")]
    missing = runner.invoke(args=["bank", "statement", "--batch", "FONDOS-LOTE-999999"])
    assert missing.exit_code == 1 and "No existe el lote" in missing.output


def test_the_payment_page_shows_its_batch_and_statement_line_to_treasury_not_to_the_ngo(client, ctx):
    from tests.helpers import html_of, login

    paid = some_payments(ctx, ("55.00",))
    batch = made_batch(ctx, paid)
    page = f"/payments/{paid[0].id}"
    login(client, ctx["treasury3"])
    html = html_of(client.get(page))
    assert batch.number in html and 'data-testid="execute-form"' in html  # open batch: still executable by hand
    issued(ctx, batch)
    html = html_of(client.get(page))
    assert "enviado al banco" in html and 'data-testid="execute-form"' not in html
    statement, _ = _upload(ctx, statement_for_batch(batch))
    html = html_of(client.get(page))
    assert f"/bank-statements/{statement.id}" in html and statement.statement_ref in html
    assert f"{batch.number}-1" in html and "enviado al banco" not in html
    login(client, ctx["ngo"])
    html = html_of(client.get(page))
    assert f"{batch.number}-1" in html  # the transfer's reference is the NGO's to see; the ministry's files not
    assert "/payment-batches/" not in html and 'data-testid="batch"' not in html and "/bank-statements/" not in html
