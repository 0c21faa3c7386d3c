"""Rejected rows of a list, as CSV or XLSX: the original row plus the error column.

Every cell goes through ``grants.reports.xlsx.safe_text``/``safe_cell``: text a spreadsheet
would run as a formula (starting with = + - @, or a tab/CR) gets a leading apostrophe, control
characters a workbook cannot hold are replaced. Plain data in, bytes out.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from grants.reports.xlsx import new_workbook, safe_text


def errors_csv(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str, row_column: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_text(row_column), *[safe_text(h) for h in headers], safe_text(error_column)])
    for number, raw, message in rows:
        writer.writerow([number, *[safe_text(raw.get(h, "")) for h in headers], safe_text(message)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 correctly


def errors_xlsx(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str, row_column: str) -> bytes:
    workbook = new_workbook(write_only=True)
    sheet = workbook.create_sheet("Errores")
    sheet.append([row_column, *headers, error_column])
    for number, raw, message in rows:
        sheet.append([number, *[raw.get(h, "") for h in headers], message])
    return workbook.to_bytes()
