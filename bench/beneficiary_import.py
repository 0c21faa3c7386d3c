"""Benchmark of the beneficiary-list import (grants.services.beneficiary_imports.import_file).

Everything is measured in one run and printed as ratios, so the figures hold on any machine:

1. the import of a 100,000-row CSV (every row check, COPY into ``import_rows``, the set-based
   cross-checks, the audit events, the commit) against a plain PostgreSQL ``COPY`` of the same
   rows into a typed table with a unique key (target: ≤ 4×);
2. 100,000 vs 1,000,000 rows, each imported in a child process of its own that does nothing
   else: time ratio (target: ≤ 12×) and the child's peak RSS (target: ≤ 300 MB).

    .venv/bin/python bench/beneficiary_import.py            # 100k vs COPY; 100k and 1M in children
    .venv/bin/python bench/beneficiary_import.py --quick    # 10k vs COPY; 10k and 100k in children
    .venv/bin/python bench/beneficiary_import.py --profile  # also cProfile the import (top 25)

Needs the PostgreSQL of the test suite (``TEST_DATABASE_URL``, default the local ``test``
database); it works in a schema of its own, dropped at the end. See bench/README.md.
Timing goals live here, never in the tests.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, fresh_database, mb, status_kib, verdict  # noqa: E402

from grants.validation.beneficiary_rows import age_on  # noqa: E402
from grants.validation.identity import dui_check_digit  # noqa: E402
from tests.timeline import day  # noqa: E402

HEADER = ["Tipo de documento", "DUI", "Nombres", "Apellidos", "Fecha de nacimiento", "Sexo", "Municipio",
          "Fecha de inscripción"]
# tests.agreement_helpers.agreement_in_execution: its term is the tests' reference term (1 February to
# 30 November 2026) moved to the tests' calendar (tests.timeline.day: today is the reference's 20 November)
TERM = (day("2026-02-01"), day("2026-11-30"))
AGES = (14, 29)
TARGET_COPY_RATIO = 4.0
TARGET_SCALE_RATIO = 12.0
TARGET_PEAK_MB = 300.0

FIRST_NAMES = ["José", "María", "Ángel", "Sofía", "Andrés", "Inés", "Jesús", "Raúl", "Verónica", "Mónica", "Iván",
               "Héctor", "Martín", "Lucía", "Julián", "Ramón", "Nicolás", "Belén", "Ana", "Carlos", "Luis",
               "Fátima", "Dolores", "Noé", "Elías", "Tomás", "Rocío", "Sebastián", "Valeria", "Darío", "Zoé",
               "Óscar", "Jimena", "Rubén", "Adrián", "Abigaíl", "Josué", "Nahúm", "Génesis", "Joaquín"]
LAST_NAMES = ["Hernández", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cañas",
              "Peña", "Muñoz", "Gómez", "Díaz", "Chávez", "Menjívar", "Alemán", "Ayala", "Portillo", "Quintanilla",
              "Guardado", "Flores", "Rivas", "Orellana", "Álvarez", "Cortez", "Mejía", "Argueta", "Villalta",
              "Ibáñez", "de la O", "Solórzano", "Avilés", "Núñez", "Zelaya", "Escobar", "Beltrán"]
# the agreement's territory (0623, 0622) by name, as people type it
MUNICIPALITIES = ["San Salvador Centro"] * 6 + ["San Salvador Este"] * 5 + [
    "san salvador centro", "SAN SALVADOR ESTE", "San  Salvador Este"]
SEXES = ["F"] * 8 + ["M"] * 8 + ["Femenino", "Masculino", "f", "m"]
# ~2% of the rows carry one of these errors (the code the import must report)
ERROR_KINDS = ["dui_check_digit", "dui_format", "municipality_unknown", "municipality_outside", "date_format",
               "age_out_of_range", "sex_unknown", "required", "enrollment_outside_term", "adult_needs_dui",
               "minor_has_no_dui"]
ERROR_SHARE, DUPLICATE_SHARE = 0.02, 0.01
IMPOSSIBLE_DATES = ("31/02/2001", "30/02/2005", "31/04/1999")   # birth dates of the date_format rows


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@dataclass
class Generated:
    path: Path
    baseline_path: Path | None
    rows: int
    errors: int = 0
    duplicates: int = 0
    baseline_rows: int = 0
    kinds: dict = field(default_factory=dict)


class RowFactory:
    """Realistic rows: adults with valid unique DUIs, minors with a birth certificate or minor's card."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.serial = 0
        # a bijection of 1..10^8-1 so DUIs look scattered but never repeat
        self.stride, self.offset = 7_919_821, self.rng.randrange(1, 99_999_999)

    def _next_dui(self, dashed: bool = True) -> str:
        self.serial += 1
        digits = f"{(self.offset + self.serial * self.stride) % 99_999_999 + 1:08d}"
        check = dui_check_digit(digits)
        return f"{digits}-{check}" if dashed else f"{digits}{check}"

    def _names(self) -> tuple[str, str]:
        rng = self.rng
        first = " ".join(rng.sample(FIRST_NAMES, rng.choice((1, 2, 2))))
        return first, f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"

    def _dates(self, age_range=AGES) -> tuple[date, date, int]:
        rng = self.rng
        enrolled = TERM[0] + timedelta(days=rng.randrange((day("2026-11-24") - TERM[0]).days))
        while True:
            birth = enrolled - timedelta(days=rng.randrange(age_range[0] * 365, (age_range[1] + 1) * 365 + 8))
            age = age_on(birth, enrolled)
            if age_range[0] <= age <= age_range[1]:
                return birth, enrolled, age

    def _document(self, age: int) -> tuple[str, str]:
        if age >= 18:
            return self.rng.choice(("DUI", "DUI", "DUI", "dui")), self._next_dui(self.rng.random() > 0.1)
        self.serial += 1
        if self.rng.random() < 0.7:
            return "Partida de nacimiento", f"PN-{2026 - age}-{self.serial:07d}"
        return "Carné de minoridad", f"CM{self.serial:08d}"

    def valid(self) -> list[str]:
        rng = self.rng
        birth, enrolled, age = self._dates()
        doc_type, number = self._document(age)
        first, last = self._names()
        return [doc_type, number, first, last, dmy(birth), rng.choice(SEXES), rng.choice(MUNICIPALITIES),
                dmy(enrolled)]

    def with_error(self, kind: str) -> list[str]:
        row = self.valid()
        if kind in ("dui_check_digit", "dui_format", "adult_needs_dui", "minor_has_no_dui"):
            birth, enrolled, _ = self._dates((20, 29) if kind != "minor_has_no_dui" else (14, 16))
            row[4], row[7] = dmy(birth), dmy(enrolled)
            dui = self._next_dui()
            row[0], row[1] = "DUI", dui
            if kind == "dui_check_digit":
                row[1] = f"{dui[:9]}{(int(dui[9]) + 1) % 10}"
            elif kind == "dui_format":
                row[1] = dui[:6]
            elif kind == "adult_needs_dui":
                row[0], row[1] = "Pasaporte", f"A{dui[:8]}"
        elif kind == "municipality_unknown":
            row[6] = self.rng.choice(("Atlántida", "Ciudad Gótica", "San Salvador Norteño"))
        elif kind == "municipality_outside":
            row[6] = self.rng.choice(("Santa Ana Centro", "La Libertad Sur", "San Miguel Centro"))
        elif kind == "date_format":
            row[4] = self.rng.choice(IMPOSSIBLE_DATES)
        elif kind == "age_out_of_range":
            row[4] = dmy(date(1975 + self.rng.randrange(10), 1 + self.rng.randrange(12), 1 + self.rng.randrange(28)))
        elif kind == "sex_unknown":
            row[5] = self.rng.choice(("X", "Otro", "?"))
        elif kind == "required":
            row[2 + self.rng.randrange(2)] = ""
        elif kind == "enrollment_outside_term":
            row[7] = dmy(self.rng.choice((day("2025-12-15"), day("2026-01-10"), day("2026-12-05"))))
        return row


