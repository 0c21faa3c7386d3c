"""ISO 20022 credit-transfer initiation (``pain.001.001.09``): a payment batch as the file the bank
takes. Plain data in, bytes out (no database, no Flask): ``grants.services.payment_batches`` reads a
batch into a ``Pain001``.

One group header (message id = the batch number, number of transactions, control sum, the ministry
as initiating party) and one payment information block (the debtor account, the requested
execution date) with one ``CdtTrfTxInf`` per item: instruction and end-to-end id (the stable id of
the payment or advance, ``grants.services.bank_ids``), amount in USD to the cent, the creditor's
bank, name and account, and the remittance text.

Text goes in as people wrote it (the generic ISO schema allows any Unicode; the file is UTF-8)
without control characters, whitespace collapsed, and cut to the schema's lengths. Every file is
validated against the official XSD shipped by ``sepaxml`` before it is returned
(:func:`validate`); a file that does not validate is refused with :class:`InvalidPaymentFile`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
CENT = Decimal("0.01")


class InvalidPaymentFile(ValueError):
    """The built file does not validate against the pain.001.001.09 schema (``errors``: why)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:3]))
        self.errors = errors


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: Decimal
    creditor_name: str
    creditor_account: str
    creditor_bank: str
    remittance: str


@dataclass(frozen=True)
class Pain001:
    message_id: str
    created_at: datetime            # aware; written in UTC
    initiating_party: str
    debtor_name: str
    debtor_account: str
    debtor_bank: str
    debtor_bic: str | None
    execution_date: date
    transfers: tuple[Transfer, ...]


def clean(value, limit: int) -> str:
    """Text the schema accepts: no control characters, whitespace collapsed, at most ``limit``
    characters, never empty ("-" stands for nothing)."""
    text = " ".join(_CONTROL.sub(" ", str(value or "")).split())
    return text[:limit].rstrip() or "-"


def amount_text(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def control_sum(transfers) -> Decimal:
    return sum((Decimal(t.amount).quantize(CENT) for t in transfers), Decimal("0.00"))


def _sub(parent, tag: str, text: str | None = None, **attrs):
    element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _account(parent, tag: str, number: str) -> None:
    _sub(_sub(_sub(_sub(parent, tag), "Id"), "Othr"), "Id", clean(number, 34))


def _agent(parent, tag: str, bank: str, bic: str | None = None) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    bic = (bic or "").strip().upper()
    if _BIC.match(bic):
        _sub(institution, "BICFI", bic)
    else:
        _sub(institution, "Nm", clean(bank, 140))


def build(doc: Pain001) -> bytes:
    """The file's bytes (UTF-8, XML declaration), validated against the XSD."""
    if not doc.transfers:
        raise InvalidPaymentFile(["a payment file needs at least one transfer"])
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}Document")
    initiation = _sub(root, "CstmrCdtTrfInitn")
    total, count = amount_text(control_sum(doc.transfers)), str(len(doc.transfers))
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", clean(doc.message_id, 35))
    _sub(header, "CreDtTm", doc.created_at.astimezone(timezone.utc).replace(microsecond=0)
         .strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", total)
    _sub(_sub(header, "InitgPty"), "Nm", clean(doc.initiating_party, 140))
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", clean(doc.message_id, 35))
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "NbOfTxs", count)
    _sub(info, "CtrlSum", total)
    _sub(_sub(info, "ReqdExctnDt"), "Dt", doc.execution_date.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", clean(doc.debtor_name, 140))
    _account(info, "DbtrAcct", doc.debtor_account)
    _agent(info, "DbtrAgt", doc.debtor_bank, doc.debtor_bic)
    for transfer in doc.transfers:
        tx = _sub(info, "CdtTrfTxInf")
        payment_id = _sub(tx, "PmtId")
        _sub(payment_id, "InstrId", clean(transfer.end_to_end_id, 35))
        _sub(payment_id, "EndToEndId", clean(transfer.end_to_end_id, 35))
        _sub(_sub(tx, "Amt"), "InstdAmt", amount_text(transfer.amount), Ccy="USD")
        _agent(tx, "CdtrAgt", transfer.creditor_bank)
        _sub(_sub(tx, "Cdtr"), "Nm", clean(transfer.creditor_name, 140))
        _account(tx, "CdtrAcct", transfer.creditor_account)
        _sub(_sub(tx, "RmtInf"), "Ustrd", clean(transfer.remittance, 140))
    ET.indent(root)
    data = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    validate(data)
    return data


def schema_path() -> Path:
    import sepaxml

    return Path(sepaxml.__file__).resolve().parent / "schemas" / "pain.001.001.09.xsd"


@lru_cache(maxsize=1)
def schema():
    """The official pain.001.001.09 schema, loaded once per process."""
    import xmlschema

    return xmlschema.XMLSchema(str(schema_path()))


def validate(data: bytes) -> None:
    """Refuse (``InvalidPaymentFile``) a file the schema does not accept."""
    try:
        tree = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InvalidPaymentFile([f"not well-formed XML: {exc}"]) from None
    errors = [f"{getattr(e, 'path', '') or ''}: {e.reason or e.message}" for e in schema().iter_errors(tree)]
    if errors:
        raise InvalidPaymentFile(errors)


@dataclass(frozen=True)
class ParsedTransfer:
    end_to_end_id: str
    instruction_id: str
    amount: Decimal
    currency: str
    creditor_name: str
    creditor_account: str
    creditor_bank: str
    remittance: str


def parse(data: bytes) -> dict:
    """Read a pain.001.001.09 file back (tests, and the statement reconciliation's cross-checks):
    header figures, the debtor and every transfer."""
    ns = {"p": NAMESPACE}
    root = ET.fromstring(data)

    def text(element, path):
        found = element.find(path, ns)
        return found.text if found is not None else None

    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", ns)
    transfers = []
    for tx in info.findall("p:CdtTrfTxInf", ns):
        amount = tx.find("p:Amt/p:InstdAmt", ns)
        agent = tx.find("p:CdtrAgt/p:FinInstnId", ns)
        transfers.append(ParsedTransfer(
            end_to_end_id=text(tx, "p:PmtId/p:EndToEndId"), instruction_id=text(tx, "p:PmtId/p:InstrId"),
            amount=Decimal(amount.text), currency=amount.get("Ccy"), creditor_name=text(tx, "p:Cdtr/p:Nm"),
            creditor_account=text(tx, "p:CdtrAcct/p:Id/p:Othr/p:Id"),
            creditor_bank=text(agent, "p:Nm") or text(agent, "p:BICFI"), remittance=text(tx, "p:RmtInf/p:Ustrd")))
    header = "p:CstmrCdtTrfInitn/p:GrpHdr/"
    return {
        "message_id": text(root, header + "p:MsgId"), "created_at": text(root, header + "p:CreDtTm"),
        "count": int(text(root, header + "p:NbOfTxs")), "control_sum": Decimal(text(root, header + "p:CtrlSum")),
        "initiating_party": text(root, header + "p:InitgPty/p:Nm"),
        "payment_info_id": text(info, "p:PmtInfId"), "info_count": int(text(info, "p:NbOfTxs")),
        "info_control_sum": Decimal(text(info, "p:CtrlSum")), "execution_date": text(info, "p:ReqdExctnDt/p:Dt"),
        "debtor_name": text(info, "p:Dbtr/p:Nm"), "debtor_account": text(info, "p:DbtrAcct/p:Id/p:Othr/p:Id"),
        "debtor_bic": text(info, "p:DbtrAgt/p:FinInstnId/p:BICFI"),
        "transfers": transfers,
    }
