"""Benchmark of the liquidation checks and of the report to the legislature, on a generated year.

Everything is measured in one run, on the same data and the same warm cache:

1. ``grants.services.audit_checks.run_checks`` over the whole fiscal year (every rule, the upsert of
   the findings, the audit event, the commit) against **one sequential scan of every table the rules
   read** (``SELECT count(*)`` of each, index scans disabled): ratio, target ≤ 5×. Each rule's own
   time is printed, and the findings per rule are checked against the anomalies the generator
   planted (found ≥ planted).
2. The legislature report of the year: ``report_data`` + the PDF + the XLSX, target ≤ 5 s (absolute,
   as the issue states it).
3. Peak RSS of this process (``VmHWM``), which runs the checks and builds the reports (the year is
   generated in a child process, so its buffers are not counted).

    .venv/bin/python bench/liquidation_checks.py                      # generate a full year (~1.5 min), then measure
    .venv/bin/python bench/liquidation_checks.py --quick              # a smoke run on 5 % of a year (--scale 0.05)
    .venv/bin/python bench/liquidation_checks.py --database URL       # a year kept by generate_year.py --keep
    .venv/bin/python bench/liquidation_checks.py --explain 3          # EXPLAIN ANALYZE the 3 slowest rules
    .venv/bin/python bench/liquidation_checks.py --workers 1          # the rules one after another on one connection

Exit status 1 when a target is missed or a planted anomaly is not found. See bench/README.md.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, app_for_url, dispose, mb, parse_year_arguments, status_kib, verdict, year_arguments  # noqa: E402,E501

TARGET_RATIO = 5.0
TARGET_REPORT_SECONDS = 5.0
# Every table the rules read (grants/audit/rules_*.py), each scanned once by the reference.
RULE_TABLES = ("advances", "agreements", "allocations", "agreement_status_changes", "audit_chain_head",
               "audit_events", "board_members", "enrollment_periods", "enrollments", "expense_receipts",
               "expense_statements", "invoice_line_beneficiaries", "invoice_lines", "invoices",
               "organization_phones", "organizations", "payment_deductions", "payment_lines", "payments",
               "plan_budget_lines", "receipt_certificates", "refunds", "suppliers")


def generate_in_child(scale: float, seed: int) -> dict:
    """A fresh schema with a generated year, made by ``generate_year.py --keep`` in its own process."""
    out = Path(tempfile.mkdtemp(prefix="fondos-year-")) / "summary.json"
    command = [sys.executable, str(Path(__file__).with_name("generate_year.py")), "--scale", str(scale),
               "--seed", str(seed), "--keep", "--summary", str(out)]
    done = subprocess.run(command, cwd=ROOT, text=True, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"generate_year.py failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def seq_scans(pg) -> tuple[float, dict]:
    """The reference: every table the rules read, scanned once, sequentially (no index, no bitmap)."""
    rows = {}
    started = time.perf_counter()
    with pg.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for table in RULE_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows[table] = cursor.fetchone()[0]
    pg.rollback()
    return time.perf_counter() - started, rows


class Statements:
    """The SQL each rule runs (captured during a run, in whichever thread runs the rule), to
    EXPLAIN ANALYZE the slow ones."""

    def __init__(self, engine):
        import threading

        from sqlalchemy import event

        self.local, self.by_rule = threading.local(), {}
        event.listen(engine, "before_cursor_execute", self.capture)

    @property
    def current(self):
        return getattr(self.local, "current", None)

    @current.setter
    def current(self, code):
        self.local.current = code

    def capture(self, conn, cursor, statement, parameters, context, executemany):
        if self.current and statement.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            self.by_rule.setdefault(self.current, []).append((statement, parameters))


SHARED = "(receipt sums, once per run)"


def run_once(app, statements: Statements) -> tuple[float, dict, dict]:
    """One ``run_checks`` over the year + commit: (seconds, seconds per rule, findings per rule).

    Each rule's time is its own ``find``, timed in the thread that runs it (with two connections,
    two rules run at once: the per-rule times then add up to more than the run)."""
    import dataclasses

    from grants.audit import Actor
    from grants.extensions import db

    import grants.services.audit_checks as checks

    per_rule: dict[str, float] = {}

    def timed(rule):
        def find(reader, scope, settings):
            statements.current = rule.code
            begun = time.perf_counter()
            try:
                return list(rule.find(reader, scope, settings))
            finally:
                per_rule[rule.code] = time.perf_counter() - begun
                statements.current = None
        return dataclasses.replace(rule, find=find)

    rules, share = checks.RULES, checks.share_receipt_sums

    def timed_share(*args, **kwargs):   # the receipts summed once per run, timed as a line of its own
        statements.current = SHARED
        begun = time.perf_counter()
        try:
            share(*args, **kwargs)
        finally:
            per_rule[SHARED] = time.perf_counter() - begun
            statements.current = None

    with app.test_request_context():
        checks.RULES, checks.share_receipt_sums = [timed(rule) for rule in rules], timed_share
        try:
            started = time.perf_counter()
            run = checks.run_checks(Actor.system("bench"), fiscal_year=fiscal_year())
            db.session.commit()
            seconds = time.perf_counter() - started
        finally:
            checks.RULES, checks.share_receipt_sums = rules, share
        counts = dict(run.counts)
        db.session.remove()
    order = [SHARED] + [rule.code for rule in rules]
    return seconds, {code: per_rule[code] for code in order}, counts


def fiscal_year() -> int:
    """The generated year's fiscal year (the year its terms start in: generate_year.py, ``--as-of``)."""
    from sqlalchemy import func, select

    from grants.extensions import db
    from grants.models import Allocation

    return db.session.scalar(select(func.max(Allocation.fiscal_year)))


