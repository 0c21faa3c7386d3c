"""Receipt lines of an expense statement (liquidación de anticipo): one row at a time.

A row comes from the JSON API (a dict with the field names) or from the XLSX upload (the
template's columns, headers matched in Spanish or English, any case or accents). Each row is
normalized here and its own problems listed as ``{field: message}``; the checks that need the
database (duplicates, budget-line room, the advance's outstanding balance) are the service's.

Spreadsheet cells: real Excel dates and serial numbers, ISO and dd/mm/yyyy texts are dates;
a numeric amount cell is read through its shortest decimal text (``repr``), so ``1250.5`` is
$1,250.50 and a cell with more than two decimals is refused, never rounded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from grants.money import CENT
from grants.money import parse_amount
from grants.validation.beneficiary_rows import parse_date
from grants.validation.identity import IdentityError, normalize_tax_id
from grants.validation.territory import fold

FIELDS = ("document_type", "document_number", "issue_date", "supplier_tax_id", "supplier_name", "description",
          "budget_line", "amount")

# Stored code → Spanish label (the template's list and the pages show the labels).
DOCUMENT_TYPES = {
    "factura": _l("Factura"),
    "ccf": _l("Comprobante de crédito fiscal"),
    "ticket": _l("Ticket"),
    "recibo": _l("Recibo"),
    "planilla": _l("Planilla"),
    "otro": _l("Otro"),
}
# What people write (folded) → code.
_DOCUMENT_TYPE_SPELLINGS = {
    "factura": "factura", "factura consumidor final": "factura", "invoice": "factura",
    "ccf": "ccf", "comprobante de credito fiscal": "ccf", "credito fiscal": "ccf", "tax credit receipt": "ccf",
    "ticket": "ticket", "tiquete": "ticket",
    "recibo": "recibo", "receipt": "recibo",
    "planilla": "planilla", "payroll": "planilla",
    "otro": "otro", "other": "otro",
}

# Template header (Spanish, as written in the template) and the folded spellings accepted.
HEADER_LABELS = {
    "document_type": "Tipo de documento",
    "document_number": "Número de documento",
    "issue_date": "Fecha",
    "supplier_tax_id": "NIT o DUI del proveedor",
    "supplier_name": "Nombre del proveedor",
    "description": "Descripción",
    "budget_line": "Línea presupuestaria",
    "amount": "Monto",
}
HEADERS = {
    "document_type": ("tipo de documento", "tipo documento", "tipo", "document type"),
    "document_number": ("numero de documento", "numero documento", "no de documento", "n de documento",
                        "numero", "document number"),
    "issue_date": ("fecha", "fecha de emision", "fecha del documento", "date", "issue date"),
    "supplier_tax_id": ("nit o dui del proveedor", "nit o dui", "nit/dui", "nit / dui", "nit", "dui",
                        "nit del proveedor", "supplier nit", "supplier tax id", "tax id"),
    "supplier_name": ("nombre del proveedor", "proveedor", "supplier", "supplier name"),
    "description": ("descripcion", "concepto", "detalle", "description"),
    "budget_line": ("linea presupuestaria", "linea", "linea de presupuesto", "budget line"),
    "amount": ("monto", "monto (usd)", "monto usd", "importe", "valor", "amount"),
}
LIMITS = {"document_number": 40, "supplier_name": 200, "description": 300}
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/._-]*$")

MESSAGES = {
    "required": _l("Dato obligatorio."),
    "too_long": _l("Máximo %(n)s caracteres."),
    "document_type_unknown": _l("Tipo de documento desconocido: use factura, comprobante de crédito fiscal, "
                                "ticket, recibo, planilla u otro."),
    "document_number_format": _l("Número de documento no válido: letras, números, guiones, puntos o barras."),
    "date_format": _l("Fecha no válida: use AAAA-MM-DD o DD/MM/AAAA."),
    "amount_invalid": _l("Indique un monto mayor que cero, con dos decimales como máximo."),
    "budget_line_invalid": _l("Indique el número de la línea presupuestaria."),
}


@dataclass
class ReceiptRow:
    """One normalized row; ``errors`` maps field names to messages (empty when the row is clean)."""

    number: int
    document_type: str | None = None
    document_number: str | None = None
    issue_date: date | None = None
    supplier_tax_id: str | None = None
    supplier_name: str | None = None
    description: str | None = None
    budget_line: int | None = None
    amount: Decimal | None = None
    errors: dict | None = None

    def error(self, field: str, message) -> None:
        self.errors.setdefault(field, []).append(message)


def map_headers(headers: list) -> tuple[dict[str, int], list[str]]:
    """field → column index, and the template labels of the columns that are missing."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        folded = fold(str(header or "")).replace(".", "").replace("º", "").replace("°", "").rstrip(":* ").strip()
        for name in FIELDS:
            if name not in mapping and folded in HEADERS[name]:
                mapping[name] = index
                break
    missing = [HEADER_LABELS[name] for name in FIELDS if name not in mapping]
    return mapping, missing


