"""Findings of every liquidation rule on a generated year, dumped to compare two versions of the rules.

    .venv/bin/python bench/compare_findings.py dump URL before.json           # each rule on its own
    .venv/bin/python bench/compare_findings.py dump URL after.json shared     # as run_checks: receipt sums shared
    .venv/bin/python bench/compare_findings.py dump URL w2.json workers=2     # as run_checks runs them, on 2 connections
    .venv/bin/python bench/compare_findings.py compare before.json after.json # exit 1 when a rule differs

A dump is, per rule, ``{fingerprint: [agreement, organization, severity, summary, evidence, amount]}``
of ``rule.find(db.session, Scope(fiscal_year=<the generated year's>), settings)`` on the day given by ``ON``
(YYYY-MM-DD, default today): make both dumps on the same day, so that ``advance_overdue``'s days late
do not change between them. ``workers=N``: the rules run by
``run_checks``' own runner (``audit_checks._run_rules``) with ``AUDIT_CHECK_WORKERS = N`` (2: on two
connections reading one snapshot), nothing written. See bench/README.md.
"""
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dump(url, out, shared=False, workers=None):
    from _common import app_for_url, dispose
    app = app_for_url(url, **({} if workers is None else {"AUDIT_CHECK_WORKERS": workers}))
    with app.test_request_context():
        from grants.audit.rules import RULES, Scope
        from grants.services.audit_checks import fingerprint, settings_for
        import os

        from sqlalchemy import func, select

        from grants import clock
        from grants.extensions import db
        from grants.models import Allocation

        settings = settings_for(date.fromisoformat(os.environ.get("ON") or clock.today().isoformat()))
        scope = Scope(fiscal_year=db.session.scalar(select(func.max(Allocation.fiscal_year))))
        result = {}
        if shared:   # as run_checks does: the receipt sums in a temporary table, once
            from grants.audit.rules_base import share_receipt_sums
            share_receipt_sums(scope, settings, "audit_receipt_sums_dump")
        if workers is not None:   # as run_checks runs them (two connections when workers > 1)
            from grants.services import audit_checks
            snapshot_id = audit_checks._exported_snapshot()
            assert (snapshot_id is not None) == (workers > 1), "two connections as asked"
            ran = audit_checks._run_rules(scope, settings, "audit_receipt_sums_dump", snapshot_id, None)
        for rule in RULES:
            got = {}
            for r in (ran[rule.code] if workers is not None else rule.find(db.session, scope, settings)):
                got[fingerprint(r.rule_code, r.entity_type, r.entity_id)] = [
                    r.agreement_id, r.organization_id, r.severity, r.summary, r.plain_evidence(),
                    None if r.amount is None else str(r.amount)]
            result[rule.code] = got
        from grants.extensions import db
        db.session.rollback()
    dispose(app)
    Path(out).write_text(json.dumps(result, sort_keys=True, default=str))
    print({k: len(v) for k, v in result.items()})

def compare(a, b):
    A, B = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    bad = 0
    for code in sorted(set(A) | set(B)):
        x, y = A.get(code, {}), B.get(code, {})
        same = x == y
        bad += not same
        print(f"{code:<32} before {len(x):4} after {len(y):4}  {'identical' if same else 'DIFFERENT'}")
        if not same:
            for fp in sorted(set(x) | set(y)):
                if x.get(fp) != y.get(fp):
                    print("   ", fp[:12], x.get(fp), "\n    ->", y.get(fp))
    print("ALL IDENTICAL" if not bad else f"{bad} rule(s) differ")
    return bad

if __name__ == "__main__":
    if sys.argv[1] == "dump":
        mode = sys.argv[4] if len(sys.argv) > 4 else ""
        dump(sys.argv[2], sys.argv[3], shared=mode == "shared",
             workers=int(mode.split("=")[1]) if mode.startswith("workers=") else None)
    else:
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
