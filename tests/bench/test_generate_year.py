"""The benchmark year generator (bench/generate_year.py) at a tiny scale: its rows respect every
constraint (foreign-key triggers kept on), the ledger equals the transactions, the audit chain
verifies, and the volumes are what the scale asks for. PostgreSQL only: the generator COPYs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from grants.audit import verify_chain
from grants.extensions import db
from grants.services import ledger

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
        assert count("allocations", "fiscal_year = 2026") == 12
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
