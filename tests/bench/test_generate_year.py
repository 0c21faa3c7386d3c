"""The benchmark year generator (bench/generate_year.py) at a tiny scale: its rows respect every
constraint (foreign-key triggers kept on), the ledger equals the transactions, the audit chain
verifies, the volumes are what the scale asks for, the year lives on the day it is generated (the
test day), and the liquidation checks run that day find what was planted. PostgreSQL only: the
generator COPYs."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.services import audit_checks, ledger
from grants.validation.plan import last_day_of_term
from tests.timeline import today

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import generate_year  # noqa: E402

SCALE = 0.002


@pytest.fixture
def year(live_app, backend):
    if backend != "postgresql":
        pytest.skip("the generator loads with PostgreSQL's COPY")
    return generate_year.generate(live_app, scale=SCALE, seed=11, check_fks=True)


def count(table: str, where: str = "true") -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


def test_volumes_follow_the_scale(live_app, year):
    want = generate_year.targets(SCALE)
    assert want == {"agreements": 12, "enrollments": 2000, "invoice_lines": 4000, "receipts": 1000}
    with live_app.app_context():
        assert count("agreements") == 12
        assert count("enrollments") == 2000
        assert count("invoice_lines") == 4000
        assert count("expense_receipts") == 1000
        for table, rows in year["counts"].items():   # the summary tells the truth about every table
            assert count(table) == rows, table
        fiscal_year = year["fiscal_year"]
        assert count("allocations", f"fiscal_year = {fiscal_year}") == 12
        assert count("agreements", f"number LIKE 'MJSP-CONV-{fiscal_year}-____'") == 12
        assert count("enrollment_periods") > count("enrollments")   # histories, not one row each
        assert count("enrollment_periods", "valid_to IS NULL") == 2000   # one current period each
        assert count("invoice_line_beneficiaries") > 0 and count("payment_deductions") > 0
        states = dict(db.session.execute(text("SELECT status, count(*) FROM agreements GROUP BY status")).all())
        assert states == {"in_execution": 9, "closing": 1, "liquidated": 1, "suspended": 1}
        assert count("final_liquidations") == 1


def test_ledger_equals_the_transactions_and_the_chain_verifies(live_app, year):
    with live_app.app_context():
        assert ledger.check_invariants() == []
        report = verify_chain(db.session)
        assert report.ok and report.events == 5


def test_planted_anomalies_are_in_the_data(live_app, year):
    """A few plain queries (not the rules) confirm what the summary says was planted."""
    assert year["planted"]["budget_line_overspent"] == 0   # the ledger's CHECK forbids it
    assert all(len(year["planted_in"][rule]) == n for rule, n in year["planted"].items())
    with live_app.app_context():
        over = count("allocations al JOIN agreements a ON a.allocation_id = al.id "
                     "JOIN agreement_balances b ON b.agreement_id = a.id",
                     "b.paid + b.advanced - b.refunded > al.amount")
        assert over == year["planted"]["transfers_above_allocation"] == 2
        outside = count("expense_receipts r JOIN agreements a ON a.id = r.agreement_id",
                        "r.issue_date < a.start_date OR r.issue_date > a.end_date")
        assert outside == 3
        overlapping = count("enrollment_periods p JOIN enrollments e ON e.id = p.enrollment_id "
                            "JOIN enrollment_periods q ON q.status = 'active' "
                            "JOIN enrollments f ON f.id = q.enrollment_id",
                            "p.status = 'active' AND f.beneficiary_id = e.beneficiary_id "
                            "AND f.agreement_id > e.agreement_id AND q.valid_from < coalesce(p.valid_to, 'infinity') "
                            "AND p.valid_from < coalesce(q.valid_to, 'infinity')")
        assert overlapping == 3
        reused = count("expense_receipts r JOIN invoices i ON i.supplier_tax_id = r.supplier_tax_id "
                       "AND i.number = r.document_number")
        assert reused == 3
        unvalidated = count("payments p JOIN suppliers s ON s.id = p.supplier_id",
                            "p.status = 'executed' AND (s.decided_at IS NULL OR s.decided_at > p.executed_at)")
        assert unvalidated == 3


def test_the_year_lives_on_the_day_it_is_generated(live_app, year):
    """Generated on the test day: each term starts inside its allocation's fiscal year and lasts at
    most 12 months, the agreements in execution (or suspended) are running today and those closing
    or liquidated have ended, and money moved until the last weeks (never after today)."""
    on = today()
    assert year["as_of"] == on.isoformat()
    with live_app.app_context():
        terms = db.session.execute(text(
            "SELECT a.number, al.fiscal_year, a.start_date, a.end_date, a.status FROM agreements a "
            "JOIN allocations al ON al.id = a.allocation_id")).all()
        for number, fiscal_year, start, end, status in terms:
            assert start.year == fiscal_year == year["fiscal_year"], number
            assert start < end <= last_day_of_term(start), number   # the product's rule: at most 12 months
            if status in ("in_execution", "suspended"):
                assert start < on < end, number
            else:
                assert end < on, number
        last_transfer = db.session.execute(text(
            "SELECT max(transfer_date) FROM payments WHERE status = 'executed'")).scalar_one()
        assert on - timedelta(days=45) <= last_transfer <= on
        assert count("advances", f"transfer_date > '{on.isoformat()}'") == 0
        assert count("expense_receipts", f"issue_date > '{on.isoformat()}'") == 0


def test_the_checks_run_today_find_every_planted_anomaly(live_app, year):
    """Every planted anomaly is found by the rule that looks for it (more may be found, e.g. other
    payments inside a planted suspension); the overdue advances are exactly the planted ones."""
    with live_app.app_context():
        run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year["fiscal_year"])
        db.session.commit()
        counts = run.counts
        db.session.remove()
    for rule, planted in year["planted"].items():
        assert counts[rule] >= planted, (rule, counts[rule], planted)
    assert counts["advance_overdue"] == year["planted"]["advance_overdue"]
    assert counts["budget_line_overspent"] == 0 and counts["audit_chain_broken"] == 0
