"""Two officers uploading, at the same moment and on real commits (``live_app``), two different
statements that both carry the same payment (the bank sent it twice, or two days overlap): the
payment is executed once, by one line; the other upload is kept with that line unmatched, «ya
conciliado» with the line that has it — never a 500, never two executions. The
same file uploaded twice at once is stored once. PostgreSQL is where the row locks matter; SQLite's one
writer serializes the race and it still has one winner."""
from decimal import Decimal

from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.models import AuditEvent, BankStatement, BankStatementLine, Payment, User
from grants.services import bank_statements, ledger
from tests.money import bank_statement_helpers as bh
from tests.money.test_payment_concurrency import run_threads


def _upload(user_id, data):
    statement, new = bank_statements.upload_statement(Actor.for_user(db.session.get(User, user_id)),
                                                      "extracto.xml", data)
    return statement.id, new


def test_two_statements_with_the_same_payment_execute_it_once(live_app):
    with live_app.app_context():
        ctx = bh.setup()
        payment = bh.authorized(ctx, "321.09")
        files = [bh.camt([bh.debit(payment, reference=f"BR-{n}")], statement_id=f"EXT-CARRERA-{n}") for n in (1, 2)]
        racers = [(ctx["treasury3"].id, files[0]), (ctx["treasury"].id, files[1])]
        payment_id = payment.id
    results = run_threads(live_app, _upload, racers)

    assert [r[0] for r in results] == ["ok", "ok"], results
    with live_app.app_context():
        lines = db.session.scalars(select(BankStatementLine).order_by(BankStatementLine.id)).all()
        assert sorted(line.status.value for line in lines) == ["matched", "unmatched"]
        [matched] = [line for line in lines if line.status == "matched"]
        [other] = [line for line in lines if line.status == "unmatched"]
        assert matched.payment_id == payment_id and other.payment_id is None
        # whichever waited for the payment's row lock learns, like a later upload, which line has it
        assert other.reason_code == "already_reconciled", (other.reason_code, other.reason)
        assert f"línea {matched.line_number} del extracto" in other.reason
        paid = db.session.get(Payment, payment_id)
        assert paid.status == "executed" and paid.bank_reference == matched.bank_reference
        executions = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "payment.executed", AuditEvent.entity_id == str(payment_id)))
        assert executions == 1
        assert ledger.balances(paid.agreement).paid_directly == Decimal("321.09")
        assert ledger.check_invariants() == [] and verify_chain(db.session).ok


def test_the_same_file_uploaded_twice_at_once_is_stored_once(live_app):
    with live_app.app_context():
        ctx = bh.setup()
        payment = bh.authorized(ctx, "45.00")
        data = bh.camt([bh.debit(payment)], statement_id="EXT-DOBLE-CLIC")
        racers = [(ctx["treasury3"].id, data), (ctx["treasury"].id, data)]
    results = run_threads(live_app, _upload, racers)

    assert [r for r in results if r[0] == "error"] == []
    done = [r for r in results if r[0] == "ok"]
    assert [new for _, (_, new) in done].count(True) == 1  # one stored it; the other saw it or was told so
    assert all(r[1] == "statement_already_uploaded" for r in results if r[0] == "refused")
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 1
        assert db.session.scalar(select(func.count()).select_from(BankStatementLine)) == 1
        assert ledger.check_invariants() == []
