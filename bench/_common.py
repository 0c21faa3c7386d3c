"""What the benchmarks share: a fresh migrated PostgreSQL schema (or an existing one by URL), COPY
text formatting, peak-RSS readings and verdict lines. Timing goals live in the benchmarks, never in
the tests."""
from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def fresh_database(uploads: Path | None = None):
    """A fresh schema in the tests' PostgreSQL (``TEST_DATABASE_URL``), migrated: (database, app).
    ``database.drop()`` removes it; ``database.url`` reaches it (``search_path`` in the URL)."""
    from tests.conftest import TestDatabase, make_app, pg_available, pg_url

    if not pg_available():
        sys.exit(f"PostgreSQL is not reachable at {pg_url()} (set TEST_DATABASE_URL)")
    uploads = uploads or Path(tempfile.mkdtemp(prefix="fondos-bench-uploads-"))
    database = TestDatabase("postgresql", uploads)
    with contextlib.redirect_stderr(io.StringIO()):   # Alembic's INFO lines
        app = make_app(database, UPLOAD_DIR=str(uploads))
    return database, app


def app_for_url(url: str, **overrides):
    """An application bound to an existing (already generated) database."""
    from grants import create_app

    overrides.setdefault("UPLOAD_DIR", tempfile.mkdtemp(prefix="fondos-bench-uploads-"))
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, **overrides)


def dispose(app) -> None:
    from tests.conftest import dispose as dispose_app

    dispose_app(app)


# --- COPY text -----------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value) -> str:
    """One value in PostgreSQL's COPY text format (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def copy_line(values) -> str:
    return "\t".join(map(copy_value, values)) + "\n"


# --- measurements ----------------------------------------------------------------------------------

def status_kib(key: str) -> int:
    """A ``/proc/self/status`` figure in KiB (``VmHWM`` is the peak RSS of this process)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def mb(kib: int) -> float:
    return kib / 1024


def year_arguments(description: str, repeat: int, repeat_help: str):
    """The arguments of a benchmark on a generated year: --database (a kept year) or --scale /
    --quick (generate one), --seed, --repeat, --keep. ``parse_year_arguments`` reads them."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", help="a schema with a generated year (generate_year.py --keep)")
    parser.add_argument("--scale", type=float, default=1.0, help="when generating: share of the full year")
    parser.add_argument("--quick", action="store_true", help="a smoke run: generate 5 %% of a year (--scale 0.05)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=repeat, help=repeat_help)
    parser.add_argument("--keep", action="store_true", help="keep the generated schema")
    return parser


def parse_year_arguments(parser):
    args = parser.parse_args()
    if args.quick:
        args.scale = min(args.scale, 0.05)
    return args


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Loader:
    """Rows as COPY text lines, buffered per table and sent table by table in ``order`` (parents
    first), so foreign keys hold at every COPY's end even with their triggers on. Callers flush only
    between complete units (an agreement and everything under it)."""

    def __init__(self, pg, order: dict[str, str], flush_bytes: int = 32 << 20):
        self.pg, self.order, self.flush_bytes = pg, order, flush_bytes
        self.buffers: dict[str, list[str]] = {table: [] for table in order}
        self.rows: dict[str, int] = {table: 0 for table in order}
        self.size = 0

    def line(self, table: str, text: str) -> None:
        """A line already in COPY text format (no tabs, newlines or backslashes inside values)."""
        self.buffers[table].append(text)
        self.rows[table] += 1
        self.size += len(text)

    def add(self, table: str, *values) -> None:
        self.line(table, copy_line(values))

    def maybe_flush(self) -> None:
        if self.size >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        with self.pg.cursor() as cursor:
            for table, columns in self.order.items():
                lines = self.buffers[table]
                if not lines:
                    continue
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for start in range(0, len(lines), 5000):
                        copy.write("".join(lines[start:start + 5000]))
                lines.clear()
        self.size = 0

    def tables_with_ids(self) -> list[str]:
        return [table for table, columns in self.order.items() if columns.split(", ")[0] == "id"]
