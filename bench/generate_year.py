"""A realistic fiscal year on PostgreSQL, for the issue-6 benchmarks; deterministic per ``--seed`` and ``--as-of``.

The year is seen on the day it is generated (``--as-of``, default today: ``grants.clock.today()``):
it was designed as a 2026 year seen on 20 November 2026 (``REFERENCE_AS_OF``), and every date is
that design moved by as many days as ``--as-of`` is from it, so the same relations hold on any day
(the money of the last weeks still in flight, the advances due soon not yet liquidated, the planted
anomalies). Its fiscal year is the year its terms start in (the summary's ``fiscal_year``; 2026 as
of 20 November 2026), and the agreements are numbered ``MJSP-CONV-<fiscal year>-NNNN``.

Full scale: 300 agreements (organizations with boards and phones, allocations of the year, approved plans
with budget lines, tranches, indicators and activities; agreements in execution, suspended,
closing and liquidated, each with its administrator and status history), 1,000,000 enrollments
with their status periods (pending → validated → active, some inactive or withdrawn; some people
in two agreements one after the other), suppliers (a few with a superseded version after a bank
account change), invoices with 2,000,000 lines (about 2 % per beneficiary, listing the
beneficiaries served), receipt certificates, direct payments with their lines, deductions and
authorizations, advances with expense statements holding 500,000 receipts (dated from the advance's
transfer on; a few agreements have a pre-financing clause and some receipts within it), refunds
declared by the NGO and confirmed by treasury, incidents whose suspension went through due process
(the NGO's reply, then applied), follow-up reports, final liquidations approved by legal, financial
and monitoring (revision 1 and its three sign-offs), and the ledger (``agreement_balances``,
``budget_line_balances``) equal to the transactions, so ``grants.services.ledger.check_invariants()``
finds nothing.

Rows go in with ``COPY`` (never through the services: a year would take hours), in dependency
order, one agreement's rows at a time; ids are assigned here and the sequences set afterwards.
By default the foreign-key triggers are skipped (``session_replication_role = replica``); CHECK,
NOT NULL and UNIQUE constraints always apply, and ``--check-fks`` (the test) keeps every trigger on.

The generator itself is the package ``bench/year/`` (see its ``__init__``); this file is the CLI.

A few anomalies are planted for each liquidation-check rule (``year.constants.PLANTED``; the summary
returns them), so the checks benchmark can tell that they were found. ``budget_line_overspent``
is not planted: the ledger's CHECK refuses an overspent line, so it cannot exist without breaking
the invariants as well. ``audit_chain_broken`` is not planted either (the chain must verify), nor
are ``certificate_before_service_end``, ``payment_before_certificate`` and ``payment_basis_changed``:
the year keeps the timeline those rules check, and they must find nothing.

    .venv/bin/python bench/generate_year.py --scale 0.01 --keep      # ~3 % of a year; prints the URL
    .venv/bin/python bench/generate_year.py --database URL            # into an existing, migrated schema
    .venv/bin/python bench/generate_year.py --as-of 2026-11-20        # the year as first designed (fiscal year 2026)
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_database  # noqa: E402
from year import FULL, PLANTED, REFERENCE_AS_OF, TABLES, generate, targets, vacuum_analyze  # noqa: E402,F401

__all__ = ["FULL", "PLANTED", "REFERENCE_AS_OF", "TABLES", "generate", "main", "targets", "vacuum_analyze"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full year (0.01 for a quick run)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="the day the year is seen on (default: today in El Salvador)")
    parser.add_argument("--database", help="an existing, migrated, empty schema's URL (else a fresh schema)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh schema and print its URL")
    parser.add_argument("--check-fks", action="store_true", help="keep the foreign-key triggers on (slower)")
    parser.add_argument("--summary", help="also write the summary (with the database URL) to this JSON file")
    args = parser.parse_args()
    database = None
    if args.database:
        target = args.database
    else:
        database, target = fresh_database()
    print(f"Generating a year at scale {args.scale:g} (seed {args.seed}) …", flush=True)
    try:
        summary = generate(target, args.scale, args.seed, as_of=args.as_of, check_fks=args.check_fks,
                           progress=lambda m: print(m, flush=True))
    except BaseException:
        if database is not None and not args.keep:
            database.drop()
        raise
    print(json.dumps({k: v for k, v in summary.items() if k not in ("url", "planted_in")}, indent=1))
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=1))
    if database is not None:
        from _common import dispose

        dispose(target)
        if args.keep:
            print(f"\nkept schema {database.name}; reuse it with --database '{database.url}'")
        else:
            database.drop()
            print(f"\ndropped schema {database.name} (use --keep to reuse it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
