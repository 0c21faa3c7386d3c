"""Reading a bank statement file: ISO 20022 camt.053.001.08, or the documented CSV
(docs/bank-statement-csv.md). Pure reading — nothing is written; ``grants.services.bank_statements``
stores and matches what is read here.

**camt.053.** Parsed with defusedxml (no DTD, no entities, nothing fetched from the network), then
validated against the vendored ISO schema (grants/data/iso20022/camt.053.001.08.xsd, loaded once).
One statement (``Stmt``) per file. Every entry (``Ntry``) gives one line; an entry with several
transactions (``NtryDtls/TxDtls``, a batch booking) gives one line per transaction, and their
amounts must add up to the entry's. Read per line: amount and currency, debit or credit, booking
and value dates, the bank's reference (``AcctSvcrRef``: the transaction's, else the entry's), the
end-to-end id (``Refs/EndToEndId``; ``NOTPROVIDED`` is none), the remittance text (``RmtInf/Ustrd``)
and the counterparty's name (``RltdPties``: the creditor of a debit, the debtor of a credit).

**CSV.** One account per file; a bad row refuses the whole file, each row's errors said.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from grants.domain_errors import ValidationFailed

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "iso20022" / "camt.053.001.08.xsd"
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CSV_COLUMNS = ("fecha", "tipo", "monto", "referencia_banco", "id_extremo_a_extremo", "descripcion", "cuenta")
CSV_OPTIONAL = ("extracto", "fecha_valor", "moneda", "contraparte")
CSV_DIRECTIONS = {"debito": "debit", "débito": "debit", "credito": "credit", "crédito": "credit"}
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
MAX_ERRORS = 50


@dataclass
class ParsedLine:
    booking_date: date
    direction: str  # debit | credit
    amount: Decimal
    currency: str
    value_date: date | None = None
    end_to_end_id: str | None = None
    bank_reference: str | None = None
    remittance: str | None = None
    counterparty: str | None = None
    reversal: bool = False


@dataclass
class ParsedStatement:
    format: str  # camt053 | csv
    account: str
    statement_ref: str | None
    message_id: str | None = None
    created_at: datetime | None = None
    period_start: date | None = None
    period_end: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[ParsedLine] = field(default_factory=list)


def refuse(message) -> ValidationFailed:
    return ValidationFailed(errors={"file": [message]})


# --- camt.053 --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def schema():
    """The ISO schema, loaded once per process (it is large)."""
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def parse_camt053(data: bytes) -> ParsedStatement:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise refuse(_l("El archivo declara un DTD o entidades XML: por seguridad no se lee. Un extracto "
                        "camt.053 no los necesita.")) from None
    except (ParseError, ValueError):
        raise refuse(_l("El archivo no es un XML válido: no es un extracto camt.053.")) from None
    if root.tag != f"{{{NAMESPACE}}}Document":
        raise refuse(_l("El archivo XML no es un extracto ISO 20022 camt.053.001.08 (espacio de nombres "
                        "«%(ns)s» esperado).", ns=NAMESPACE))
    error = next(iter(schema().iter_errors(root)), None)
    if error is not None:
        where = getattr(error, "path", None) or ""
        raise refuse(_l("El extracto no cumple el esquema camt.053.001.08: %(reason)s %(where)s",
                        reason=str(getattr(error, "reason", None) or error)[:300], where=where))
    statements = root.findall(_path("BkToCstmrStmt/Stmt"))
    if len(statements) != 1:
        raise refuse(_l("El archivo trae %(n)s extractos: suba un extracto por archivo.", n=len(statements)))
    stmt = statements[0]
    account = _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id")
    parsed = ParsedStatement(
        format="camt053", account=account, statement_ref=_text(stmt, "Id"),
        message_id=_text(root, "BkToCstmrStmt/GrpHdr/MsgId"),
        created_at=_datetime(_text(stmt, "CreDtTm") or _text(root, "BkToCstmrStmt/GrpHdr/CreDtTm")),
        period_start=_day(_text(stmt, "FrToDt/FrDtTm")), period_end=_day(_text(stmt, "FrToDt/ToDtTm")))
    for balance in stmt.findall(_path("Bal")):
        code = _text(balance, "Tp/CdOrPrtry/Cd")
        amount = _signed(balance)
        if code in ("OPBD", "PRCD") and parsed.opening_balance is None:
            parsed.opening_balance = amount
        elif code == "CLBD":
            parsed.closing_balance = amount
    for number, entry in enumerate(stmt.findall(_path("Ntry")), start=1):
        parsed.lines.extend(_entry_lines(entry, number))
    return parsed


def _path(path: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{part}" for part in path.split("/"))


def _text(node, path: str) -> str | None:
    found = node.find(_path(path))
    text = " ".join((found.text or "").split()) if found is not None else ""
    return text or None


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _date_choice(node, path: str) -> date | None:
    return _day(_text(node, f"{path}/Dt") or _text(node, f"{path}/DtTm"))


def _signed(balance) -> Decimal:
    amount = Decimal(_text(balance, "Amt"))
    return -amount if _text(balance, "CdtDbtInd") == "DBIT" else amount


def _party(tx, direction: str) -> str | None:
    first = "Cdtr" if direction == "debit" else "Dbtr"
    for role in (first, "UltmtCdtr" if direction == "debit" else "UltmtDbtr"):
        name = _text(tx, f"RltdPties/{role}/Pty/Nm")
        if name:
            return name[:140]
    return None


def _amount(node, number: int) -> Decimal:
    amount = Decimal(node.text.strip())
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
        raise refuse(_l("El movimiento %(n)s tiene un importe (%(amount)s) con más de dos decimales o demasiado "
                        "grande.", n=number, amount=node.text.strip()))
    return amount.quantize(Decimal("0.01"))


def _entry_lines(entry, number: int) -> list[ParsedLine]:
    amount_node = entry.find(_path("Amt"))
    currency = (amount_node.get("Ccy") or "").upper()
    amount = _amount(amount_node, number)
    direction = "debit" if _text(entry, "CdtDbtInd") == "DBIT" else "credit"
    booked = _date_choice(entry, "BookgDt") or _date_choice(entry, "ValDt")
    if booked is None:
        raise refuse(_l("El movimiento %(n)s no trae fecha contable (BookgDt) ni fecha valor (ValDt).", n=number))
    base = dict(booking_date=booked, value_date=_date_choice(entry, "ValDt"), direction=direction,
                currency=currency, bank_reference=_text(entry, "AcctSvcrRef"),
                reversal=_text(entry, "RvslInd") == "true")
    transactions = entry.findall(_path("NtryDtls/TxDtls"))
    if len(transactions) <= 1:
        tx = transactions[0] if transactions else None
        return [ParsedLine(amount=amount, **{**base, **_tx_fields(tx, direction, base["bank_reference"])})]
    lines, total = [], Decimal("0")
    for tx in transactions:
        tx_amount_node = tx.find(_path("Amt"))
        if tx_amount_node is None:
            raise refuse(_l("El movimiento %(n)s agrupa varias transacciones sin el importe de cada una.", n=number))
        tx_amount = _amount(tx_amount_node, number)
        tx_currency = (tx_amount_node.get("Ccy") or currency).upper()
        total += tx_amount
        tx_direction = ("debit" if _text(tx, "CdtDbtInd") == "DBIT" else "credit") if _text(tx, "CdtDbtInd") \
            else direction
        fields = _tx_fields(tx, tx_direction, base["bank_reference"])
        lines.append(ParsedLine(**{**base, "amount": tx_amount, "currency": tx_currency, "direction": tx_direction,
                                   **fields}))
    if total != amount:
        raise refuse(_l("El movimiento %(n)s suma %(total)s en sus transacciones y %(amount)s en total: el "
                        "extracto no es coherente.", n=number, total=total, amount=amount))
    return lines


def _tx_fields(tx, direction: str, entry_reference: str | None) -> dict:
    if tx is None:
        return {"bank_reference": entry_reference}
    e2e = _text(tx, "Refs/EndToEndId")
    remittance = " ".join(u.text.strip() for u in tx.findall(_path("RmtInf/Ustrd")) if u.text and u.text.strip())
    return {"end_to_end_id": None if not e2e or e2e.upper() == "NOTPROVIDED" else e2e,
            "bank_reference": _text(tx, "Refs/AcctSvcrRef") or entry_reference,
            "remittance": remittance or _text(tx, "AddtlTxInf"), "counterparty": _party(tx, direction)}


# --- CSV -------------------------------------------------------------------------------------

def _csv_day(value: str) -> date | None:
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            pass
    return None


def parse_csv(data: bytes) -> ParsedStatement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(_l("El archivo CSV debe estar en UTF-8.")) from None
    if "\x00" in text:
        raise refuse(_l("El archivo no es un CSV de texto: no es un extracto."))
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise refuse(_l("No es un extracto en CSV: faltan las columnas %(columns)s (vea el formato en la página).",
                        columns=", ".join(missing)))
    at = {name: header.index(name) for name in CSV_COLUMNS + CSV_OPTIONAL if name in header}
    errors: list[str] = []
    lines: list[ParsedLine] = []
    accounts, refs = set(), set()
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cell = lambda name: (cells[at[name]].strip() if name in at and at[name] < len(cells) else "")  # noqa: E731
        row_errors = []
        booked = _csv_day(cell("fecha"))
        if booked is None:
            row_errors.append(_l("fecha: «%(v)s» no es una fecha (AAAA-MM-DD o DD/MM/AAAA)", v=cell("fecha")))
        direction = CSV_DIRECTIONS.get(cell("tipo").lower())
        if direction is None:
            row_errors.append(_l("tipo: «%(v)s» debe ser «debito» o «credito»", v=cell("tipo")))
        amount = None
        if _AMOUNT.match(cell("monto")):
            amount = Decimal(cell("monto"))
        else:
            row_errors.append(_l("monto: «%(v)s» debe ser un número positivo con punto decimal y hasta dos "
                                 "decimales, sin separador de miles", v=cell("monto")))
        value_day = _csv_day(cell("fecha_valor")) if cell("fecha_valor") else None
        if cell("fecha_valor") and value_day is None:
            row_errors.append(_l("fecha_valor: «%(v)s» no es una fecha", v=cell("fecha_valor")))
        if not cell("cuenta"):
            row_errors.append(_l("cuenta: indique la cuenta del extracto"))
        for name, limit in (("referencia_banco", 35), ("id_extremo_a_extremo", 35), ("cuenta", 34),
                            ("extracto", 35), ("contraparte", 140), ("descripcion", 500)):
            if len(cell(name)) > limit:
                row_errors.append(_l("%(column)s: máximo %(n)s caracteres", column=name, n=limit))
        currency = (cell("moneda") or "USD").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            row_errors.append(_l("moneda: «%(v)s» no es un código de moneda (USD)", v=cell("moneda")))
        if row_errors:
            errors.append(_l("Fila %(row)s: %(errors)s.", row=number, errors="; ".join(str(e) for e in row_errors)))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        accounts.add(cell("cuenta"))
        refs.add(cell("extracto"))
        lines.append(ParsedLine(booking_date=booked, value_date=value_day, direction=direction, amount=amount,
                                currency=currency, end_to_end_id=cell("id_extremo_a_extremo") or None,
                                bank_reference=cell("referencia_banco") or None,
                                remittance=cell("descripcion") or None, counterparty=cell("contraparte") or None))
    if errors:
        raise ValidationFailed(errors={"file": [_l("El extracto no se guardó: corrija las filas y súbalo de nuevo.")]
                                       + errors})
    if not lines:
        raise refuse(_l("El extracto en CSV no tiene movimientos."))
    if len(accounts) > 1:
        raise refuse(_l("El extracto trae movimientos de varias cuentas (%(accounts)s): suba uno por cuenta.",
                        accounts=", ".join(sorted(accounts))))
    if len(refs) > 1:
        raise refuse(_l("La columna «extracto» debe ser la misma en todas las filas."))
    days = [x.booking_date for x in lines]
    return ParsedStatement(format="csv", account=accounts.pop(), statement_ref=refs.pop() or None,
                           period_start=min(days), period_end=max(days), lines=lines)


def parse(data: bytes, filename: str = "") -> ParsedStatement:
    """The statement in ``data`` (camt.053 if it is XML, else the CSV), or a ``ValidationFailed``
    saying, in Spanish, why it is not one."""
    if not data:
        raise refuse(_l("El archivo está vacío."))
    if looks_like_xml(data) or filename.lower().endswith(".xml"):
        parsed = parse_camt053(data)
    else:
        parsed = parse_csv(data)
    if not parsed.account:
        raise refuse(_l("El extracto no indica la cuenta."))
    return parsed
