"""The people an invoice serves, as the NGO chooses them on the invoice form. A pure read.

Only people whose units of the service period are payable are offered: the agreement's
enrollments active on every day of ``[start, end]`` (``payment_eligibility.active_throughout``, the
eligibility rule of a direct payment as one query). The NGO picks them from a searchable list
(name or document number), takes every one of them, or attaches a CSV of document numbers.

**The CSV** — UTF-8 or Windows-1252, comma, semicolon or tab; the document column is the one headed
like the beneficiary lists' (``DUI``, ``Documento``, …) or else the first; a header row is optional.
Within the size limit (``INVOICE_PEOPLE_MAX_BYTES``) and ``MAX_ROWS`` rows. Every row is checked
and every problem reported with its row number (a malformed number, one repeated in the file,
someone not enrolled in the agreement, or not active the whole period); a row with a problem means
no one of the file is taken. Cells are never echoed: a document number is shown masked, and a cell
that is not a document number (a formula, text) is only called malformed.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from grants import formats
from grants.domain_errors import ValidationFailed
from grants.extensions import db
from grants.models import Beneficiary, Enrollment
from grants.services import attachments
from grants.services.enrollments import mask_document
from grants.services.payment_eligibility import active_throughout
from grants.validation.beneficiary_rows import HEADERS
from grants.validation.identity import IdentityError, dui_of_text
from grants.validation.tabular import text_encoding
from grants.validation.territory import fold

MAX_ROWS = 20_000
MAX_ROW_ERRORS = 50   # the page lists this many; the rest are counted
CHUNK = 500
DOCUMENT_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def offered(agreement_id: int, start: date, end: date, search: str = ""):
    """The people the NGO may bill for ``[start, end]``, by name, optionally those whose name
    contains ``search`` or whose document number is exactly it."""
    query = active_throughout(agreement_id, start, end).join(Beneficiary, Beneficiary.id == Enrollment.beneficiary_id)
    words = " ".join((search or "").split())
    if words:
        pattern = "%" + words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        full = func.lower(Beneficiary.first_names + " " + Beneficiary.last_names)
        reverse = func.lower(Beneficiary.last_names + " " + Beneficiary.first_names)
        query = query.where(or_(full.like(pattern, escape="\\"), reverse.like(pattern, escape="\\"),
                                Beneficiary.document_number == words.upper().replace(" ", "")))
    return query.order_by(Beneficiary.last_names, Beneficiary.first_names, Enrollment.id)


def all_offered(agreement_id: int, start: date, end: date) -> list[int]:
    """Every enrollment id offered for the period ("select all active in the period")."""
    return list(db.session.scalars(active_throughout(agreement_id, start, end)
                                   .with_only_columns(Enrollment.id).order_by(Enrollment.id)))


def not_offered(agreement_id: int, start: date, end: date, ids: list[int]) -> list[int]:
    """The ids among ``ids`` that are not offered for the period (another agreement's, inactive...)."""
    found: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        found.update(db.session.scalars(active_throughout(agreement_id, start, end)
                                        .with_only_columns(Enrollment.id).where(Enrollment.id.in_(ids[i:i + CHUNK]))))
    return [i for i in ids if i not in found]


def people(ids: list[int]) -> list[tuple[Enrollment, Beneficiary]]:
    """The enrollments and people of ``ids``, by name (a short summary of a choice)."""
    return db.session.execute(select(Enrollment, Beneficiary).join(Enrollment.beneficiary)
                              .where(Enrollment.id.in_(ids))
                              .order_by(Beneficiary.last_names, Beneficiary.first_names)).all() if ids else []


# --- the CSV of document numbers ----------------------------------------------------------------

def _document(cell: str) -> tuple[str | None, str | None]:
    """(number, None) or (None, what is wrong), without echoing the cell."""
    number = cell.strip().upper().replace(" ", "")
    if not number:
        return None, str(_l("Fila sin número de documento."))
    if not 3 <= len(number) <= 30 or not set(number) <= DOCUMENT_CHARACTERS or number.startswith("-"):
        return None, str(_l("No es un número de documento (solo letras, dígitos y guiones; de 3 a 30)."))
    if number.replace("-", "").isdigit() and len(number.replace("-", "")) == 9:
        try:
            return dui_of_text(number), None
        except IdentityError as exc:
            return None, str(exc.message)
    return number, None


def _records(data: bytes) -> tuple[csv.reader, int]:
    encoding = text_encoding(data)
    if encoding is None or "\x00" in data.decode(encoding):
        raise ValidationFailed(errors={"served_file": [_l("El archivo no es un CSV de texto (UTF-8 o Windows-1252).")]})
    text = data.decode(encoding)
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    cells = [fold(c) for c in next(csv.reader([first], delimiter=delimiter), [])]
    column = next((i for i, c in enumerate(cells) if c in HEADERS["document_number"]), None)
    if column is not None:
        next(reader, None)  # the header
    return reader, column or 0


def read_document_list(agreement_id: int, start: date, end: date, data: bytes | None) -> list[int]:
    """The enrollment ids of a CSV of document numbers, every one offered for ``[start, end]``;
    otherwise ``ValidationFailed`` with ``served_file`` (what is wrong) and ``served_file.rows`` (each
    row's problem, by row number)."""
    attachments.check_file(data, ("csv",), int(current_app.config["INVOICE_PEOPLE_MAX_BYTES"]), "served_file")
    reader, column = _records(data)
    problems: list[tuple[int, str]] = []
    numbers: dict[str, int] = {}   # document number → its row
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            row = reader.line_num
            if len(numbers) + len(problems) >= MAX_ROWS:
                raise ValidationFailed(errors={"served_file": [_l("Máximo %(n)s filas por archivo.", n=MAX_ROWS)]})
            number, problem = _document(record[column] if column < len(record) else "")
            if number is not None and number in numbers:
                problem = str(_l("Repetido: ya está en la fila %(n)s.", n=numbers[number]))
            if problem:
                problems.append((row, str(_l("Fila %(row)s: %(problem)s", row=row, problem=problem))))
            else:
                numbers[number] = row
    except csv.Error:
        raise ValidationFailed(errors={"served_file": [_l("El archivo no es un CSV válido.")]}) from None
    enrolled: dict[str, int] = {}
    listed = list(numbers)
    for i in range(0, len(listed), CHUNK):
        enrolled.update(db.session.execute(
            select(Beneficiary.document_number, Enrollment.id).join(Enrollment.beneficiary)
            .where(Enrollment.agreement_id == agreement_id,
                   Beneficiary.document_number.in_(listed[i:i + CHUNK]))).all())
    inactive = set(not_offered(agreement_id, start, end, list(enrolled.values())))
    span = _l("del %(start)s al %(end)s", start=formats.day(start), end=formats.day(end))
    for number, row in numbers.items():
        if number not in enrolled:
            problem = _l("no está inscrita en este convenio.")
        elif enrolled[number] in inactive:
            problem = _l("no estuvo activa todo el período del servicio (%(span)s).", span=span)
        else:
            continue
        problems.append((row, str(_l("Fila %(row)s (%(document)s): %(problem)s", row=row,
                                     document=mask_document(number), problem=problem))))
    if not numbers and not problems:
        raise ValidationFailed(errors={"served_file": [_l("El archivo no tiene números de documento.")]})
    if problems:
        problems.sort()
        shown = [text for _, text in problems[:MAX_ROW_ERRORS]]
        if len(problems) > MAX_ROW_ERRORS:
            shown.append(str(_l("… y %(n)s filas más con problemas.", n=len(problems) - MAX_ROW_ERRORS)))
        raise ValidationFailed(errors={"served_file": [_l(
            "No se tomó ninguna persona del archivo: corrija estas filas y adjúntelo de nuevo.")],
            "served_file.rows": shown})
    return [enrolled[number] for number in numbers]
