"""Bulk writing of import rows: PostgreSQL COPY, or multi-row INSERTs elsewhere. No query per row.

On PostgreSQL each row goes into the open COPY as soon as it is added, so the server stores rows
while Python reads and checks the next ones, instead of the two taking turns.
A COPY carries ``chunk`` rows; ``flush()`` ends it, and the rows so far are in the table.

While a COPY is open the connection can do nothing else, so any other use of it through
SQLAlchemy (a statement, a commit, a rollback: e.g. the caller deleting the rows of a file that
turned out unreadable halfway, or rolling back after an error) first ends the COPY. Callers may
therefore use the session between rows exactly as they could when rows were buffered.
"""
from __future__ import annotations

import json
import logging
from datetime import date

from sqlalchemy import event, insert

from grants.extensions import db
from grants.models import ImportRow

log = logging.getLogger(__name__)

COLUMNS = ("batch_id", "row_number", "outcome", "errors", "document_type", "document_number",
           "first_names", "last_names", "birth_date", "sex", "municipality_code", "enrollment_date", "status",
           "status_reason", "existing_enrollment_id", "double_enrollment")
COPY_SQL = f"COPY import_rows ({', '.join(COLUMNS)}) FROM STDIN"
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # what json.dumps(v, ensure_ascii=False) does


class RowWriter:
    def __init__(self, batch_id: int, chunk: int = 5000):
        self.batch_id, self.chunk = batch_id, chunk
        self.buffer: list[tuple] = []  # rows not yet in the table (SQLite); PostgreSQL streams them
        self.written = 0
        connection = db.session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.connection = connection
        self._copy = None      # the open COPY: (cursor, its context manager, the Copy)
        self._in_copy = 0      # rows sent into it
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
        copy = self._copy[2] if self._copy else self._open_copy()
        try:
            copy.write_row((
                self.batch_id, row_number, outcome, _to_json(errors) if errors else "[]",
                get("document_type"), get("document_number"), get("first_names"), get("last_names"),
                get("birth_date"), get("sex"), get("municipality_code"), get("enrollment_date"), get("status"),
                get("status_reason"), existing_enrollment_id, False,
            ))
        except BaseException as exc:
            self._end_copy(exc)
            raise
        self._in_copy += 1
        if self._in_copy >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Everything added so far is in the table afterwards."""
        if self.postgres:
            self._end_copy()
            return
        if not self.buffer:
            return
        db.session.execute(insert(ImportRow.__table__), [dict(zip(COLUMNS, row)) for row in self.buffer])
        self.written += len(self.buffer)
        self.buffer.clear()

    # --- the open COPY ----------------------------------------------------------------------------

    def _open_copy(self):
        cursor = self.connection.connection.dbapi_connection.cursor()
        manager = cursor.copy(COPY_SQL)
        self._copy = (cursor, manager, manager.__enter__())
        return self._copy[2]

    def _end_copy(self, error: BaseException | None = None) -> None:
        """Finish the open COPY (or, given the error that stops it, abort it)."""
        if self._copy is None:
            return
        cursor, manager, _ = self._copy
        self._copy = None
        try:
            if error is None:
                manager.__exit__(None, None, None)
                self.written += self._in_copy
            else:
                manager.__exit__(type(error), error, error.__traceback__)
        finally:
            self._in_copy = 0
            cursor.close()

    def _before_other_use(self, *_) -> None:
        self._end_copy()

    def _before_rollback(self, *_) -> None:
        try:
            self._end_copy(RuntimeError("rolled back"))
        except Exception:  # the transaction is being rolled back anyway; its own error matters more
            log.warning("ending an import COPY before a rollback failed", exc_info=True)


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
