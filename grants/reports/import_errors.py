"""Rejected rows of a list, as CSV or XLSX: the original row plus the error column.

Cells that a spreadsheet would run as a formula (starting with = + - @, or a tab/CR) are
neutralized with a leading apostrophe. Plain data in, bytes out.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def errors_csv(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str, row_column: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralize(row_column), *[neutralize(h) for h in headers], neutralize(error_column)])
    for number, raw, message in rows:
        writer.writerow([number, *[neutralize(raw.get(h, "")) for h in headers], neutralize(message)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 correctly


def errors_xlsx(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str, row_column: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Errores")
    sheet.append([row_column, *headers, error_column])
    for number, raw, message in rows:
        sheet.append([number, *[neutralize(raw.get(h, "")) for h in headers], neutralize(message)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
