"""Rejected rows of a list, as CSV or XLSX: the original row plus the error column.

Every cell goes through ``grants.reports.xlsx.safe_text``/``safe_cell``: text a spreadsheet
would run as a formula (starting with = + - @, or a tab/CR) gets a leading apostrophe, control
characters a workbook cannot hold are replaced. Plain data in, bytes out.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def errors_csv_stream(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str,
                      row_column: str, batch_rows: int = 500) -> Iterator[bytes]:
    """The same CSV as ``errors_csv``, a chunk of ``batch_rows`` rows at a time (bounded memory).
    Closing this generator closes ``rows`` (its database cursor) at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([safe_text(row_column), *[safe_text(h) for h in headers], safe_text(error_column)])
    try:
        for count, (number, raw, message) in enumerate(rows, 1):
            writer.writerow([number, *[safe_text(raw.get(h, "")) for h in headers], safe_text(message)])
            if count % batch_rows == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def errors_xlsx_file(headers: list[str], rows: Iterable[tuple[int, dict, str]], error_column: str,
                     row_column: str) -> Path:
    """The same workbook as ``errors_xlsx`` written to a temporary file (openpyxl's write-only mode
    streams the rows to disk): the caller sends it with ``file_chunks``, which deletes it."""
    workbook = new_workbook(write_only=True)
    sheet = workbook.create_sheet("Errores")
    sheet.append([row_column, *headers, error_column])
    handle, name = tempfile.mkstemp(prefix="fondos-errores-", suffix=".xlsx")
    os.close(handle)
    try:
        for number, raw, message in rows:
            sheet.append([number, *[raw.get(h, "") for h in headers], message])
        workbook.save(name)
    except BaseException:
        os.unlink(name)
        raise
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return Path(name)


def file_chunks(path: Path, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A file's bytes, a chunk at a time; the file is deleted when done or when the client leaves."""
    try:
        with open(path, "rb") as handle:
            while data := handle.read(chunk):
                yield data
    finally:
        os.unlink(path)
