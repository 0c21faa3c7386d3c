"""One attachment mechanism for every document of the mechanism (model: ``grants.models.Attachment``).

* **What a file is** is read from its content, never from its name: a PDF must open with pypdf and
  have a page, a JPEG and a PNG must start and end as those formats do, a DTE (the electronic
  invoice) must be a UTF-8 JSON object. ``check_file`` is the one check.
* **Which files an object takes** is the ``KINDS`` table: the owner types a kind belongs to, the
  file types it accepts, and its size limit (``ATTACHMENT_MAX_BYTES``, or a kind's own setting).
* **Where** — content-addressed storage (``grants.services.files``): a file is named by its SHA-256,
  written once, shared by every process.
* **Audited** — each upload is an ``attachment.added`` event naming the object it belongs to.
* **Who sees it** — whoever sees the object: ``load_visible`` resolves the owner and asks it; an
  NGO never sees another organization's files (404).

The caller (the owner's service) decides who may attach; this module checks the file and records it.
Flush, never commit.
"""
from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from grants.audit import Actor, record_event
from grants.extensions import db
from grants.models import Attachment
from grants.services import files
from grants.domain_errors import FileTooLarge, NotFound, ValidationFailed

FOLDER = "attachments"


# --- file types -----------------------------------------------------------------------------------
# Every check reads the bytes; the name a file arrives with never says what it is. A file that is
# two things at once (a PDF that also holds an HTML page, an image with something behind it) is
# refused: browsers and other programs may read the other half.

# HTML that a browser or another reader could pick up. None of these can start a PDF hex string
# (their second letter is not a hex digit), so outside streams they are never PDF syntax.
_HTML = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|script|iframe|object|embed|meta|svg|style|form)\b",
                   re.IGNORECASE)
_STREAMS = re.compile(rb"\bstream\r?\n.*?\bendstream\b", re.DOTALL)
SNIFF_WINDOW = 1445  # bytes a browser looks at to guess a type (WHATWG MIME sniffing)
MAX_IMAGE_PIXELS = 40_000_000  # a scan at 600 dpi of a legal page is ~ 35 M pixels; more is a bomb


def _is_pdf(data: bytes) -> bool:
    """A PDF as pypdf reads it in strict mode (no "repairing" a file into a PDF): a valid cross
    reference, a page tree with at least one page, nothing after the last ``%%EOF`` but blank
    bytes, and no HTML outside its streams (nor in the first bytes at all)."""
    if not data.startswith(b"%PDF-") or not data.rstrip(b" \t\r\n\x00\x0c").endswith(b"%%EOF"):
        return False
    if _HTML.search(data[:SNIFF_WINDOW]) or _HTML.search(_STREAMS.sub(b"stream endstream", data)):
        return False
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        return len(reader.pages) >= 1 and reader.pages[0].mediabox is not None
    except Exception:  # noqa: BLE001 - pypdf raises many types on broken files; any of them means "not a PDF"
        return False


def _decodes(data: bytes, fmt: str) -> bool:
    """Pillow opens the bytes as ``fmt``, its structure verifies, the size is not a decompression
    bomb, and every pixel decodes (a truncated or corrupt image fails here)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return False
            image.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:  # verify() leaves the image unusable
            image.load()
        return True
    except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError …
        return False


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-1024:] and _decodes(data, "JPEG")


def _is_png(data: bytes) -> bool:
    return (data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and b"IEND" in data[-64:]
            and _decodes(data, "PNG"))


def _is_json_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False


def _is_xlsx(data: bytes) -> bool:
    """A zip that holds a workbook (``grants.validation.tabular.check_zip``: no zip bombs)."""
    from grants.validation.tabular import UnreadableFile, check_zip

    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        check_zip(io.BytesIO(data))
        return True
    except UnreadableFile:
        return False


def _is_csv(data: bytes) -> bool:
    """Text (UTF-8 or Windows-1252, no NUL bytes), not another format's bytes."""
    from grants.validation.tabular import looks_binary, text_encoding

    return not looks_binary(data[:4096]) and not _HTML.search(data[:SNIFF_WINDOW]) and text_encoding(data) is not None


