"""Reading uploaded lists (CSV or XLSX) as a stream of rows, refusing what is not what it claims.

CSV: UTF-8 with or without BOM, else Windows-1252 (a superset of Latin-1 for text); comma,
semicolon or tab. XLSX: the zip is inspected before parsing (entry count, total uncompressed
size, compression ratio) and openpyxl reads it in read-only mode, with defusedxml installed so
XML entity tricks are refused.
"""
from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

MAX_ZIP_ENTRIES = 200
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 100
DELIMITERS = (",", ";", "\t")
# Cells are trimmed of these only: a leading tab or a control character stays for the row checks
# to see (a name that begins with a tab is refused; a control character is reported by column).
TRIM = " \u00a0\r\n"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class UnreadableFile(ValueError):
    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code, self.message = code, message


@dataclass
class Table:
    format: str               # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[tuple[int, list]]  # (row number as a person counts it, cell values)
    encoding: str | None = None
    delimiter: str | None = None


def _csv_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def text_encoding(data: bytes) -> str | None:
    """How the bytes read as text: UTF-8 (with or without BOM), else Windows-1252; None when
    neither reads them (Windows-1252 leaves five bytes undefined)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def looks_binary(head: bytes) -> bool:
    """The first bytes are another format's (PDF, images, zip, executables), or binary (or UTF-16)
    text full of NUL bytes; a stray NUL in a text file is a cell's problem, reported with its row by
    the row checks."""
    nuls = head.count(b"\x00")
    return (nuls > 8 and nuls * 20 > len(head)) or head.startswith(
        (b"\x89PNG", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"MZ", b"PK\x03\x04"))


def check_zip(path) -> None:
    """``path``: a file name or a binary file object."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise UnreadableFile("not_xlsx", _l("El archivo no es un XLSX válido.")) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UnreadableFile("zip_entries", _l("El XLSX contiene demasiados archivos internos."))
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED:
            raise UnreadableFile("zip_size", _l("El XLSX descomprimido es demasiado grande."))
        for entry in entries:
            if entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO and entry.file_size > 1 << 20:
                raise UnreadableFile("zip_bomb", _l("El XLSX tiene una compresión anómala (posible bomba zip)."))
        names = {e.filename for e in entries}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise UnreadableFile("not_xlsx", _l("El archivo no es un XLSX válido."))


def clean_header(value) -> str:
    """A header as the lists use it: trimmed, without control characters (it names a column in
    every message and is stored with the batch)."""
    text = str(value).strip()
    return _CONTROL.sub("", text).strip() if _CONTROL.search(text) else text


def _blank(cells: list) -> bool:
    return not any(c != "" and (c.__class__ is not str or c.strip()) for c in cells)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip(TRIM)
    return value  # datetime, int, float from XLSX cells: interpreted by the row checks


def _xlsx(path: Path) -> Table:
    check_zip(path)
    import openpyxl
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:  # pragma: no cover - defusedxml is a pinned requirement
        raise RuntimeError("defusedxml is required to read XLSX safely")
    handle = path.open("rb")  # a file object: openpyxl would judge a path by its suffix
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        handle.close()
        raise UnreadableFile("not_xlsx", _l("No se pudo leer el XLSX: %(error)s", error=type(exc).__name__)) from None
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        headers = [clean_header(_cell(v)) for v in next(iterator)]
    except StopIteration:
        workbook.close()
        handle.close()
        raise UnreadableFile("empty", _l("El archivo está vacío.")) from None

    def rows():
        try:
            for number, values in enumerate(iterator, start=2):
                cells = [_cell(v) for v in values]
                if not _blank(cells):
                    yield number, cells
        except UnreadableFile:
            raise
        except Exception as exc:  # defusedxml refusals, broken XML inside the zip …
            raise UnreadableFile("xlsx_content", _l("No se pudo leer el contenido del XLSX: %(error)s",
                                                    error=type(exc).__name__)) from None
        finally:
            workbook.close()
            handle.close()

    return Table("xlsx", headers, rows())


def _csv(path: Path) -> Table:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if looks_binary(head):
        raise UnreadableFile("not_csv", _l("El archivo no es un CSV de texto."))
    encoding = _csv_encoding(path)
    handle = path.open("r", encoding=encoding, newline="")
    try:
        first = handle.readline()
    except UnicodeDecodeError:
        handle.close()
        raise UnreadableFile("not_csv", _l("El archivo no es un CSV de texto.")) from None
    delimiter = max(DELIMITERS, key=first.count)
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        headers = [clean_header(h) for h in next(reader)]
    except StopIteration:
        handle.close()
        raise UnreadableFile("empty", _l("El archivo está vacío.")) from None

    def rows():
        try:
            for values in reader:
                cells = [v.strip(TRIM) for v in values]
                if any(cells) and not _blank(cells):  # blank lines (only separators and spaces) are skipped
                    yield reader.line_num, cells
        except UnicodeDecodeError:
            raise UnreadableFile("not_csv", _l("El archivo no es un CSV de texto.")) from None
        except csv.Error as exc:
            raise UnreadableFile("csv_error", _l("CSV mal formado cerca de la línea %(n)s: %(error)s",
                                                 n=reader.line_num, error=str(exc))) from None
        finally:
            handle.close()

    return Table("csv", headers, rows(), encoding=encoding, delimiter=delimiter)


def open_table(path: Path, filename: str | None = None) -> Table:
    """The table in ``path``, read as what its content is (a zip: XLSX; else CSV text). The name
    (``filename``) says nothing: a list is judged by its bytes, as every upload is."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"PK\x03\x04":
        return _xlsx(path)
    return _csv(path)