def cells_to_raw(cells: list, mapping: dict[str, int]) -> dict:
    return {name: (cells[i] if i < len(cells) else "") for name, i in mapping.items()}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def document_type_code(value) -> str | None:
    return _DOCUMENT_TYPE_SPELLINGS.get(fold(str(value or "")))


def normalize_document_number(value) -> str:
    """Upper case, no spaces: «f-001 234» and «F-001234» are the same document."""
    return "".join(_text(value).split()).upper()


def _amount(value) -> Decimal:
    if isinstance(value, float):  # an XLSX numeric cell: its shortest decimal text, never rounded
        try:
            value = Decimal(repr(value))
        except InvalidOperation:
            raise ValueError("not a number") from None
        if value != value.quantize(CENT):
            raise ValueError("more than two decimals")
    return parse_amount(value)


def _budget_line(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    match = re.match(r"^(?:l[ií]nea\s*)?(\d{1,4})(?:\s*[-–:.].*)?$", text, re.IGNORECASE)
    return int(match.group(1)) if match else None


def clean_row(raw: dict, number: int) -> ReceiptRow:
    """Normalize one row and list its own problems (no database)."""
    row = ReceiptRow(number=number, errors={})
    raw = raw if isinstance(raw, dict) else {}
    for name in FIELDS:
        if _blank(raw.get(name)):
            row.error(name, MESSAGES["required"])
    if not _blank(raw.get("document_type")):
        row.document_type = document_type_code(raw["document_type"])
        if row.document_type is None:
            row.error("document_type", MESSAGES["document_type_unknown"])
    if not _blank(raw.get("document_number")):
        row.document_number = normalize_document_number(raw["document_number"])
        if len(row.document_number) > LIMITS["document_number"]:
            row.error("document_number", _l("Máximo %(n)s caracteres.", n=LIMITS["document_number"]))
        elif not _DOCUMENT_NUMBER.match(row.document_number):
            row.error("document_number", MESSAGES["document_number_format"])
    if not _blank(raw.get("issue_date")):
        row.issue_date = parse_date(raw["issue_date"])
        if row.issue_date is None:
            row.error("issue_date", MESSAGES["date_format"])
    if not _blank(raw.get("supplier_tax_id")):
        value = raw["supplier_tax_id"]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = _text(value)
        try:
            row.supplier_tax_id = normalize_tax_id(value)
        except IdentityError as exc:
            row.error("supplier_tax_id", exc.message)
    for name in ("supplier_name", "description"):
        if not _blank(raw.get(name)):
            value = _text(raw[name])
            if len(value) > LIMITS[name]:
                row.error(name, _l("Máximo %(n)s caracteres.", n=LIMITS[name]))
            setattr(row, name, value)
    if not _blank(raw.get("budget_line")):
        row.budget_line = _budget_line(raw["budget_line"])
        if row.budget_line is None:
            row.error("budget_line", MESSAGES["budget_line_invalid"])
    if not _blank(raw.get("amount")):
        try:
            row.amount = _amount(raw["amount"])
            if row.amount <= 0:
                raise ValueError("not positive")
        except ValueError:
            row.amount = None
            row.error("amount", MESSAGES["amount_invalid"])
    return row


def document_key(row: ReceiptRow) -> tuple[str, str, str] | None:
    """The identity of a supplier's document across every statement."""
    if row.supplier_tax_id and row.document_type and row.document_number:
        return (row.supplier_tax_id, row.document_type, row.document_number)
    return None
