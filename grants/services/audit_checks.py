"""Liquidation check runs and the auditors' decisions on their findings. Flush, never commit.

**Runs.** ``run_checks`` runs every rule of ``grants.audit.rules.RULES`` over a scope (one
agreement, one fiscal year, both, or everything) and keeps what they found as ``AuditFinding``s,
identified by ``fingerprint = sha256(rule_code|entity_type|entity_id)``:

* a new fingerprint → a new finding (``open``, ``first_run`` = ``last_run`` = this run);
* a known one → ``last_run``, ``last_seen_at``, summary, evidence and amount refreshed,
  ``present`` again — its status and note are the auditor's and never change here;
* a finding of the same scope (the rule × the agreements in scope; the audit chain rule always)
  not found again → ``present = False``. Findings are never deleted.

The upserts are set-based (bulk INSERT / UPDATE), so a run over a year writes one audit event,
``audit.checks_run`` on the run, whose ``after`` lists the ids of the new findings, of those whose
summary/evidence/amount changed, and of those no longer present, besides the counts per rule.

**Decisions** are audited one by one (``audit.finding_decided``), always with a note:

========== ============================ ===========================================================
from       to                           meaning
========== ============================ ===========================================================
open       justified                    the auditor accepts the explanation: no irregularity
open       confirmed                    an irregularity: it must be resolved before the final liquidation
justified  confirmed                    new evidence shows the justification does not hold
confirmed  resolved                     corrected (refund, correction …), with what was done
========== ============================ ===========================================================

``resolved`` is final, and nothing goes back to ``open``: a changed mind is a new decision with
its note, and every earlier one stays in the audit log.

**Two connections** (PostgreSQL, ``AUDIT_CHECK_WORKERS`` > 1). The request's transaction exports
its snapshot (``pg_export_snapshot()``); a worker thread opens a new connection of the engine,
``REPEATABLE READ READ ONLY`` with ``SET TRANSACTION SNAPSHOT``, and runs the rules of
``WORKER_RULES`` there (``background.parallel.beside``; each rule is given a Session on that connection)
while this thread builds the receipt sums and runs the other rules — those that read the sums'
temporary table, which only its own connection sees. The worker hands back plain FindingRows;
the findings are then written here, as with one connection, in the order of RULES. An error in
the worker is raised here (the caller rolls back: nothing is written); its connection is always
closed. The worker cannot see this transaction's own uncommitted writes, so a run whose
transaction has already written something (or that runs inside a SAVEPOINT) uses one connection.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, insert, select, text, update
from sqlalchemy.orm import Session

from grants.audit import Actor, record_event, snapshot
from grants.audit.rules import RULES, RULES_BY_CODE, FindingRow, RuleSettings, Scope
from grants.audit.rules_base import drop_receipt_sums, share_receipt_sums
from grants.background.parallel import beside
from grants.clock import today
from grants.extensions import db
from grants.models import Agreement, AuditCheckRun, AuditFinding, Organization
from grants.models.base import utcnow
from grants.models.findings import FINDING_SEVERITIES
from grants.permissions import Permission
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound
from grants.workflows import audit_check as lifecycle
from grants.workflows.audit_check import FindingState, RunAction, RunState

NOTE_MAX = 5000
_CHUNK = 500


def fingerprint(rule_code: str, entity_type: str, entity_id: str) -> str:
    return hashlib.sha256(f"{rule_code}|{entity_type}|{entity_id}".encode()).hexdigest()


def _runner(actor: Actor) -> None:
    """Auditors run checks; the system (CLI) too."""
    if actor.user is not None and not actor.user.can(Permission.CHECKS_RUN):
        raise Forbidden(_l("Solo auditoría interna ejecuta las revisiones de liquidación."))


def _scope(agreement_id, fiscal_year) -> Scope:
    errors = FieldErrors()
    if agreement_id is not None:
        if not isinstance(agreement_id, int) or isinstance(agreement_id, bool) or \
                db.session.get(Agreement, agreement_id) is None:
            errors.add("agreement_id", _l("No existe ese convenio."))
    if fiscal_year is not None and (not isinstance(fiscal_year, int) or isinstance(fiscal_year, bool)
                                    or not 2000 <= fiscal_year <= 2100):
        errors.add("fiscal_year", _l("Indique un año fiscal entre 2000 y 2100."))
    errors.raise_if_any()
    return Scope(agreement_id, fiscal_year)


def settings_for(on=None) -> RuleSettings:
    dialect = db.session.get_bind().dialect.name
    return RuleSettings.from_config(current_app.config, on or today(), dialect)


def request_run(actor: Actor, agreement_id: int | None = None, fiscal_year: int | None = None) -> AuditCheckRun:
    """A run asked for now and done by a job (``run_checks(..., run_id=)``): the scope is checked and
    the run recorded (``running``) in the caller's transaction, so a refused request leaves nothing."""
    _runner(actor)
    _scope(agreement_id, fiscal_year)
    run = AuditCheckRun(agreement_id=agreement_id, fiscal_year=fiscal_year, status=RunState.RUNNING,
                        started_by_id=actor.user_id, started_at=utcnow())
    db.session.add(run)
    db.session.flush()
    record_event(db.session, actor, "audit.checks_requested", "audit_check_run", run.id, after=snapshot(run))
    return run