def generate(directory: Path, rows: int, seed: int, baseline: bool) -> Generated:
    """The list an NGO would upload, and (for the COPY baseline) the same rows a typed table with a
    unique person key can hold: without the in-file duplicates and the rows whose dates do not exist."""
    factory = RowFactory(seed + rows)
    rng = factory.rng
    out = Generated(directory / f"beneficiarios_{rows}.csv",
                    directory / f"baseline_{rows}.csv" if baseline else None, rows)
    seen_keys: list[tuple[str, str]] = []       # valid rows' documents, for in-file duplicates
    baseline_keys: set[tuple[str, str]] = set()  # the baseline's unique key, as written
    with out.path.open("w", encoding="utf-8", newline="") as handle, \
            (out.baseline_path.open("w", encoding="utf-8", newline="") if baseline else open(os.devnull, "w")) as base:
        writer, base_writer = csv.writer(handle, lineterminator="\n"), csv.writer(base, lineterminator="\n")
        writer.writerow(HEADER)
        base_writer.writerow(HEADER)
        for _ in range(rows):
            draw = rng.random()
            if draw < DUPLICATE_SHARE and seen_keys:
                row = factory.valid()
                row[0], row[1] = seen_keys[rng.randrange(len(seen_keys))]   # the same person again
                out.duplicates += 1
                writer.writerow(row)
                continue
            if draw < DUPLICATE_SHARE + ERROR_SHARE:
                kind = ERROR_KINDS[out.errors % len(ERROR_KINDS)]
                row = factory.with_error(kind)
                out.errors += 1
                out.kinds[kind] = out.kinds.get(kind, 0) + 1
            else:
                row = factory.valid()
                seen_keys.append((row[0], row[1]))
            writer.writerow(row)
            key = (row[0], row[1])
            if baseline and dates_exist(row) and key not in baseline_keys:
                baseline_keys.add(key)
                base_writer.writerow(row)
                out.baseline_rows += 1
    return out


