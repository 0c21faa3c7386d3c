"""Liquidation checks on two PostgreSQL connections (AUDIT_CHECK_WORKERS = 2; see "Two connections"
in grants/services/audit_checks.py): the rules of WORKER_RULES run in a worker thread on a second
connection reading the request's snapshot. The findings are the same as on one connection, and an
error on the second connection fails the whole run with nothing written. Committed data (live_app):
the second connection cannot see a transaction's uncommitted rows, so savepoint-isolated tests run
the checks on one connection (the last test checks that they do)."""
from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import func, select, text

from grants.audit import Actor
from grants.audit.rules import RULES
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import AuditCheckRun, AuditEvent, AuditFinding, Receipt
from grants.services import audit_checks
from tests.audit import rule_helpers as rh
from tests.factories import valid_nit
from tests.money import payment_helpers as ph
from tests.timeline import day, year

# Found on the data of _build(): some on each connection.
EXPECTED = {"advance_overdue": 1, "document_reused": 1, "receipt_outside_term": 1, "round_amount_receipts": 1,
            "supplier_concentration": 1}


def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("two connections reading one snapshot: PostgreSQL only (SQLite runs the rules on one)")


def _build() -> None:
    """An executed payment whose invoice number comes back as a receipt, an overdue advance with mostly
    round receipts from one supplier, one of them (SIMULATION: edited afterwards) outside the term."""
    ctx = rh.payments_ctx(beneficiaries=False)
    invoice = rh.executed(ctx).invoice
    advance = rh.disbursed_advance(ctx)
    statement = rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("100.00", "200.00", "1300.00", "45.10")]
                            + [rh.row(amount="99.99", supplier_tax_id=valid_nit(987), supplier_name="Otro, S.A."),
                               rh.row(supplier_tax_id=ph.SUPPLIER_NIT, document_number=invoice.number.lower(),
                                      amount="100.00")], accept=True)
    rh.simulate(Receipt, Receipt.id == statement.receipts[0].id, issue_date=day("2026-12-01"))


def _spied(threads: dict) -> list:
    """RULES, each noting the thread that runs it."""
    def spy(rule):
        def find(reader, scope, settings):
            threads[rule.code] = threading.current_thread().name
            return rule.find(reader, scope, settings)
        return dataclasses.replace(rule, find=find)
    return [spy(rule) for rule in RULES]


def _run(app, workers: int) -> tuple[dict, dict, list]:
    """One run over 2026 with AUDIT_CHECK_WORKERS = workers: (its counts, its event's after, the findings)."""
    app.config["AUDIT_CHECK_WORKERS"] = workers
    with app.app_context():
        with unit_of_work():
            run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
            counts, run_id = dict(run.counts), run.id
        after = db.session.scalars(select(AuditEvent.after).where(
            AuditEvent.action == "audit.checks_run", AuditEvent.entity_id == str(run_id))).one()
        t = AuditFinding.__table__
        findings = [tuple(r) for r in db.session.execute(select(
            t.c.fingerprint, t.c.rule_code, t.c.severity, t.c.agreement_id, t.c.organization_id, t.c.entity_type,
            t.c.entity_id, t.c.summary, t.c.evidence, t.c.amount, t.c.present).order_by(t.c.fingerprint))]
    return counts, after, findings


def test_two_connections_find_exactly_what_one_connection_finds(live_app, backend, monkeypatch):
    _postgresql_only(backend)
    with live_app.app_context():
        _build()
    threads: dict[str, str] = {}
    monkeypatch.setattr(audit_checks, "RULES", _spied(threads))

    two_counts, two_after, two_findings = _run(live_app, workers=2)
    main = threading.current_thread().name
    assert {code for code, name in threads.items() if name != main} == audit_checks.WORKER_RULES
    assert all(threads[code].startswith("audit-checks") for code in audit_checks.WORKER_RULES)
    assert {code: n for code, n in two_counts.items() if n} == EXPECTED
    assert list(two_counts) == [rule.code for rule in RULES]   # the catalogue's order, however run
    assert two_after["findings_new"] == len(two_findings) == sum(EXPECTED.values())

    threads.clear()
    one_counts, one_after, one_findings = _run(live_app, workers=1)
    assert set(threads.values()) == {main}
    assert one_counts == two_counts
    # Nothing new, nothing changed (summary, evidence, amount), nothing gone: the same findings.
    assert (one_after["findings_new"], one_after["changed_finding_ids"], one_after["gone_finding_ids"]) == (0, [], [])
    assert one_findings == two_findings


def test_an_error_on_the_second_connection_fails_the_run_and_writes_nothing(live_app, backend, monkeypatch):
    _postgresql_only(backend)
    with live_app.app_context():
        _build()

    def broken(reader, scope, settings):
        raise RuntimeError(f"broken in {threading.current_thread().name}")

    monkeypatch.setattr(audit_checks, "RULES", [dataclasses.replace(rule, find=broken)
                                                if rule.code == "document_reused" else rule for rule in RULES])
    live_app.config["AUDIT_CHECK_WORKERS"] = 2
    with live_app.app_context():
        with pytest.raises(RuntimeError, match="broken in audit-checks"):
            with unit_of_work():
                audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
        assert db.session.scalar(select(func.count()).select_from(AuditCheckRun)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditFinding)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "audit.checks_run")) == 0
        assert db.session.scalar(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'audit_receipt_sums_%'")) == 0
        db.session.remove()
        assert db.engine.pool.checkedout() == 0   # the worker's connection too is back

    monkeypatch.undo()
    counts, _, findings = _run(live_app, workers=2)   # and the next run works
    assert {code: n for code, n in counts.items() if n} == EXPECTED and len(findings) == sum(EXPECTED.values())


def test_a_run_in_a_transaction_that_has_written_uses_one_connection(app, backend, monkeypatch):
    """The second connection would not see this transaction's own rows: one connection then (and in a
    SAVEPOINT, as every savepoint-isolated test is, one connection too)."""
    _postgresql_only(backend)
    rh.payments_ctx(beneficiaries=False)   # uncommitted: the test's transaction is rolled back afterwards
    monkeypatch.setitem(app.config, "AUDIT_CHECK_WORKERS", 2)
    monkeypatch.setattr(audit_checks, "_run_on_snapshot", None)   # never called
    assert audit_checks._exported_snapshot() is None
    run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
    assert run.status == "finished" and run.rules_run == len(RULES)
