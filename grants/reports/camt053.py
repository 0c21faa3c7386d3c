"""A bank statement as the bank writes it: ISO 20022 camt.053.001.08 (BankToCustomerStatementV08),
valid against the vendored schema (grants/data/iso20022/camt.053.001.08.xsd).

Fondos does not send statements: this is the bank's answer, written for the tests, the demo and the
browser tests, so that what treasury uploads is a real camt.053 file.

``statement_xml(account, statement_id, day, entries, opening_balance=…)`` → bytes (UTF-8). Each entry
is a dict:

* ``amount`` (Decimal or text), ``direction`` ``"debit"`` | ``"credit"``;
* optional ``currency`` (``"USD"``), ``booking_date`` / ``value_date`` (``day``), ``bank_reference``
  (AcctSvcrRef), ``end_to_end_id``, ``remittance`` (RmtInf/Ustrd), ``counterparty`` (the creditor
  of a debit, the debtor of a credit);
* or ``transactions``: a list of dicts with ``amount``, ``end_to_end_id``, ``remittance``,
  ``counterparty``, ``bank_reference`` — one entry (a batch booking) of several transactions, its
  amount their sum.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from xml.etree import ElementTree as ET

from grants.clock import EL_SALVADOR

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CODES = {"debit": "DBIT", "credit": "CRDT"}


def _money(value) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"


def _sub(parent, tag: str, text=None, **attrs):
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def _at(day: date, hour: int = 18) -> str:
    return datetime.combine(day, time(hour, 0), tzinfo=EL_SALVADOR).isoformat()


def _balance(parent, code: str, amount: Decimal, day: date, currency: str) -> None:
    balance = _sub(parent, "Bal")
    _sub(_sub(_sub(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _sub(balance, "Amt", _money(abs(amount)), Ccy=currency)
    _sub(balance, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _sub(_sub(balance, "Dt"), "Dt", day.isoformat())


def _party(details, direction: str, name: str | None) -> None:
    if name:
        role = "Cdtr" if direction == "debit" else "Dbtr"
        _sub(_sub(_sub(_sub(details, "RltdPties"), role), "Pty"), "Nm", name[:140])


def _transaction(parent, tx: dict, direction: str, currency: str, with_amount: bool) -> None:
    details = _sub(parent, "TxDtls")
    refs = _sub(details, "Refs")
    if tx.get("bank_reference") and with_amount:
        _sub(refs, "AcctSvcrRef", tx["bank_reference"])
    _sub(refs, "EndToEndId", tx.get("end_to_end_id") or "NOTPROVIDED")
    if with_amount:
        _sub(details, "Amt", _money(tx["amount"]), Ccy=currency)
        _sub(details, "CdtDbtInd", CODES[direction])
    _party(details, direction, tx.get("counterparty"))
    if tx.get("remittance"):
        _sub(_sub(details, "RmtInf"), "Ustrd", tx["remittance"][:140])


def _entry(statement, entry: dict, day: date, number: int) -> Decimal:
    direction = entry["direction"]
    currency = entry.get("currency") or "USD"
    transactions = entry.get("transactions")
    amount = (sum((Decimal(str(t["amount"])) for t in transactions), Decimal("0")) if transactions
              else Decimal(str(entry["amount"])))
    node = _sub(statement, "Ntry")
    _sub(node, "NtryRef", str(number))
    _sub(node, "Amt", _money(amount), Ccy=currency)
    _sub(node, "CdtDbtInd", CODES[direction])
    _sub(_sub(node, "Sts"), "Cd", "BOOK")
    _sub(_sub(node, "BookgDt"), "Dt", (entry.get("booking_date") or day).isoformat())
    _sub(_sub(node, "ValDt"), "Dt", (entry.get("value_date") or entry.get("booking_date") or day).isoformat())
    if entry.get("bank_reference"):
        _sub(node, "AcctSvcrRef", entry["bank_reference"])
    code = _sub(_sub(node, "BkTxCd"), "Prtry")
    _sub(code, "Cd", "TRF" if direction == "debit" else "DEP")
    details = _sub(node, "NtryDtls")
    for tx in transactions or [entry]:
        _transaction(details, tx, direction, currency, with_amount=bool(transactions))
    return amount if direction == "credit" else -amount


def statement_xml(account: str, statement_id: str, day: date, entries: list[dict],
                  opening_balance=Decimal("0.00"), currency: str = "USD") -> bytes:
    """The day's statement of ``account``: opening balance, the entries, closing balance."""
    ET.register_namespace("", NAMESPACE)
    document = ET.Element(f"{{{NAMESPACE}}}Document")
    root = _sub(document, "BkToCstmrStmt")
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", f"MSG-{statement_id}"[:35])
    _sub(header, "CreDtTm", _at(day))
    statement = _sub(root, "Stmt")
    _sub(statement, "Id", statement_id)
    _sub(statement, "CreDtTm", _at(day))
    period = _sub(statement, "FrToDt")
    _sub(period, "FrDtTm", _at(day, 0))
    _sub(period, "ToDtTm", _at(day, 23))
    acct = _sub(statement, "Acct")
    _sub(_sub(_sub(acct, "Id"), "Othr"), "Id", account)
    _sub(acct, "Ccy", currency)
    opening = Decimal(str(opening_balance))
    _balance(statement, "OPBD", opening, day, currency)
    # Balances come before the entries in the schema: write the closing one once the entries are summed.
    closing_at = len(statement)
    movement = sum((_entry(statement, e, day, n) for n, e in enumerate(entries, start=1)), Decimal("0"))
    holder = ET.Element("holder")
    _balance(holder, "CLBD", opening + movement, day, currency)
    statement.insert(closing_at, holder[0])
    # Every element is qualified by the default namespace.
    for element in document.iter():
        if not element.tag.startswith("{"):
            element.tag = f"{{{NAMESPACE}}}{element.tag}"
    return ET.tostring(document, encoding="UTF-8", xml_declaration=True)