def dates_exist(row: list[str]) -> bool:
    """Whether PostgreSQL accepts the row's dates (dd/mm/yyyy with DateStyle DMY)."""
    return row[4] not in IMPOSSIBLE_DATES


# --- the database ------------------------------------------------------------------------------

def setup_database(uploads: Path):
    """A fresh, migrated PostgreSQL schema with an agreement in execution (tests' own helpers)."""
    database, app = fresh_database(uploads)
    with app.app_context():
        from tests.agreement_helpers import agreement_in_execution

        ctx = agreement_in_execution()
        ids = {"agreement": ctx["agreement"].id, "ngo": ctx["ngo"].id}
    return database, app, ids


def run_import(path: Path, ids: dict, profile_to: Path | None = None) -> tuple[float, dict, int]:
    """Inside an app context: read the file, import it, commit. Returns seconds, the batch's counts, its id."""
    from grants.audit import Actor
    from grants.extensions import db
    from grants.models import User
    from grants.services.beneficiary_imports import import_file

    actor = Actor.for_user(db.session.get(User, ids["ngo"]))
    profiler = None
    if profile_to is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    batch = import_file(actor, ids["agreement"], path.name, path.read_bytes())
    db.session.commit()
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile_to))
    counts = {"status": batch.status, "failure": batch.failure, "total": batch.rows_total,
              "valid": batch.rows_valid, "warning": batch.rows_warning, "error": batch.rows_error}
    batch_id = batch.id
    db.session.remove()
    return seconds, counts, batch_id


