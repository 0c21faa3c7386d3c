"""Bulk writing of import rows: PostgreSQL COPY, or multi-row INSERTs elsewhere. No query per row.

On PostgreSQL each row is formatted as a line of COPY's text format as it is added, and blocks of
lines go into the open COPY, so the server stores rows while Python reads and checks the next
ones. A COPY carries ``chunk`` rows. Ending one makes the server run its per-row end-of-statement
work (the foreign-key check of every row) before it answers: a helper thread waits for that
answer while the rows that follow are checked and kept as lines, which go into the next COPY
once the previous one has ended. ``flush()`` ends the COPY in hand and waits for all of them:
the rows so far are in the table afterwards.

While a COPY is open or ending the connection can do nothing else, so any other use of it
through SQLAlchemy (a statement, a commit: e.g. the caller deleting the rows of a file that
turned out unreadable halfway) first stores the rows added so far, and a rollback first aborts
the COPY. Callers may therefore use the session between rows exactly as they could when rows
were buffered.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import date

from sqlalchemy import event, insert

from grants.background.parallel import Beside, beside
from grants.extensions import db
from grants.models import ImportRow

log = logging.getLogger(__name__)

COLUMNS = ("batch_id", "row_number", "outcome", "errors", "document_type", "document_number",
           "first_names", "last_names", "birth_date", "sex", "municipality_code", "enrollment_date", "status",
           "status_reason", "existing_enrollment_id", "double_enrollment")
COPY_SQL = f"COPY import_rows ({', '.join(COLUMNS)}) FROM STDIN"
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # what json.dumps(v, ensure_ascii=False) does

# COPY's text format: columns split by tab, rows by newline, NULL written \N; a backslash, tab,
# newline or carriage return inside a value is written as a backslash sequence.
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
BLOCK_ROWS = 1000   # rows per block handed to the writer thread (about 100 KB)


def copy_text(value) -> str:
    """One value as a field of COPY's text format (what psycopg's ``write_row`` sends for it)."""
    if value is None:
        return NULL
    if value.__class__ is str:
        return value.translate(_ESCAPES) if _NEEDS_ESCAPE(value) else value
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, date):  # a date (never a datetime here): ISO, read alike under any DateStyle
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return copy_text(str(value))


def copy_line(values: tuple | list) -> str:
    """One row of COPY's text format, newline included."""
    return "\t".join([copy_text(v) for v in values]) + "\n"


