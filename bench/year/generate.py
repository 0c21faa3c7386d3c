"""``generate``: a year into a migrated, empty PostgreSQL schema, with COPY; then VACUUM (ANALYZE)."""
from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date

from grants import clock

from _common import Loader, app_for_url
from year.agreements import AgreementBuilder
from year.constants import PLANTED, TABLES
from year.plan import agreement_states, assign_plants, split, targets
from year.world import World


def generate(app_or_url, scale: float = 1.0, seed: int = 2026, *, as_of: date | None = None, check_fks: bool = False,
             progress=None) -> dict:
    """Fill a migrated, empty PostgreSQL schema with a year seen on ``as_of`` (default: today,
    ``grants.clock.today()``); returns a summary (its fiscal year, counts, planted anomalies)."""
    as_of = as_of or clock.today()
    app = app_or_url if hasattr(app_or_url, "app_context") else app_for_url(app_or_url)
    say = progress or (lambda message: None)
    started = time.perf_counter()
    want = targets(scale)
    rng = random.Random(seed)
    n = want["agreements"]
    states = agreement_states(rng, n)
    plants = assign_plants(rng, states, random.Random(f"{seed}-timeline"))
    weights = [min(4.0, rng.lognormvariate(0, 0.5)) for _ in range(n)]
    enrollments = split(want["enrollments"], weights)
    lines = split(want["invoice_lines"], [w * rng.uniform(0.8, 1.2) for w in weights])
    receipts = split(want["receipts"], [w * rng.uniform(0.8, 1.2) for w in weights])

    from grants.extensions import db
    from grants.security import hash_password

    with app.app_context():
        password_hash = hash_password("bench-2026")
        raw = db.engine.raw_connection()
        try:
            pg = raw.driver_connection
            with pg.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM agreements")
                if cursor.fetchone()[0]:
                    raise RuntimeError("the schema already holds agreements: generate into an empty one")
                if not check_fks:
                    cursor.execute("SET session_replication_role = replica")   # no FK triggers; CHECKs stay
            loader = Loader(pg, TABLES)
            world = World(rng, loader, as_of, password_hash)
            for i in range(n):
                AgreementBuilder(world, i, states[i], plants.get(i, {}), enrollments[i], lines[i], receipts[i],
                                 random.Random(seed * 1_000_003 + i), random.Random(f"{seed}-{i}-timeline")).build()
                loader.maybe_flush()
                if progress and (i + 1) % max(1, n // 10) == 0:
                    say(f"  {i + 1}/{n} agreements, {loader.rows['enrollments']:,} enrollments, "
                        f"{loader.rows['invoice_lines']:,} invoice lines, {loader.rows['expense_receipts']:,} "
                        f"receipts ({time.perf_counter() - started:.0f} s)")
            world.finish()
            loader.flush()
            with pg.cursor() as cursor:
                # Versions are frozen once submitted (triggers): their children went in first.
                cursor.execute("UPDATE plan_versions SET submitted_at = created_at + interval '2 days', "
                               "submitted_by_id = created_by_id")
                cursor.execute("INSERT INTO agreement_counters (year, last_sequence) VALUES (%s, %s)",
                               (world.fiscal_year, n))
                for table in loader.tables_with_ids():
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
                if not check_fks:
                    cursor.execute("SET session_replication_role = origin")
            pg.commit()
            say(f"  loaded in {time.perf_counter() - started:.0f} s; VACUUM (ANALYZE) …")
            vacuum_analyze(pg)
        finally:
            raw.close()
        _audit_events(db, world)
        url = db.engine.url.render_as_string(hide_password=False)
    planted = {rule: (count if rule != "double_active_enrollment" or n > 2 else 0) for rule, count in PLANTED.items()}
    return {"url": url, "scale": scale, "seed": seed, "as_of": as_of.isoformat(), "fiscal_year": world.fiscal_year,
            "targets": want,
            "counts": dict(sorted(loader.rows.items())), "planted": planted, "states": dict(Counter(states)),
            "planted_in": {rule: sorted(i + 1 for i, p in plants.items() if rule in p) for rule in PLANTED},
            "seconds": round(time.perf_counter() - started, 1)}


def vacuum_analyze(pg) -> None:
    """``VACUUM (ANALYZE)`` of this schema's tables, as after any bulk load (the PostgreSQL manual,
    "Populating a Database"): statistics for the planner, and the visibility map that index-only
    scans need, which autovacuum would have built on a live server (the tests' server runs without it)."""
    pg.autocommit = True
    with pg.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(f'"{t}"' for t in tables))
    pg.autocommit = False


def _audit_events(db, world: World) -> None:
    """A handful of real chained events (not millions): the generation itself, on a few agreements."""
    from grants.audit import Actor, record_event

    actor = Actor.system("bench")
    for agreement_id, organization_id, number in world.first_agreements[:5]:
        record_event(db.session, actor, "bench.year_generated", "agreement", agreement_id,
                     after={"number": number, "note": "datos sintéticos de benchmark"},
                     organization_id=organization_id)
    db.session.commit()