def fail_run(actor: Actor, run_id: int, reason: str) -> AuditCheckRun | None:
    """A requested run whose job failed: it says so (and why) instead of staying ``running``."""
    run = db.session.get(AuditCheckRun, run_id, with_for_update=True)
    if run is None or run.status != RunState.RUNNING:
        return run
    run.status = lifecycle.RUN_LIFECYCLE.next_state(run.status, RunAction.FAIL)
    run.finished_at, run.failure = utcnow(), reason[:2000]
    db.session.flush()
    record_event(db.session, actor, "audit.checks_failed", "audit_check_run", run.id, after=snapshot(run))
    return run


def run_checks(actor: Actor, agreement_id: int | None = None, fiscal_year: int | None = None,
               progress: Callable[[str, int, int], None] | None = None, run_id: int | None = None) -> AuditCheckRun:
    """Run every rule over the scope, keep the findings (see the module docstring), return the run.
    ``run_id``: the run ``request_run`` recorded (a job doing it; a run no longer ``running`` — done
    by an earlier attempt — is refused, so a retried job changes nothing)."""
    _runner(actor)
    scope = _scope(agreement_id, fiscal_year)
    if run_id is not None:
        run = db.session.get(AuditCheckRun, run_id, with_for_update=True)
        if run is None or run.status != RunState.RUNNING:
            raise Conflict(_l("Esta revisión ya terminó."), code="run_finished")
    snapshot_id = _exported_snapshot()
    if run_id is None:
        run = AuditCheckRun(agreement_id=agreement_id, fiscal_year=fiscal_year, status=RunState.RUNNING,
                            started_by_id=actor.user_id, started_at=utcnow())
        db.session.add(run)
        db.session.flush()
    settings = settings_for()
    results = _run_rules(scope, settings, f"audit_receipt_sums_{int(run.id)}", snapshot_id, progress)
    found: list[FindingRow] = []
    counts: dict[str, int] = {}
    for rule in RULES:   # in the catalogue's order, however they were run
        counts[rule.code] = len(results[rule.code])
        found.extend(results[rule.code])
    new_ids, changed_ids, seen = _upsert(run, found)
    gone_ids = _mark_absent(run, scope)
    db.session.expire_all()  # the bulk statements bypassed the identity map
    run = db.session.get(AuditCheckRun, run.id)
    run.status = lifecycle.RUN_LIFECYCLE.next_state(run.status, RunAction.FINISH)
    run.finished_at, run.rules_run = utcnow(), len(RULES)
    run.findings_new, run.findings_seen, run.counts = len(new_ids), seen, counts
    db.session.flush()
    record_event(db.session, actor, "audit.checks_run", "audit_check_run", run.id, after={
        **snapshot(run), "new_finding_ids": new_ids, "changed_finding_ids": changed_ids,
        "gone_finding_ids": gone_ids})
    return run


