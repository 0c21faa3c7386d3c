"""The benchmark year generator (bench/generate_year.py) at a tiny scale: its rows respect every
constraint (foreign-key triggers kept on), the ledger equals the transactions, the audit chain
verifies, the volumes are what the scale asks for, the year lives on the day it is generated (the
test day), refunds count once treasury confirms them, liquidated agreements carry the three
disciplines' sign-offs, suspensions went through due process, and the liquidation checks run that day
(all of them) find what was planted and nothing on the timeline that was not. PostgreSQL only: the
generator COPYs."""
from __future__ import annotations

import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from grants import clock
from grants.audit import Actor, verify_chain
from grants.audit.rules import RULES
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
        # Receipts are dated from their advance's transfer on: before it only the planted ones (and those
        # planted before the term) in agreements without pre-financing, and within the clause's days
        # in the agreements that have one.
        early = "expense_receipts r JOIN expense_statements s ON s.id = r.statement_id " \
                "JOIN advances a ON a.id = s.advance_id JOIN agreements ag ON ag.id = r.agreement_id"
        before = "r.status != 'rejected' AND r.issue_date < a.transfer_date"
        assert count(early, f"{before} AND ag.prefinancing_days IS NULL") == \
            year["planted"]["receipt_before_disbursement"] + year["planted"]["receipt_outside_term"] == 2 + 3
        assert count(early, f"{before} AND r.issue_date < a.transfer_date - ag.prefinancing_days") == 0
        assert count(early, f"{before} AND ag.prefinancing_days IS NOT NULL") > 0   # seed 11: two such agreements
        waiting = count("refunds", "status = 'declared'")
        assert waiting == year["planted"]["deposit_unconfirmed"] == 2


def test_refunds_count_once_treasury_confirms_them(live_app, year):
    """The NGO's user declares each refund after the transfer; a treasury officer, never the
    declarer, confirms it afterwards, and only confirmed refunds are in the advance's and the
    ledger's refunded figures (``check_invariants`` recomputes both). The planted ones wait,
    declared more than DEPOSIT_CONFIRMATION_DAYS ago, and count only as declared."""
    with live_app.app_context():
        limit = clock.utcnow() - timedelta(days=live_app.config["DEPOSIT_CONFIRMATION_DAYS"])
        refunds = db.session.execute(text(
            "SELECT f.status, f.amount, f.decided_by_id, f.recorded_by_id, f.recorded_at, f.decided_at, "
            "f.refunded_on, a.transfer_date, a.status AS advance_status, "
            "u.organization_id = a.organization_id AS declared_by_the_ngo, "
            "EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = f.decided_by_id AND r.role = 'treasury') "
            "AS confirmed_by_treasury FROM refunds f JOIN advances a ON a.id = f.advance_id "
            "JOIN users u ON u.id = f.recorded_by_id")).all()
        statuses = Counter(r.status for r in refunds)
        assert statuses["confirmed"] > 0 and statuses["declared"] == 2 and set(statuses) == {"confirmed", "declared"}
        for r in refunds:
            assert r.declared_by_the_ngo and r.transfer_date <= r.refunded_on
            if r.status == "confirmed":
                assert r.confirmed_by_treasury and r.decided_by_id != r.recorded_by_id
                assert r.recorded_at < r.decided_at
            else:
                assert r.decided_by_id is None and r.decided_at is None and r.recorded_at < limit
                assert r.advance_status == "disbursed"
        ledger_refunded, ledger_declared = db.session.execute(text(
            "SELECT sum(refunded), sum(refunds_declared) FROM agreement_balances")).one()
        assert ledger_refunded == sum(r.amount for r in refunds if r.status == "confirmed")
        assert ledger_declared == sum(r.amount for r in refunds if r.status == "declared") > 0