def legislature_report(app) -> tuple[float, dict]:
    from grants.services.legislature import build_file, report_data

    with app.test_request_context():
        times = {}
        started = time.perf_counter()
        data = report_data(fiscal_year())
        times["report_data"] = time.perf_counter() - started
        for kind in ("pdf", "xlsx"):
            begun = time.perf_counter()
            content = build_file(data, kind)
            times[kind] = time.perf_counter() - begun
            times[f"{kind}_bytes"] = len(content)
        from grants.extensions import db

        db.session.remove()
    return times["report_data"] + times["pdf"] + times["xlsx"], times


def explain(app, statements: Statements, rules: list[str]) -> None:
    from grants.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor:
                for code in rules:
                    for statement, parameters in statements.by_rule.get(code, []):
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                        print(f"\n--- {code} ---")
                        print("\n".join(row[0] for row in cursor.fetchall()))
            raw.driver_connection.rollback()
        finally:
            raw.close()


def main() -> int:
    parser = year_arguments(__doc__.split("\n\n")[0], 3, "timed runs of the checks and of the reference")
    parser.add_argument("--explain", type=int, default=0, metavar="N", help="EXPLAIN ANALYZE the N slowest rules")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="AUDIT_CHECK_WORKERS for the run (default: the app's setting, 2)")
    args = parse_year_arguments(parser)

    from generate_year import PLANTED

    summary = None
    if args.database:
        url = args.database
        print(f"Liquidation checks benchmark on {url}")
    else:
        started = time.perf_counter()
        print(f"Generating a year at scale {args.scale:g} (seed {args.seed}) in a child process …", flush=True)
        summary = generate_in_child(args.scale, args.seed)
        url = summary["url"]
        c = summary["counts"]
        print(f"generated in {time.perf_counter() - started:.0f} s: {c['agreements']:,} agreements, "
              f"{c['enrollments']:,} enrollments ({c['enrollment_periods']:,} periods), {c['invoice_lines']:,} invoice "
              f"lines, {c['expense_receipts']:,} receipts, {c['payments']:,} payments")
    planted = summary["planted"] if summary else PLANTED
    app = app_for_url(url, **({} if args.workers is None else {"AUDIT_CHECK_WORKERS": args.workers}))
    from grants.services.audit_checks import WORKER_RULES
    failures = 0
    try:
        from grants.extensions import db

        statements = Statements(_engine(app))
        with app.app_context():
            raw = db.engine.raw_connection()
        try:
            reference_rows = seq_scans(raw.driver_connection)[1]   # warm the cache for both alike
            checks, references, per_rule = [], [], []
            for _ in range(args.repeat):   # taking turns, so a drift of the machine hits both alike
                references.append(seq_scans(raw.driver_connection)[0])
                seconds, rules, counts = run_once(app, statements)
                checks.append(seconds)
                per_rule.append(rules)
        finally:
            raw.close()
        check_s, ref_s = statistics.median(checks), statistics.median(references)
        ratio = check_s / ref_s
        ok = ratio <= TARGET_RATIO
        failures += not ok
        runs = f"median of {args.repeat}" if args.repeat > 1 else "1 run"
        scanned = sum(reference_rows.values())
        print()
        print(f"1. All liquidation checks over the year against one sequential scan of their tables ({runs})")
        print(f"   run_checks(fiscal year) + commit       {check_s:8.2f} s   (runs: "
              f"{', '.join(f'{s:.2f}' for s in checks)})")
        print(f"   seq scan of {len(RULE_TABLES)} tables ({scanned:,} rows)  {ref_s:8.2f} s   (runs: "
              f"{', '.join(f'{s:.2f}' for s in references)})")
        print(f"   ratio checks / scan            {ratio:8.2f}×   target ≤ {TARGET_RATIO:g}×   {verdict(ok)}")
        two = workers(app) > 1
        print(f"   rules on {'two connections at once (AUDIT_CHECK_WORKERS > 1)' if two else 'one connection'}")
        print()
        print(f"   {'rule':<32} {'time (median)':>13} {'findings':>9} {'planted':>8}")
        missed = []
        groups = [("on the run's connection", [c for c in per_rule[0] if c not in WORKER_RULES]),
                  ("on the second connection, at the same time", [c for c in per_rule[0] if c in WORKER_RULES])] \
            if two else [(None, list(per_rule[0]))]
        for title, codes in groups:
            if title:
                total = sum(statistics.median(r[c] for r in per_rule) for c in codes)
                print(f"   {title} ({total:.2f} s together)")
            for code in codes:
                median = statistics.median(r[code] for r in per_rule)
                if code == SHARED:
                    print(f"   {code:<32} {median:11.2f} s {'—':>9} {'—':>8}")
                    continue
                found, want = counts.get(code, 0), planted.get(code, 0)
                mark = "" if found >= want else "   MISSED"
                if found < want:
                    missed.append(code)
                print(f"   {code:<32} {median:11.2f} s {found:9,} {want:8}{mark}")
        failures += bool(missed)
        print(f"   planted anomalies found: {verdict(not missed)}" + (f" (missed: {', '.join(missed)})" if missed else ""))

        print()
        print(f"2. Report to the legislature, the generated fiscal year ({runs})")
        try:
            reports = [legislature_report(app) for _ in range(args.repeat)]
        except Exception as exc:   # a builder that fails on a full year is a finding of the benchmark
            failures += 1
            print(f"   FAIL: building the report raised {type(exc).__name__}: {str(exc)[:300]}")
        else:
            report_s = statistics.median(total for total, _ in reports)
            times = min(reports, key=lambda r: abs(r[0] - report_s))[1]
            report_ok = report_s <= TARGET_REPORT_SECONDS
            failures += not report_ok
            print(f"   report_data {times['report_data']:.2f} s + PDF {times['pdf']:.2f} s "
                  f"({times['pdf_bytes'] / 1e3:,.0f} kB) + XLSX {times['xlsx']:.2f} s ({times['xlsx_bytes'] / 1e3:,.0f} kB)")
            print(f"   total {report_s:8.2f} s   target ≤ {TARGET_REPORT_SECONDS:g} s   {verdict(report_ok)}")
        print()
        print(f"3. Peak RSS of this process (checks and reports): {mb(status_kib('VmHWM')):.1f} MB")

        if args.explain:
            slowest = sorted(per_rule[0], key=lambda c: -statistics.median(r[c] for r in per_rule))[:args.explain]
            explain(app, statements, slowest)
    finally:
        dispose(app)
        if summary and not args.keep:
            _drop(url)
        elif summary:
            print(f"\nkept the year: --database '{url}'")
    print()
    print("all targets met" if not failures else f"{failures} target(s) missed")
    return 1 if failures else 0


def workers(app) -> int:
    return int(app.config.get("AUDIT_CHECK_WORKERS", 1))


def _engine(app):
    from grants.extensions import db

    with app.app_context():
        return db.engine


def _drop(url: str) -> None:
    import sqlalchemy as sa

    schema = sa.engine.make_url(url).query["options"].split("search_path=")[1]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
