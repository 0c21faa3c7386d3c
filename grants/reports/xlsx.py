"""The one way a spreadsheet cell is written: XLSX workbooks and the CSV exports.

Every value that goes into a cell passes through ``safe_cell``:

- characters XML 1.0 cannot hold (C0 controls other than tab, newline and carriage return;
  lone surrogates; U+FFFE/U+FFFF) are replaced by U+FFFD, so a stored note or an uploaded cell
  never makes a workbook impossible to write (openpyxl raises ``IllegalCharacterError``);
- text a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
  gets a leading apostrophe;
- text longer than a cell holds (32 767 characters) is cut.

Numbers, dates and booleans pass as they are; a date or a moment cell is shown ``dd/mm/yyyy`` (``hh:mm``
added for a moment, on El Salvador's clock), the one way people read days; ``Sheet.append(row, money=...)``
gives amounts (Decimal) a number format too, in a streamed (write-only) sheet as in a held one. Writers never touch openpyxl's worksheets
directly: ``new_workbook()`` hands out ``Sheet`` objects whose ``append``, ``cell`` and item
assignment go through ``safe_cell`` (tests/reports/test_xlsx_cells.py holds every module to it).
Plain data in, bytes out.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, time
from decimal import Decimal

from grants.clock import EL_SALVADOR

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32_767
REPLACEMENT = "\ufffd"
# what XML 1.0 cannot carry (openpyxl's ILLEGAL_CHARACTERS_RE, plus surrogates and the non-characters)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PASS = (int, float, Decimal, date, datetime, time)  # bool is an int
DAY_FORMAT = "dd/mm/yyyy"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"


def _number_format(value, money: str | None = None) -> str | None:
    if isinstance(value, datetime):
        return MOMENT_FORMAT
    if isinstance(value, Decimal):
        return money
    return DAY_FORMAT if isinstance(value, date) else None


def safe_text(value) -> str:
    """``value`` as text that any spreadsheet shows as written (None → "")."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub(REPLACEMENT, text)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text[:MAX_CELL_TEXT]


def safe_cell(value):
    """A cell value: numbers, dates and booleans as they are, None as an empty cell, the rest as
    ``safe_text``."""
    if isinstance(value, datetime) and value.tzinfo is not None:  # a workbook has no time zones
        return value.astimezone(EL_SALVADOR).replace(tzinfo=None)
    if value is None or isinstance(value, _PASS):
        return value
    return safe_text(value)


def safe_row(values) -> list:
    return [safe_cell(v) for v in values]


class Sheet:
    """An openpyxl worksheet whose writes go through ``safe_cell``; everything else (styles,
    column widths, freeze panes, data validations, reading cells back) is the worksheet's own."""

    __slots__ = ("_ws",)

    def __init__(self, worksheet):
        object.__setattr__(self, "_ws", worksheet)

    def append(self, values, money: str | None = None) -> None:
        """A row; ``money``: the number format of its amounts (Decimal), same in a write-only sheet."""
        row = safe_row(values)
        formats = [_number_format(v, money) for v in row]
        if not any(formats):
            self._ws.append(row)
        elif not hasattr(self._ws, "max_row"):  # a write-only sheet: its cells carry their format
            from openpyxl.cell import WriteOnlyCell

            self._ws.append([_formatted(WriteOnlyCell(self._ws, v), f) for v, f in zip(row, formats)])
        else:
            self._ws.append(row)
            for column, number_format in enumerate(formats, start=1):
                if number_format:
                    self._ws.cell(row=self._ws.max_row, column=column).number_format = number_format

    def cell(self, row: int, column: int, value=None):
        cell = self._ws.cell(row=row, column=column)
        if value is not None:
            cell.value = safe_cell(value)
            _formatted(cell, _number_format(cell.value))
        return cell

    def __setitem__(self, key: str, value) -> None:
        cell = self._ws[key]
        cell.value = safe_cell(value)
        _formatted(cell, _number_format(cell.value))

    def __getitem__(self, key):
        return self._ws[key]

    def __getattr__(self, name):
        return getattr(self._ws, name)

    def __setattr__(self, name, value) -> None:
        setattr(self._ws, name, value)


def _formatted(cell, number_format: str | None):
    if number_format:
        cell.number_format = number_format
    return cell


class Book:
    """A workbook handing out ``Sheet``s. ``write_only``: streamed (big exports), append only."""

    def __init__(self, write_only: bool = False):
        from openpyxl import Workbook

        self._wb = Workbook(write_only=write_only)
        self.write_only = write_only

    @property
    def active(self) -> Sheet:
        return Sheet(self._wb.active)

    @property
    def properties(self):
        return self._wb.properties

    def create_sheet(self, title: str) -> Sheet:
        return Sheet(self._wb.create_sheet(title))

    def save(self, path) -> None:
        """Write the workbook to a file (a write-only book never holds its rows in memory)."""
        self._wb.save(path)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self._wb.save(buffer)
        return buffer.getvalue()


def new_workbook(write_only: bool = False) -> Book:
    return Book(write_only=write_only)
