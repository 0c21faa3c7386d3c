"""Bulk writing of import rows: PostgreSQL COPY, or multi-row INSERTs elsewhere. No query per row."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import insert

from grants.extensions import db
from grants.models import ImportRow

COLUMNS = ("batch_id", "row_number", "outcome", "raw", "errors", "document_type", "document_number",
           "first_names", "last_names", "birth_date", "sex", "municipality_code", "enrollment_date", "status",
           "status_reason", "existing_enrollment_id", "double_enrollment")


class RowWriter:
    def __init__(self, batch_id: int, chunk: int = 5000):
        self.batch_id, self.chunk = batch_id, chunk
        self.buffer: list[tuple] = []
        self.written = 0
        connection = db.session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.connection = connection

    def add(self, row_number: int, outcome: str, raw: dict, errors: list, values: dict,
            existing_enrollment_id: int | None = None) -> None:
        self.buffer.append((
            self.batch_id, row_number, outcome, raw, errors, values.get("document_type"),
            values.get("document_number"), values.get("first_names"), values.get("last_names"),
            values.get("birth_date"), values.get("sex"), values.get("municipality_code"),
            values.get("enrollment_date"), values.get("status"), values.get("status_reason"),
            existing_enrollment_id, False,
        ))
        if len(self.buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.postgres:
            cursor = self.connection.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY import_rows ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in self.buffer:
                    copy.write_row(tuple(json.dumps(v, ensure_ascii=False) if i in (3, 4) else v
                                         for i, v in enumerate(row)))
            cursor.close()
        else:
            db.session.execute(insert(ImportRow.__table__), [dict(zip(COLUMNS, row)) for row in self.buffer])
        self.written += len(self.buffer)
        self.buffer.clear()


def raw_cells(headers: list[str], cells: list) -> dict:
    """The row as the person wrote it (dates from XLSX as ISO text), for the error download."""
    raw = {}
    for index, header in enumerate(headers):
        value = cells[index] if index < len(cells) else ""
        if isinstance(value, date):
            value = value.isoformat()[:10]
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        raw[header or f"col{index + 1}"] = value if isinstance(value, (int, str)) else str(value)
    return raw
