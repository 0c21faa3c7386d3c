"""`flask ledger check` (cron): every balance recomputed from its transactions; exit 1 on any difference."""
import pytest
from sqlalchemy import text

from grants.audit import Actor
from grants.cli_ops import ledger_check
from grants.db import unit_of_work
from grants.demo import load_demo
from grants.extensions import db


@pytest.fixture
def demo_app(live_app):
    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
    return live_app


def run(app, *args):
    return app.test_cli_runner().invoke(ledger_check, list(args))


def alter(app, sql):
    with app.app_context():
        with db.engine.begin() as conn:
            return conn.execute(text(sql)).rowcount


def test_the_demo_adds_up(demo_app):
    result = run(demo_app)
    assert result.exit_code == 0, result.output
    assert "sin diferencias" in result.output


def test_an_altered_paid_amount_is_named_and_exits_1(demo_app):
    agreement_id = alter_one_paid(demo_app)
    result = run(demo_app)
    assert result.exit_code == 1
    assert f"agreement {agreement_id}: paid" in result.output
    assert "DIFERENCIAS: 1 " in result.output
    assert run(demo_app, "--agreement", str(agreement_id)).exit_code == 1


def alter_one_paid(app) -> int:
    with app.app_context():
        with db.engine.begin() as conn:
            agreement_id = conn.execute(text(
                "SELECT agreement_id FROM agreement_balances WHERE paid > 0 ORDER BY agreement_id")).scalars().first()
            assert agreement_id is not None, "the demo pays something"
            conn.execute(text("UPDATE agreement_balances SET paid = paid - 0.01 WHERE agreement_id = :a"),
                         {"a": agreement_id})
    return agreement_id


def test_an_altered_receipt_amount_breaks_its_line_and_advance(demo_app):
    changed = alter(demo_app, "UPDATE expense_receipts SET amount = amount + 1 "
                              "WHERE id = (SELECT MIN(id) FROM expense_receipts WHERE status = 'accepted')")
    assert changed == 1
    result = run(demo_app)
    assert result.exit_code == 1
    assert "liquidated" in result.output