def _is_xml(data: bytes) -> bool:
    """Text that begins with an XML element or declaration (a bank statement, camt.053); what it
    holds is read by its own parser (``grants.services.bank_statement_files``: no DTD, no entities)."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<" and _is_csv(data)


@dataclass(frozen=True)
class FileType:
    name: str
    content_type: str
    suffix: str
    label: str
    matches: Callable[[bytes], bool]
    aliases: tuple[str, ...] = ()  # other suffixes a name of this type may keep


FILE_TYPES = {t.name: t for t in (
    FileType("pdf", "application/pdf", ".pdf", "PDF", _is_pdf),
    FileType("jpeg", "image/jpeg", ".jpg", "JPEG", _is_jpeg, (".jpeg", ".jpe")),
    FileType("png", "image/png", ".png", "PNG", _is_png),
    FileType("json", "application/json", ".json", "JSON (DTE)", _is_json_object),
    FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "XLSX", _is_xlsx),
    FileType("csv", "text/csv", ".csv", "CSV", _is_csv, (".txt",)),
    FileType("xml", "application/xml", ".xml", "XML", _is_xml),
)}
SCANS = ("pdf", "jpeg", "png")
TABLES = ("xlsx", "csv")
BANK_STATEMENTS = ("xml", "csv")  # camt.053.001.08, or the documented CSV


def detect(data: bytes, accepted: tuple[str, ...]) -> FileType | None:
    """The accepted file type the bytes really are, or None."""
    return next((FILE_TYPES[n] for n in accepted if FILE_TYPES[n].matches(data)), None)


def too_large(max_bytes: int, field: str = "file") -> FileTooLarge:
    """The one refusal of a file over its limit: 413 on every upload, API and pages."""
    return FileTooLarge(errors={field: [_l("El archivo supera el máximo de %(mb)s MB.",
                                           mb=max(1, max_bytes // (1024 * 1024)))]})


def check_file(data: bytes | None, accepted: tuple[str, ...], max_bytes: int, field: str = "file") -> FileType:
    """The one file check: present, within the size limit (else ``FileTooLarge``, 413), and really
    one of the accepted types by its content (else 422)."""
    if not data:
        raise ValidationFailed(errors={field: [_l("Adjunte el archivo.")]})
    if len(data) > max_bytes:
        raise too_large(max_bytes, field)
    found = detect(data, accepted)
    if found is None:
        raise ValidationFailed(errors={field: [_l("El archivo debe ser %(types)s (se revisa su contenido, no su "
                                                   "nombre).", types=", ".join(FILE_TYPES[n].label for n in accepted))]})
    return found


# Names are shown on pages, written in audit events and offered as download names: no control or
# format characters (a right-to-left override makes "factura\u202egpj.exe" read "facturaexe.jpg"),
# no folders, a bounded length, and the suffix of what the content really is.
_DROPPED = ("Cc", "Cf", "Cs", "Co", "Cn")   # controls, format (bidi, zero-width), surrogates, private, unassigned
_SPACES = ("Zs", "Zl", "Zp")
MAX_FILENAME = 200


def clean_filename(filename: str | None, suffix: str, fallback: str = "documento") -> str:
    """A name safe to store and show for an upload whose content is of type ``suffix`` (``.pdf``…):
    the name's own suffix is kept only when it says what the content is (``.jpeg`` for a JPEG);
    otherwise the content's suffix is added (``lista.pdf`` holding a CSV → ``lista.pdf.csv``)."""
    name = unicodedata.normalize("NFC", str(filename or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if ch in "\t\n\r" or unicodedata.category(ch) in _SPACES else ch
                   for ch in name if ch in "\t\n\r" or unicodedata.category(ch) not in _DROPPED)
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    kept = {suffix.lower(), *next((t.aliases for t in FILE_TYPES.values() if t.suffix == suffix), ())}
    if dot and stem.strip(" .") and f".{ext.lower()}" in kept:
        ending = f".{ext}"
    else:
        stem, ending = name, suffix
    return (stem.strip(" .")[:MAX_FILENAME - len(ending)].rstrip(" .") or fallback) + ending


# --- kinds ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    label: object
    owners: tuple[str, ...]
    types: tuple[str, ...] = SCANS
    limit_setting: str = "ATTACHMENT_MAX_BYTES"
    expires: bool = False


KINDS: dict[str, Kind] = {
    "deposit_slip": Kind(_l("Boleta de depósito"), ("refund", "fine_payment")),
    "invoice_document": Kind(_l("Factura (PDF o DTE JSON)"), ("invoice",), ("pdf", "json")),
    "receipt_certificate": Kind(_l("Acta de recepción firmada"), ("invoice",), ("pdf",)),
    "receipt_scan": Kind(_l("Escaneo del comprobante"), ("receipt",), limit_setting="RECEIPT_SCAN_MAX_BYTES"),
    "nit_card": Kind(_l("Tarjeta de NIT"), ("supplier",)),
    "bank_certificate": Kind(_l("Constancia de cuenta bancaria"), ("supplier",)),
    "tax_solvency": Kind(_l("Solvencia tributaria"), ("supplier",), expires=True),
    "followup_annex": Kind(_l("Anexo del informe"), ("follow_up_report",)),
    "incident_evidence": Kind(_l("Evidencia"), ("incident",), limit_setting="INCIDENT_EVIDENCE_MAX_BYTES"),
    "incident_reply": Kind(_l("Anexo del descargo"), ("incident_reply",), limit_setting="INCIDENT_EVIDENCE_MAX_BYTES"),
    "meeting_minutes": Kind(_l("Acta firmada de la mesa técnica"), ("meeting",), ("pdf",)),
}


def kind_limit(kind: str) -> int:
    config = current_app.config
    return int(config.get(KINDS[kind].limit_setting) or config["ATTACHMENT_MAX_BYTES"])


# --- owners ---------------------------------------------------------------------------------------

def _owner_models() -> dict[str, type]:
    from grants import models

    return {
        "refund": models.Refund, "invoice": models.Invoice, "receipt": models.Receipt,
        "supplier": models.Supplier, "follow_up_report": models.FollowUpReport, "incident": models.Incident,
        "incident_reply": models.IncidentReply, "fine_payment": models.FinePayment,
        **{name: getattr(models, cls) for name, cls in (("meeting", "Meeting"),) if hasattr(models, cls)},
    }


def owner_of(attachment: Attachment):
    model = _owner_models().get(attachment.owner_type)
    return db.session.get(model, attachment.owner_id) if model else None


def _visible(user, owner) -> bool:
    if owner is None or user is None:
        return False
    check = getattr(owner, "is_visible_to", None)
    if check is not None:
        return bool(check(user))
    return user.sees_all_organizations or user.organization_id == getattr(owner, "organization_id", None)


def owner_key(owner) -> tuple[str, int]:
    for name, model in _owner_models().items():
        if isinstance(owner, model):
            return name, owner.id
    raise TypeError(f"not an attachment owner: {owner!r}")


# --- attach, list, read ---------------------------------------------------------------------------

def attach(actor: Actor, owner, kind: str, filename: str | None, data: bytes | None, *,
           organization_id: int | None, expires_on: date | None = None, field: str = "file") -> Attachment:
    """Check and keep one file of ``kind`` for ``owner`` (whose service has checked who may attach)."""
    spec = KINDS[kind]
    owner_type, owner_id = owner_key(owner)
    if owner_type not in spec.owners:
        raise ValueError(f"{kind} is not attached to a {owner_type}")
    found = check_file(data, spec.types, kind_limit(kind), field)
    if spec.expires and expires_on is None:
        raise ValidationFailed(errors={"expires_on": [_l("Indique la fecha de vencimiento del documento.")]})
    stored = files.store(data, FOLDER, found.suffix)
    attachment = Attachment(owner_type=owner_type, owner_id=owner_id, kind=kind, organization_id=organization_id,
                            filename=clean_filename(filename, found.suffix), content_type=found.content_type,
                            sha256=stored.sha256, size=stored.size, expires_on=expires_on,
                            uploaded_by_id=actor.user_id)
    db.session.add(attachment)
    db.session.flush()
    record_event(db.session, actor, "attachment.added", "attachment", attachment.id, after={
        "owner_type": owner_type, "owner_id": owner_id, "kind": kind, "filename": attachment.filename,
        "content_type": found.content_type, "sha256": stored.sha256, "size": stored.size,
        "expires_on": expires_on}, organization_id=organization_id)
    return attachment


def prefetch_attachments(owners, kind: str, more: tuple = ()) -> None:
    """Read the attachments of ``kind`` of many owners (a page of a list), and of each further
    ``(owners, kind)`` of ``more``, in one query, for ``attachments_of`` to answer from for the rest
    of this request. Only reads call it: nothing is attached later in the same request, and nothing
    is kept beyond it."""
    if not has_request_context():
        return
    ids: dict[tuple[str, str], list[int]] = {}
    for group, group_kind in ((owners, kind), *more):
        for owner_type, owner_id in {owner_key(owner) for owner in group}:
            ids.setdefault((owner_type, group_kind), []).append(owner_id)
    if not ids:
        return
    found: dict[tuple, list[Attachment]] = {(t, i, k): [] for (t, k), owner_ids in ids.items() for i in owner_ids}
    query = select(Attachment).where(or_(*(
        and_(Attachment.kind == k, Attachment.owner_type == t, Attachment.owner_id.in_(owner_ids))
        for (t, k), owner_ids in ids.items())))
    for attachment in db.session.scalars(query.order_by(Attachment.id)):
        found[(attachment.owner_type, attachment.owner_id, attachment.kind)].append(attachment)
    g.setdefault("prefetched_attachments", {}).update(found)


def attachments_of(owner, kind: str | None = None) -> list[Attachment]:
    owner_type, owner_id = owner_key(owner)
    if kind is not None and has_request_context():
        prefetched = g.get("prefetched_attachments", {}).get((owner_type, owner_id, kind))
        if prefetched is not None:
            return list(prefetched)
    query = select(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
    if kind is not None:
        query = query.where(Attachment.kind == kind)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def load_visible(user, attachment_id: int) -> Attachment:
    """The attachment if ``user`` sees the object it belongs to; 404 otherwise (G5)."""
    attachment = db.session.get(Attachment, attachment_id) if attachment_id else None
    if attachment is None or not _visible(user, owner_of(attachment)):
        raise NotFound()
    return attachment


def path_of(attachment: Attachment) -> Path:
    suffix = next(t.suffix for t in FILE_TYPES.values() if t.content_type == attachment.content_type)
    return files.stored_path(FOLDER, attachment.sha256, suffix)


def kind_label(kind: str) -> str:
    return str(KINDS[kind].label)