class RowWriter:
    def __init__(self, batch_id: int, chunk: int = 5000):
        self.batch_id, self.chunk = batch_id, chunk
        self.buffer: list[tuple] = []  # rows not yet in the table (SQLite); PostgreSQL streams them
        self.written = 0               # rows in the table (PostgreSQL: in COPYs that have ended)
        connection = db.session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.connection = connection
        self._lines: list[str] = []    # formatted rows not yet sent
        self._in_copy = 0              # rows for the COPY in hand (sent or not)
        self._copy = None              # the open COPY: (cursor, its context manager, the Copy)
        self._ending: Beside | None = None  # the helper waiting for the end of the last COPY
        self._prefix = f"{batch_id}\t"
        if self.postgres:
            event.listen(connection, "before_cursor_execute", self._before_other_use)
            event.listen(connection, "commit", self._before_other_use)
            event.listen(connection, "rollback", self._before_rollback)

    def add(self, row_number: int, outcome: str, errors: list, values: dict,
            existing_enrollment_id: int | None = None) -> None:
        get = values.get
        if not self.postgres:
            self.buffer.append((
                self.batch_id, row_number, outcome, errors, get("document_type"), get("document_number"),
                get("first_names"), get("last_names"), get("birth_date"), get("sex"), get("municipality_code"),
                get("enrollment_date"), get("status"), get("status_reason"), existing_enrollment_id, False,
            ))
            if len(self.buffer) >= self.chunk:
                self.flush()
            return
        text = copy_text
        self._lines.append("\t".join((
            self._prefix + str(row_number), text(outcome), text(_to_json(errors)) if errors else "[]",
            text(get("document_type")), text(get("document_number")), text(get("first_names")),
            text(get("last_names")), text(get("birth_date")), text(get("sex")), text(get("municipality_code")),
            text(get("enrollment_date")), text(get("status")), text(get("status_reason")),
            text(existing_enrollment_id), "f\n")))
        self._in_copy += 1
        if self._in_copy >= self.chunk:
            self._send(end=True)
        elif len(self._lines) >= BLOCK_ROWS:
            self._send()

    def flush(self) -> None:
        """Everything added so far is in the table afterwards."""
        if self.postgres:
            self._send(end=True, wait=True)
            return
        if not self.buffer:
            return
        db.session.execute(insert(ImportRow.__table__), [dict(zip(COLUMNS, row)) for row in self.buffer])
        self.written += len(self.buffer)
        self.buffer.clear()

    # --- the COPYs --------------------------------------------------------------------------------

    def _send(self, end: bool = False, wait: bool = False) -> None:
        """The lines so far into the COPY (opened if needed); ``end``: then end it, in the background
        unless ``wait``. While an earlier COPY is still ending, lines wait (up to a chunk of them)."""
        if self._ending is not None:
            if not (end or wait) and self._ending.running and len(self._lines) < self.chunk:
                return
            self._wait_for_end()
        if self._lines:
            copy = self._copy[2] if self._copy else self._open_copy()
            data, self._lines = "".join(self._lines).encode(), []
            try:
                copy.write(data)
            except BaseException as exc:
                self._abort_copy(exc)
                raise
        if end:
            if self._copy is not None:
                if wait:
                    self._end_copy(self._copy, self._in_copy)
                else:
                    self._ending = beside(self._end_copy, self._copy, self._in_copy,
                                          name=f"import-rows-{self.batch_id}")
            self._copy, self._in_copy = None, 0

    def _open_copy(self):
        cursor = self.connection.connection.dbapi_connection.cursor()
        manager = cursor.copy(COPY_SQL)
        self._copy = (cursor, manager, manager.__enter__())
        return self._copy[2]

    def _end_copy(self, copy, rows: int) -> None:
        cursor, manager, _ = copy
        try:
            manager.__exit__(None, None, None)
            self.written += rows
        finally:
            cursor.close()

    def _wait_for_end(self) -> None:
        """The COPY ending beside us is over; its error (if any) is raised here, in the adding thread,
        at its next use of the connection."""
        ending, self._ending = self._ending, None
        try:
            ending.result()
        except BaseException as error:
            self._lines, self._in_copy = [], 0
            self._abort_copy(error)
            raise

    def _abort_copy(self, error: BaseException) -> None:
        if self._copy is None:
            return
        cursor, manager, _ = self._copy
        self._copy = None
        try:
            manager.__exit__(type(error), error, error.__traceback__)
        finally:
            cursor.close()

    def _before_other_use(self, *_) -> None:
        self._send(end=True, wait=True)

    def _before_rollback(self, *_) -> None:
        self._lines, self._in_copy = [], 0
        try:
            if self._ending is not None:
                self._wait_for_end()
        except Exception:  # the transaction is being rolled back anyway; its own error matters more
            log.warning("ending an import COPY before a rollback failed", exc_info=True)
        try:
            self._abort_copy(RuntimeError("rolled back"))
        except Exception:
            log.warning("aborting an import COPY before a rollback failed", exc_info=True)


def raw_cells(headers: list[str], cells: list) -> list:
    """The row as the person wrote it (dates from XLSX as ISO text), in the file's column order."""
    if len(cells) == len(headers) and all(value.__class__ is str for value in cells):
        return cells  # a CSV row: text as read
    raw = []
    for index in range(len(headers)):
        value = cells[index] if index < len(cells) else ""
        if isinstance(value, date):
            value = value.isoformat()[:10]
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        raw.append(value if isinstance(value, (int, str)) else str(value))
    return raw


def original_row(headers: list[str], raw: list) -> dict:
    """header → cell, for the error downloads."""
    return {header or f"col{index + 1}": (raw[index] if index < len(raw) else "")
            for index, header in enumerate(headers)}
