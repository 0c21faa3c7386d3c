"""What an uploaded list says, read back: each row's findings in the reader's language, the rejected
rows beside the row as typed (the stored file read again, never a copy of personal data in the
database), and the one check of who may download them. Read only; ``beneficiary_imports`` writes.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants.domain_errors import Forbidden, NotFound
from grants.extensions import db
from grants.models import ImportBatch, ImportRow
from grants.services.beneficiary_imports import stored_file
from grants.services.row_store import original_row, raw_cells
from grants.validation.beneficiary_rows import map_headers
from grants.validation.tabular import open_table
from grants.workflows.import_batch import UNREAD_STATES

log = logging.getLogger("grants.services.beneficiary_imports")


def document_column(batch: ImportBatch) -> str:
    """The document column as headed in the file (an in-file duplicate is reported there)."""
    return _document_column(tuple(batch.headers or ()), batch.kind)


@lru_cache(maxsize=256)
def _document_column(headers: tuple, kind: str) -> str:
    mapping, _ = map_headers(list(headers), kind)
    index = mapping.get("document_number")
    return headers[index] if index is not None else "DUI"


def row_messages(row: ImportRow, column: str | None = None) -> list[dict]:
    """Every finding of a row, rendered in the current language: [{column, code, message}].

    The findings about the person (the same person earlier in the file, already enrolled here,
    active elsewhere) name the document column (``column``: as headed in the file; read from the
    row's batch when not given). A rejected row reports its errors only; the notes on a good row
    would mislead there.
    """
    from grants.validation.beneficiary_rows import render

    if column is None and (row.duplicate_of_row or row.existing_enrollment_id or row.double_enrollment):
        column = document_column(row.batch) if row.batch is not None else None
    found = [{"column": e.get("column"), "code": e.get("code"), "message": render(e)} for e in row.errors or []]
    if row.duplicate_of_row:
        error = {"code": "duplicate_in_file", "params": {"row": row.duplicate_of_row}}
        found.append({"column": column, "code": error["code"], "message": render(error)})
    if row.outcome == "error":
        return found
    if row.existing_enrollment_id and row.status is None:
        found.append({"column": column, "code": "already_enrolled", "message": render({"code": "already_enrolled"})})
    if row.double_enrollment:
        found.append({"column": column, "code": "double_enrollment", "message": render({"code": "double_enrollment"})})
    return found


def with_original_rows(batch: ImportBatch, items):
    """``items``: (row number, payload) in increasing row order → (row number, the row as typed, payload).

    The stored file is read again alongside (a merge in row order): constant memory, no copy of
    the personal data in the database.
    """
    return _merge_with_file(stored_file(batch), batch.filename, items)


def _merge_with_file(path: Path, filename: str, items):
    table = open_table(path, filename)
    rows = iter(table.rows)
    current = next(rows, None)
    for number, payload in items:
        while current is not None and current[0] < number:
            current = next(rows, None)
        cells = current[1] if current is not None and current[0] == number else []
        yield number, original_row(table.headers, raw_cells(table.headers, cells)), payload


def check_error_rows_readable(user, batch: ImportBatch) -> None:
    """The one check of every download of a list's rows as typed (errors.csv, errors.xlsx built by a
    job): only a reader allowed them (``ImportBatch.rows_readable_by``); a batch still processing,
    or that failed, has no rows to give."""
    if not batch.rows_readable_by(user):
        raise Forbidden(_l("Las filas de la lista, tal como se escribieron, son datos personales: solo las "
                           "descarga la organización que la subió."))
    if batch.status in UNREAD_STATES:
        raise NotFound()


def readable_error_rows(user, batch: ImportBatch):
    """``error_rows`` for a reader allowed them (``check_error_rows_readable``)."""
    check_error_rows_readable(user, batch)
    return error_rows(batch)


def error_rows(batch: ImportBatch):
    """(row number, original row, messages joined) of the rejected rows, streamed in row order.

    A generator that reads through a database connection of its own (a server-side cursor, 2,000
    rows at a time; on SQLite a plain deferred read transaction, which never blocks a writer) and the
    stored file alongside: constant memory, usable after the request's unit of work has committed,
    and closing it (a client that left) closes the cursor and gives the connection back at once.
    Under the tests' connection-bound session it reads through that connection instead."""
    from sqlalchemy.engine import Connection

    from grants.db import side_engine

    bind = db.session.get_bind()  # a download reads beside the request, never from the requests' pool
    bind = bind if isinstance(bind, Connection) else side_engine()
    return _error_rows(bind, batch.id, document_column(batch), stored_file(batch), batch.filename)


def _error_rows(bind, batch_id: int, column: str, path: Path, filename: str):
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    own = not isinstance(bind, Connection)
    connection = bind.connect().execution_options(read_only=True, postgresql_readonly=True) if own else bind
    session = Session(bind=connection)
    sent = 0
    try:
        query = (select(ImportRow).where(ImportRow.batch_id == batch_id, ImportRow.outcome == "error")
                 .order_by(ImportRow.row_number).execution_options(yield_per=2000))

        def messages():
            for row in session.scalars(query):
                found = [f"{m['column']}: {m['message']}" if m["column"] else m["message"]
                         for m in row_messages(row, column)]
                yield row.row_number, "; ".join(found)

        for item in _merge_with_file(path, filename, messages()):
            yield item
            sent += 1
    finally:
        session.close()
        if own:
            connection.close()  # the cursor and the read transaction end here, sent in full or not
        log.info("errors of list %s: %s rows read, stream closed", batch_id, sent)