def _run_rules(scope: Scope, settings: RuleSettings, sums_table: str, snapshot_id: str | None,
               progress) -> dict[str, list[FindingRow]]:
    """Every rule's FindingRows: all here, or (``snapshot_id``) WORKER_RULES on a second connection
    at the same time (see "Two connections"). Progress is told once per rule, from this thread."""
    try:
        worker, mine = None, list(RULES)
        if snapshot_id is not None:
            parallel_query = _parallel_query()
            mine = [rule for rule in RULES if rule.code not in WORKER_RULES]
            worker = beside(_run_on_snapshot, db.engine, snapshot_id,
                            [rule for rule in RULES if rule.code in WORKER_RULES], scope,
                            dataclasses.replace(settings, shared={}), name="audit-checks")
        results: dict[str, list[FindingRow]] = {}
        try:
            # The receipts are summed once for the rules that need no more than their sums (a
            # temporary table of this session, dropped below; see rules_base.receipt_sums).
            share_receipt_sums(scope, settings, sums_table)
            for rule in mine:
                results[rule.code] = list(rule.find(db.session, scope, settings))
                if progress is not None:
                    progress(rule.code, len(results), len(RULES))
        finally:
            # waited for whatever happened here; the worker's error (if any) is raised here
            theirs = worker.result() if worker is not None else {}
    except BaseException:
        settings.shared.clear()   # the caller's rollback drops the table (PostgreSQL may refuse a DROP now)
        raise
    drop_receipt_sums(settings)
    if snapshot_id is not None:
        _parallel_query(parallel_query)
    for code, found in theirs.items():
        results[code] = found
        if progress is not None:
            progress(code, len(results), len(RULES))
    return results


# The rules of the second connection ("Two connections" above); the others read the run's temporary
# table of receipt sums, which only its own connection sees. Cost on a generated year (bench/README.md,
# 19 rules): the sums and the other five ≈ 1.34 s, these fourteen ≈ 1.29 s, at the same time.
WORKER_RULES = frozenset({
    "advance_overdue", "document_reused", "payment_supplier_not_validated", "units_paid_inactive",
    "double_active_enrollment", "supplier_conflict", "split_invoices", "money_after_suspension",
    "transfers_above_allocation", "audit_chain_broken", "certificate_before_service_end", "deposit_unconfirmed",
    "payment_before_certificate", "payment_basis_changed",
})
# With two connections each one works on one core: PostgreSQL's parallel workers of one would take
# the other's core (measured on the generated year, 2 cores: 1.16 s with them against 0.92 s).
_NO_PARALLEL_QUERY = "SET LOCAL max_parallel_workers_per_gather = 0"
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def _exported_snapshot() -> str | None:
    """The id of this transaction's snapshot for a second connection, or None for one connection:
    not PostgreSQL, AUDIT_CHECK_WORKERS ≤ 1, inside a SAVEPOINT (a subtransaction cannot export its
    snapshot), or the transaction has written already (another connection would not see it)."""
    if int(current_app.config.get("AUDIT_CHECK_WORKERS", 1)) <= 1 or \
            db.session.get_bind().dialect.name != "postgresql":
        return None
    db.session.flush()
    if db.session.connection().in_nested_transaction() or \
            db.session.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar():
        return None
    snapshot_id = db.session.execute(text("SELECT pg_export_snapshot()")).scalar()
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise RuntimeError(f"unexpected snapshot id {snapshot_id!r}")
    return snapshot_id


def _parallel_query(value: str | None = None) -> str:
    """PostgreSQL's own parallel workers off for the rest of this transaction (``value``: back to
    that setting); returns the setting it had."""
    before = db.session.execute(text("SELECT current_setting('max_parallel_workers_per_gather')")).scalar()
    db.session.execute(text("SELECT set_config('max_parallel_workers_per_gather', :v, true)"),
                       {"v": "0" if value is None else value})
    return before