def test_liquidated_agreements_carry_the_three_sign_offs(live_app, year):
    """A liquidated agreement's final liquidation is revision 1, prepared by its administrator
    after the last money moved and approved by legal, financial and monitoring: three people with
    those roles, none the preparer; closed at the third sign-off, which liquidated the agreement."""
    with live_app.app_context():
        revisions = db.session.execute(text(
            "SELECT f.id, f.agreement_id, f.revision, f.status, f.prepared_by_id, f.prepared_at, f.closed_at, "
            "a.administrator_id, a.status AS agreement_status FROM final_liquidations f "
            "JOIN agreements a ON a.id = f.agreement_id")).all()
        assert len(revisions) == count("agreements", "status = 'liquidated'") == 1
        for f in revisions:
            assert (f.revision, f.status, f.agreement_status) == (1, "approved", "liquidated")
            assert f.prepared_by_id == f.administrator_id
            signoffs = db.session.execute(text(
                "SELECT s.discipline, s.reviewer_id, s.decision, s.signed_at, s.preparer_id, r.role "
                "FROM final_liquidation_signoffs s JOIN user_roles r ON r.user_id = s.reviewer_id "
                "WHERE s.final_liquidation_id = :id ORDER BY s.signed_at"), {"id": f.id}).all()
            assert [(s.discipline, s.decision, s.role) for s in signoffs] == [
                ("legal", "approve", "legal_reviewer"), ("financial", "approve", "financial_reviewer"),
                ("monitoring", "approve", "monitoring_reviewer")]
            assert len({s.reviewer_id for s in signoffs} | {f.prepared_by_id}) == 4
            assert all(f.prepared_at < s.signed_at for s in signoffs) and f.closed_at == signoffs[-1].signed_at
            assert count("final_liquidation_signers", f"agreement_id = {f.agreement_id} "
                                                      f"AND first_liquidation_id = {f.id}") == 3
            liquidated = db.session.execute(text(
                "SELECT actor_id, at FROM agreement_status_changes WHERE agreement_id = :a AND action = 'liquidate'"),
                {"a": f.agreement_id}).one()
            assert tuple(liquidated) == (signoffs[-1].reviewer_id, f.closed_at)
            last_money = db.session.execute(text(
                "SELECT greatest((SELECT max(executed_at) FROM payments WHERE agreement_id = :a), "
                "(SELECT max(liquidated_at) FROM advances WHERE agreement_id = :a), "
                "(SELECT max(decided_at) FROM refunds WHERE agreement_id = :a))"), {"a": f.agreement_id}).scalar_one()
            assert last_money < f.prepared_at


def test_suspensions_went_through_due_process(live_app, year):
    """Each incident's suspension was proposed, answered by the NGO, and applied by the
    administrator on the day the agreement was suspended (in effect). Evidence would be attachments;
    the year has none."""
    with live_app.app_context():
        incidents = db.session.execute(text(
            "SELECT i.id, i.measure, i.measure_status, i.urgent, i.reply_due, i.measure_decided_by_id, "
            "i.measure_decided_at, i.created_at, i.status, a.administrator_id, a.status AS agreement_status, "
            "p.submitted_at, (SELECT c.at FROM agreement_status_changes c WHERE c.agreement_id = i.agreement_id "
            "AND c.action = 'suspend' AND c.reason LIKE 'Incumplimiento N.º ' || i.id || ':%') AS suspended_at "
            "FROM incidents i JOIN agreements a ON a.id = i.agreement_id "
            "JOIN incident_replies p ON p.incident_id = i.id")).all()
        assert len(incidents) == count("incidents") >= 1 + len(year["planted_in"]["money_after_suspension"])
        for i in incidents:
            assert (i.measure, i.measure_status, i.urgent) == ("suspension", "in_effect", False)
            assert i.reply_due > i.created_at.date() and i.measure_decided_by_id == i.administrator_id
            assert i.created_at < i.submitted_at < i.measure_decided_at == i.suspended_at
            assert (i.status == "open") == (i.agreement_status == "suspended")
        assert count("attachments") == 0


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
    """Every rule runs (all 19), and every planted anomaly is found by the rule that looks for it (more
    may be found, e.g. other payments inside a planted suspension); the overdue advances are exactly
    the planted ones, and the timeline rules find exactly what was planted for them: receipts before
    their advance's transfer (the planted ones and those planted before the term), refunds waiting
    for treasury, and no certificate before the service ended, no payment before its certificate,
    no payment whose basis changed afterwards."""
    with live_app.app_context():
        run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year["fiscal_year"])
        db.session.commit()
        counts = run.counts
        db.session.remove()
    for rule, planted in year["planted"].items():
        assert counts[rule] >= planted, (rule, counts[rule], planted)
    planted = year["planted"]
    assert set(counts) == {rule.code for rule in RULES} == set(planted) and len(counts) == 19
    assert counts["advance_overdue"] == planted["advance_overdue"]
    assert counts["budget_line_overspent"] == 0 and counts["audit_chain_broken"] == 0
    before_the_transfer = planted["receipt_before_disbursement"] + planted["receipt_outside_term"]
    assert counts["receipt_before_disbursement"] == before_the_transfer
    assert counts["deposit_unconfirmed"] == planted["deposit_unconfirmed"] == 2
    assert counts["certificate_before_service_end"] == counts["payment_before_certificate"] == 0
    assert counts["payment_basis_changed"] == 0