def copy_baseline(app, path: Path) -> tuple[float, int]:
    """COPY the (de-duplicated, loadable) rows into a typed table with a unique person key."""
    from grants.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            pg = raw.driver_connection
            with pg.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_copy_baseline")
                cursor.execute("""
                    CREATE TABLE bench_copy_baseline (
                        document_type text, document_number text, first_names text, last_names text,
                        birth_date date, sex text, municipality text, enrollment_date date)""")
                cursor.execute("CREATE UNIQUE INDEX ON bench_copy_baseline (document_type, document_number)")
            pg.commit()
            started = time.perf_counter()
            with pg.cursor() as cursor:
                cursor.execute("SET LOCAL datestyle = 'ISO, DMY'")  # dd/mm/yyyy, this transaction only
                with cursor.copy("COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                        path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
            pg.commit()
            seconds = time.perf_counter() - started
            with pg.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM bench_copy_baseline")
                loaded = cursor.fetchone()[0]
                cursor.execute("DROP TABLE bench_copy_baseline")
            pg.commit()
        finally:
            raw.close()
    return seconds, loaded


def copy_into_import_rows(app, batch_id: int) -> float:
    """For reference, the floor: the rows the import stored (checked, formatted) COPYed again into
    ``import_rows`` itself, with its foreign key, primary key and JSON column, under a copy of
    the batch (removed afterwards)."""
    from grants.extensions import db
    from grants.services.row_store import COLUMNS

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            pg = raw.driver_connection
            with pg.cursor() as cursor:
                cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'import_batches' "
                               "AND table_schema = current_schema() AND column_name <> 'id'")
                columns = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
                cursor.execute(f"INSERT INTO import_batches ({columns}) SELECT {columns} FROM import_batches "
                               "WHERE id = %s RETURNING id", (batch_id,))
                twin = cursor.fetchone()[0]
                data = bytearray()
                selected = ", ".join(str(twin) if c == "batch_id" else c for c in COLUMNS)
                with cursor.copy(f"COPY (SELECT {selected} FROM import_rows WHERE batch_id = {batch_id} "
                                 "ORDER BY row_number) TO STDOUT") as copy:
                    for chunk in copy:
                        data += chunk
            pg.commit()
            started = time.perf_counter()
            with pg.cursor() as cursor:
                with cursor.copy(f"COPY import_rows ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for offset in range(0, len(data), 1 << 20):
                        copy.write(data[offset:offset + (1 << 20)])
            pg.commit()
            seconds = time.perf_counter() - started
            with pg.cursor() as cursor:
                cursor.execute("DELETE FROM import_batches WHERE id = %s", (twin,))  # its rows cascade
            pg.commit()
        finally:
            raw.close()
    return seconds


def child_import(args) -> None:
    """``--child N``: only the import of the N-row file, in this process; one JSON line out."""
    from grants import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=args.db, UPLOAD_DIR=args.uploads)
    with app.app_context():
        rss_before = status_kib("VmRSS")
        seconds, counts, _ = run_import(Path(args.csv), {"agreement": args.agreement, "ngo": args.ngo})
    print(json.dumps({"rows": args.child, "seconds": seconds, "counts": counts,
                      "rss_before_kib": rss_before, "vmhwm_kib": status_kib("VmHWM")}))