def _run_on_snapshot(engine, snapshot_id: str, rules: list, scope: Scope,
                     settings: RuleSettings) -> dict[str, list[FindingRow]]:
    """(In the worker thread.) The rules' FindingRows, read on a new connection of ``engine`` in a
    read-only transaction on the exported snapshot. The connection is closed whatever happens."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")
        connection.exec_driver_sql(_NO_PARALLEL_QUERY)
        try:
            with Session(bind=connection) as session:
                return {rule.code: list(rule.find(session, scope, settings)) for rule in rules}
        finally:
            connection.rollback()


def _values(row: FindingRow) -> dict:
    return {"summary": row.summary[:5000], "evidence": row.plain_evidence(),
            "amount": None if row.amount is None else Decimal(row.amount).quantize(Decimal("0.01"))}


def _upsert(run: AuditCheckRun, found: Iterable[FindingRow]) -> tuple[list[int], list[int], int]:
    """Insert new findings and refresh known ones in bulk: (new ids, changed ids, number seen again)."""
    by_print: dict[str, FindingRow] = {}
    for row in found:
        by_print.setdefault(fingerprint(row.rule_code, row.entity_type, row.entity_id), row)
    prints = list(by_print)
    known: dict[str, tuple] = {}
    table = AuditFinding.__table__
    for i in range(0, len(prints), _CHUNK):
        for r in db.session.execute(select(table.c.fingerprint, table.c.id, table.c.summary, table.c.evidence,
                                           table.c.amount, table.c.agreement_id, table.c.organization_id)
                                    .where(table.c.fingerprint.in_(prints[i:i + _CHUNK]))):
            known[r.fingerprint] = r
    now = utcnow()
    inserts, updates, changed = [], [], []
    for fp, row in by_print.items():
        values = _values(row)
        if fp in known:
            old = known[fp]
            if (old.summary, old.evidence, old.amount) != (values["summary"], values["evidence"], values["amount"]):
                changed.append(old.id)
            updates.append({"b_id": old.id, **values, "last_run_id": run.id, "last_seen_at": now,
                            "agreement_id": row.agreement_id, "organization_id": row.organization_id})
        else:
            inserts.append({"fingerprint": fp, "rule_code": row.rule_code, "severity": row.severity,
                            "agreement_id": row.agreement_id, "organization_id": row.organization_id,
                            "entity_type": row.entity_type, "entity_id": str(row.entity_id)[:60], **values,
                            "status": FindingState.OPEN, "first_run_id": run.id, "last_run_id": run.id,
                            "first_seen_at": now, "last_seen_at": now, "present": True})
    if inserts:
        db.session.execute(insert(table), inserts)
    if updates:
        db.session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            summary=bindparam("summary"), evidence=bindparam("evidence"), amount=bindparam("amount"),
            last_run_id=bindparam("last_run_id"), last_seen_at=bindparam("last_seen_at"), present=True,
            agreement_id=bindparam("agreement_id"), organization_id=bindparam("organization_id")), updates)
    new_ids = sorted(db.session.scalars(select(table.c.id).where(table.c.first_run_id == run.id)).all())
    return new_ids, sorted(changed), len(updates)


def _mark_absent(run: AuditCheckRun, scope: Scope) -> list[int]:
    """Findings of the run's scope that it did not find again: present = False (never deleted)."""
    table = AuditFinding.__table__
    scoped = [r.code for r in RULES if r.scoped]
    unscoped = [r.code for r in RULES if not r.scoped]
    in_scope = table.c.rule_code.in_(scoped)
    if not scope.is_global:
        ids = scope.agreement_ids(db.session)
        in_scope = in_scope & table.c.agreement_id.in_(sorted(ids))
    where = ((in_scope | table.c.rule_code.in_(unscoped)) & (table.c.last_run_id != run.id) & table.c.present)
    gone = sorted(db.session.scalars(select(table.c.id).where(where)).all())
    for i in range(0, len(gone), _CHUNK):
        db.session.execute(update(table).where(table.c.id.in_(gone[i:i + _CHUNK])).values(present=False))
    return gone


# --- decisions -------------------------------------------------------------------------------

def decide_finding(actor: Actor, finding_id: int, status: str, note: str | None) -> AuditFinding:
    """An auditor decides a finding (``workflows.audit_check``), always with a note."""
    user = actor.user
    if user is None or not user.can(Permission.FINDINGS_DECIDE):
        raise Forbidden(_l("Solo auditoría interna decide sobre los hallazgos."))
    finding = db.session.get(AuditFinding, finding_id, with_for_update=True) if finding_id else None
    if finding is None:
        raise NotFound()
    errors = FieldErrors()
    if status not in lifecycle.DECISIONS:
        errors.add("status", _l("Indique «justificado», «confirmado» o «resuelto»."))
    text = " ".join(str(note or "").split()) if isinstance(note, (str, type(None))) else ""
    if not text:
        errors.add("note", _l("Escriba una nota que sustente la decisión."))
    elif len(text) > NOTE_MAX:
        errors.add("note", _l("Máximo %(n)s caracteres.", n=NOTE_MAX))
    errors.raise_if_any()
    if status not in lifecycle.allowed_actions(finding.status):
        from grants.labels import FINDING_STATE_LABELS

        raise Conflict(_l("El hallazgo está «%(from)s» y no puede pasar a «%(to)s».", **{
            "from": FINDING_STATE_LABELS[finding.status], "to": FINDING_STATE_LABELS[status]}),
            code="invalid_transition")
    before = snapshot(finding)
    finding.status, finding.note = lifecycle.next_state(finding.status, status), text
    finding.decided_by_id, finding.decided_at = actor.user_id, utcnow()
    db.session.flush()
    record_event(db.session, actor, "audit.finding_decided", "audit_finding", finding.id, before=before,
                 after=snapshot(finding), organization_id=finding.organization_id)
    return finding


