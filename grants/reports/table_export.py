"""A list as a file, CSV or XLSX: a header row, then one row per item (the exports of the lists).

Every cell goes through ``grants.reports.xlsx`` (``safe_text`` / ``safe_cell``): text starting with
= + - @ (or a tab / CR) gets a leading apostrophe. In the XLSX, amounts (Decimal) stay numbers with
a currency format and days stay dates (dd/mm/yyyy), both set by ``xlsx.Sheet.append``, the held
workbook and the streamed one alike; in the CSV they are written plainly (2500.00,
2026-03-01), so a program reading it needs no locale. Plain data in, bytes (or a temporary file
for the big ones, built by a job) out.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from grants.reports.xlsx import new_workbook, safe_text

CURRENCY = '"$"#,##0.00'
CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_value(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    return safe_text(value)


def _write_csv(handle, headers: list[str], rows: Iterable[list]) -> None:
    writer = csv.writer(handle, lineterminator="\r\n")
    handle.write("\ufeff")  # BOM: Excel opens UTF-8 correctly
    writer.writerow([safe_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])


def table_csv(headers: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    _write_csv(buffer, headers, rows)
    return buffer.getvalue().encode("utf-8")


def table_xlsx(title: str, headers: list[str], rows: Iterable[list]) -> bytes:
    """A formatted workbook (a page's rows: small enough to hold in memory)."""
    workbook = new_workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(headers)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(row, money=CURRENCY)
    return workbook.to_bytes()


def _temporary(suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix="fondos-lista-", suffix=suffix)
    os.close(handle)
    return Path(name)


def table_file(fmt: str, title: str, headers: list[str], rows: Iterable[list]) -> Path:
    """The same file written to a temporary file, a row at a time (bounded memory: a registry of a
    million people). The XLSX is openpyxl's write-only workbook, its cells formatted as in ``table_xlsx``."""
    path = _temporary(f".{fmt}")
    try:
        if fmt == "csv":
            with open(path, "w", encoding="utf-8", newline="") as handle:
                _write_csv(handle, headers, rows)
        else:
            workbook = new_workbook(write_only=True)
            sheet = workbook.create_sheet(title[:31])
            sheet.append(headers)
            for row in rows:
                sheet.append(row, money=CURRENCY)
            workbook.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