def in_child(rows: int, path: Path, database, uploads: Path, ids: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(rows), "--csv", str(path),
               "--db", database.url, "--uploads", str(uploads), "--agreement", str(ids["agreement"]),
               "--ngo", str(ids["ngo"])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"child import of {rows} rows failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_counts(counts: dict, generated: Generated) -> None:
    """The import must have found exactly the errors and duplicates that were planted."""
    expected = {"status": "ready", "failure": None, "total": generated.rows, "warning": 0,
                "error": generated.errors + generated.duplicates,
                "valid": generated.rows - generated.errors - generated.duplicates}
    if counts != expected:
        sys.exit(f"import of {generated.path.name} gave {counts}, expected {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k rows against COPY; 10k and 100k for the scale")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the import and of the COPY (median)")
    parser.add_argument("--profile", action="store_true", help="cProfile the import; print the top 25 functions")
    parser.add_argument("--keep", action="store_true", help="keep the schema and the temp directory")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    for name in ("--csv", "--db", "--uploads"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--agreement", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ngo", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(args)
        return 0

    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="fondos-bench-"))
    uploads = work / "uploads"
    print(f"Beneficiary import benchmark ({'quick' if args.quick else 'full'}; temp dir {work})")
    started = time.perf_counter()
    files = {small: generate(work, small, args.seed, baseline=True), large: generate(work, large, args.seed, False)}
    g = files[small]
    print(f"generated {small:,} + {large:,} rows in {time.perf_counter() - started:.1f} s; {small:,}-row file: "
          f"{g.path.stat().st_size / 1e6:.1f} MB, {g.errors} rows with errors {dict(sorted(g.kinds.items()))}, "
          f"{g.duplicates} in-file duplicates")

    database, app, ids = setup_database(uploads)
    failures = 0
    try:
        with app.app_context():
            warm = generate(work, 500, args.seed + 1, baseline=False)   # first-use costs (imports, caches)
            check_counts(run_import(warm.path, ids)[1], warm)
        imports, copies = [], []
        for _ in range(args.repeat):   # interleaved, so a drift of the machine hits both alike
            with app.app_context():
                seconds, counts, batch_id = run_import(g.path, ids)
            check_counts(counts, g)
            imports.append(seconds)
            seconds, loaded = copy_baseline(app, g.baseline_path)
            if loaded != g.baseline_rows:
                sys.exit(f"COPY loaded {loaded} rows, expected {g.baseline_rows}")
            copies.append(seconds)
        floor_s = copy_into_import_rows(app, batch_id)
        import_s, copy_s = statistics.median(imports), statistics.median(copies)
        ratio = import_s / copy_s
        ok = ratio <= TARGET_COPY_RATIO
        failures += not ok
        runs = f"median of {args.repeat}" if args.repeat > 1 else "1 run"
        print()
        print(f"1. File to stored batch with every check, against a plain COPY ({runs})")
        print(f"   import_file + commit   {small:>9,} rows  {import_s:8.2f} s  "
              f"({counts['valid']:,} valid, {counts['error']:,} errors incl. {g.duplicates} duplicates)")
        print(f"   COPY (typed, unique)   {loaded:>9,} rows  {copy_s:8.2f} s  "
              f"(the same rows minus duplicates and impossible dates)")
        print(f"   ratio import / COPY    {ratio:8.2f}×   target ≤ {TARGET_COPY_RATIO:g}×   {verdict(ok)}")
        print(f"   for reference: the stored rows COPYed again into import_rows: {floor_s:.2f} s = "
              f"{floor_s / copy_s:.2f}× the plain COPY (its foreign key, primary key, JSON; no checks)")

        if args.profile:   # a run of its own: the profiler slows everything down
            import pstats

            with app.app_context():
                run_import(g.path, ids, work / "import.prof")
            print()
            stats = pstats.Stats(str(work / "import.prof"))
            stats.sort_stats("tottime").print_stats(25)

        results = {}
        for rows in (small, large):
            results[rows] = in_child(rows, files[rows].path, database, uploads, ids)
            check_counts(results[rows]["counts"], files[rows])
        scale = results[large]["seconds"] / results[small]["seconds"]
        peak = max(mb(r["vmhwm_kib"]) for r in results.values())
        scale_ok, peak_ok = scale <= TARGET_SCALE_RATIO, peak <= TARGET_PEAK_MB
        failures += (not scale_ok) + (not peak_ok)
        print()
        print("2. Scale and memory (each import alone in a child process)")
        for rows, r in results.items():
            print(f"   {rows:>9,} rows  {r['seconds']:8.2f} s  {rows / r['seconds']:9,.0f} rows/s  "
                  f"peak RSS {mb(r['vmhwm_kib']):6.1f} MB (app loaded: {mb(r['rss_before_kib']):.1f} MB)")
        print(f"   ratio {large // 1000:,}k / {small // 1000:,}k time  {scale:6.2f}×   target ≤ "
              f"{TARGET_SCALE_RATIO:g}×   {verdict(scale_ok)}")
        print(f"   peak RSS             {peak:6.1f} MB  target ≤ {TARGET_PEAK_MB:g} MB  {verdict(peak_ok)}  "
              f"(VmHWM of the child)")
    finally:
        from tests.conftest import dispose

        dispose(app)
        if args.keep:
            print(f"\nkept schema {database.name} and {work}")
        else:
            database.drop()
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("all targets met" if not failures else f"{failures} target(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