# --- reading and exports ---------------------------------------------------------------------

def findings_query(filters: dict | None = None):
    """A select of findings with the filters (rule_code, status, agreement_id, severity, present,
    organization_id, run_id: seen by that run; q: words of the agreement number, NGO name or
    summary): present first, then by severity, newest first."""
    from grants.services.search import finding_words

    f = filters or {}
    query = select(AuditFinding).where(finding_words(f["q"])) if f.get("q") else select(AuditFinding)
    for name in ("rule_code", "status", "agreement_id", "severity", "organization_id"):
        if f.get(name) not in (None, ""):
            query = query.where(getattr(AuditFinding, name) == f[name])
    if f.get("present") is not None:
        query = query.where(AuditFinding.present.is_(bool(f["present"])))
    if f.get("run_id"):
        query = query.where(AuditFinding.last_run_id == f["run_id"])
    rank = case({"high": 0, "medium": 1, "low": 2}, value=AuditFinding.severity, else_=3)
    return query.order_by(AuditFinding.present.desc(), rank, AuditFinding.id.desc())


@dataclass(frozen=True)
class FindingRecord:
    """A finding as plain data for the exports (grants/reports/findings_*.py)."""

    id: int
    rule_code: str
    rule_title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    agreement_number: str
    organization_name: str
    entity: str
    summary: str
    amount: Decimal | None
    present: bool
    first_seen_at: datetime
    last_seen_at: datetime
    note: str
    evidence: dict


def export_records(findings: list[AuditFinding]) -> list[FindingRecord]:
    """Plain records (agreement numbers and organization names read in one query each)."""
    from grants.labels import FINDING_SEVERITY_LABELS, FINDING_STATE_LABELS

    agreement_ids = {f.agreement_id for f in findings if f.agreement_id}
    organization_ids = {f.organization_id for f in findings if f.organization_id}
    numbers = dict(db.session.execute(select(Agreement.id, Agreement.number)
                                      .where(Agreement.id.in_(agreement_ids))).all()) if agreement_ids else {}
    names = dict(db.session.execute(select(Organization.id, Organization.legal_name)
                                    .where(Organization.id.in_(organization_ids))).all()) if organization_ids else {}
    return [FindingRecord(
        id=f.id, rule_code=f.rule_code,
        rule_title=str(RULES_BY_CODE[f.rule_code].title) if f.rule_code in RULES_BY_CODE else f.rule_code,
        severity=f.severity, severity_label=str(FINDING_SEVERITY_LABELS.get(f.severity, f.severity)),
        status=f.status, status_label=str(FINDING_STATE_LABELS.get(f.status, f.status)),
        agreement_number=numbers.get(f.agreement_id, "—"), organization_name=names.get(f.organization_id, "—"),
        entity=f"{f.entity_type} {f.entity_id}", summary=f.summary, amount=f.amount, present=f.present,
        first_seen_at=f.first_seen_at, last_seen_at=f.last_seen_at, note=f.note or "", evidence=f.evidence or {},
    ) for f in findings]


def findings_xlsx(findings: list[AuditFinding]) -> bytes:
    from grants.reports.findings_xlsx import findings_xlsx as build

    return build(export_records(findings), generated_on=today())


def findings_pdf(findings: list[AuditFinding], title: str | None = None, generated_on: date | None = None) -> bytes:
    from grants.reports.findings_pdf import findings_pdf as build

    return build(export_records(findings), generated_on=generated_on or today(), title=title)


__all__ = ["FINDING_SEVERITIES", "decide_finding", "export_records", "fingerprint",
           "findings_pdf", "findings_query", "findings_xlsx", "run_checks", "settings_for"]
