"""Benchmark of the lists' search on a generated year (issue 14: ≤ 200 ms a page at 1 M enrollments).

Each page is asked for through the application, whole (login session, query, template): an
agreement's people by the beginning of a last name, by exact DUI (the POST that also writes the
audit event), by state, a later page of the name search; the whole registry (``/beneficiarios``) by
a name prefix (as the ministry and as an NGO) and by exact DUI; the agreements and the payments by text.
Every figure is the median of ``--repeat`` asks (after one to warm up), printed beside the
unfiltered first page of the same agreement's people, measured in the same run (the ratio says
what the search adds to a page that has no search). Verdict: every page ≤ 200 ms.

    .venv/bin/python bench/search_lists.py                    # generate a full year (~2 min), then measure
    .venv/bin/python bench/search_lists.py --quick            # 5 % of a year
    .venv/bin/python bench/search_lists.py --database URL     # a year kept by generate_year.py --keep
"""
from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import app_for_url, dispose, parse_year_arguments, verdict, year_arguments  # noqa: E402

TARGET_MS = 200.0
PASSWORD = "bench-2026"   # bench/year/generate.py


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    return match.group(1) if match else ""


def _login(client, email: str) -> None:
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code not in (302, 303):
        sys.exit(f"could not sign in as {email}: {response.status_code}")


def _timed(ask, repeat: int) -> tuple[float, int]:
    ask()  # warm: the first ask pays for templates and caches
    times, status = [], 0
    for _ in range(repeat):
        begun = time.perf_counter()
        response = ask()
        times.append((time.perf_counter() - begun) * 1000)
        status = response.status_code
    return statistics.median(times), status


def _subjects(app) -> dict:
    """The biggest agreement, a last-name prefix and a DUI of one of its people, a payment's supplier."""
    from sqlalchemy import func, select

    from grants.extensions import db
    from grants.models import Agreement, Beneficiary, Enrollment, Payment, Supplier

    with app.app_context():
        agreement_id, people = db.session.execute(
            select(Enrollment.agreement_id, func.count()).group_by(Enrollment.agreement_id)
            .order_by(func.count().desc()).limit(1)).one()
        person = db.session.execute(
            select(Beneficiary.last_names, Beneficiary.document_number).join(
                Enrollment, Enrollment.beneficiary_id == Beneficiary.id)
            .where(Enrollment.agreement_id == agreement_id, Beneficiary.document_type == "dui")
            .order_by(Enrollment.id).offset(people // 2).limit(1)).one()
        number = db.session.scalar(select(Agreement.number).where(Agreement.id == agreement_id))
        supplier = db.session.scalar(select(Supplier.legal_name).join(Payment, Payment.supplier_id == Supplier.id)
                                     .limit(1))
        totals = {"enrollments": db.session.scalar(select(func.count()).select_from(Enrollment)),
                  "beneficiaries": db.session.scalar(select(func.count()).select_from(Beneficiary))}
    return {"agreement_id": agreement_id, "people": people, "prefix": person.last_names[:3].lower(),
            "dui": person.document_number, "number": number, "supplier": (supplier or "a").split()[0],
            **totals}


def main() -> int:
    args = parse_year_arguments(year_arguments(__doc__.split("\n\n")[0], 5, "timed asks of each page"))
    generated = not args.database
    if args.database:
        url = args.database
    else:
        from liquidation_checks import generate_in_child

        print(f"Generating a year at scale {args.scale:g} (seed {args.seed}) in a child process …", flush=True)
        url = generate_in_child(args.scale, args.seed)["url"]
    app = app_for_url(url)
    try:
        s = _subjects(app)
        print(f"Search benchmark on {s['enrollments']:,} enrollments ({s['beneficiaries']:,} people); agreement "
              f"{s['number']} with {s['people']:,} people; median of {args.repeat}\n")
        client = app.test_client()
        _login(client, "monitoring_reviewer1@mjsp.bench.gob.sv")
        people = f"/agreements/{s['agreement_id']}/beneficiaries"
        token = _csrf(client.get(people).get_data(as_text=True))
        ngo = app.test_client()  # the registry-wide search scoped to one organization
        _login(ngo, "ngo1@ong1.org.sv")
        pages = [
            ("people, no filter (reference)", lambda: client.get(people)),
            (f"people by name prefix '{s['prefix']}'", lambda: client.get(f"{people}?q={s['prefix']}")),
            ("people by name prefix, page 3", lambda: client.get(f"{people}?q={s['prefix'][:1]}&page=3")),
            ("people by exact DUI (POST, audited)",
             lambda: client.post(f"{people}/dui", data={"dui": s["dui"], "csrf_token": token})),
            ("people by state 'active'", lambda: client.get(f"{people}?status=active")),
            ("people, last page", lambda: client.get(f"{people}?page=100000")),
            (f"registry-wide by name prefix '{s['prefix']}'", lambda: client.get(f"/beneficiarios?q={s['prefix']}")),
            ("registry-wide by name prefix, page 3", lambda: client.get(f"/beneficiarios?q={s['prefix'][:2]}&page=3")),
            ("registry-wide by one letter (the worst)", lambda: client.get(f"/beneficiarios?q={s['prefix'][:1]}")),
            ("registry-wide by exact DUI (POST, audited)",
             lambda: client.post("/beneficiarios/dui", data={"dui": s["dui"], "csrf_token": token})),
            (f"registry-wide, an NGO, by name '{s['prefix']}'", lambda: ngo.get(f"/beneficiarios?q={s['prefix']}")),
            ("agreements by NGO text", lambda: client.get("/agreements?q=asoc&year=")),
            (f"payments by supplier '{s['supplier']}'", lambda: client.get(f"/payments?q={s['supplier']}&state=executed")),
        ]
        failures, reference = 0, None
        for label, ask in pages:
            ms, status = _timed(ask, args.repeat)
            reference = reference or ms
            ok = status == 200 and ms <= TARGET_MS
            failures += not ok
            print(f"   {label:<42} {ms:8.1f} ms  ({ms / reference:4.2f}× the reference)  HTTP {status}  "
                  f"target ≤ {TARGET_MS:.0f} ms  {verdict(ok)}")
    finally:
        dispose(app)
        if generated and not args.keep:
            from liquidation_checks import _drop

            _drop(url)
    print(f"\n{'PASS' if not failures else 'FAIL'}: {len(pages) - failures} of {len(pages)} pages within {TARGET_MS:.0f} ms")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
