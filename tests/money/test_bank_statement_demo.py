"""The demo's bank statements: after ``load_demo`` two camt.053 statements of the ministry's account
confirm the advance and the payment treasury registered by hand (nothing executed twice), the bank's
fee waits unmatched, and treasury sees the day's reconciliation without a difference."""
from __future__ import annotations

import re

from sqlalchemy import select

from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import DOMAIN, load_demo
from grants.extensions import db
from grants.models import BankStatement
from grants.services import bank_statements
from tests.helpers import web_login


def test_the_demo_statements_confirm_what_treasury_registered(live_app):
    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
        first, second = db.session.scalars(select(BankStatement).order_by(BankStatement.id)).all()
        assert [(x.status.value, x.match_method, x.advance_id is not None) for x in first.lines] == \
            [("matched", "e2e", True)]
        assert [(x.status.value, x.reason_code) for x in second.lines] == \
            [("matched", None), ("unmatched", "unknown_reference")]
        payment = second.lines[0].payment
        assert payment.transfer_date == second.lines[0].booking_date and payment.executed_by.email.startswith("treasury@")
        account = live_app.config["TREASURY_ACCOUNTS"][0]["account"]  # the ministry's account of the batches
        assert first.account == second.account == account
        figures = bank_statements.reconciliation(account, payment.transfer_date)
        assert figures.matched_debits == figures.ledger_debits == payment.amount
        statement_id = second.id

    client = live_app.test_client()
    web_login(client, f"treasury@{DOMAIN}", "demo-2026")
    page = client.get(f"/bank-statements/{statement_id}").get_data(as_text=True)
    assert re.search(r'data-line="2" data-status="unmatched".*?Referencia desconocida', page, re.S)
    assert 'data-testid="ignore-form-2"' in page
