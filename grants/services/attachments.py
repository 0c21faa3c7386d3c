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
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants.audit import Actor, record_event
from grants.extensions import db
from grants.models import Attachment
from grants.services import files
from grants.services.errors import NotFound, ValidationFailed

FOLDER = "attachments"


# --- file types -----------------------------------------------------------------------------------

def _is_pdf(data: bytes) -> bool:
    if not data.startswith(b"%PDF-"):
        return False
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(io.BytesIO(data)).pages) >= 1
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError):
        return False


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-1024:]


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and b"IEND" in data[-64:]


def _is_json_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False


@dataclass(frozen=True)
class FileType:
    name: str
    content_type: str
    suffix: str
    label: str
    matches: Callable[[bytes], bool]


FILE_TYPES = {t.name: t for t in (
    FileType("pdf", "application/pdf", ".pdf", "PDF", _is_pdf),
    FileType("jpeg", "image/jpeg", ".jpg", "JPEG", _is_jpeg),
    FileType("png", "image/png", ".png", "PNG", _is_png),
    FileType("json", "application/json", ".json", "JSON (DTE)", _is_json_object),
)}
SCANS = ("pdf", "jpeg", "png")


def detect(data: bytes, accepted: tuple[str, ...]) -> FileType | None:
    """The accepted file type the bytes really are, or None."""
    return next((FILE_TYPES[n] for n in accepted if FILE_TYPES[n].matches(data)), None)


def check_file(data: bytes | None, accepted: tuple[str, ...], max_bytes: int, field: str = "file") -> FileType:
    """The one file check: present, within the size limit, and really one of the accepted types."""
    if not data:
        raise ValidationFailed(errors={field: [_l("Adjunte el archivo.")]})
    if len(data) > max_bytes:
        raise ValidationFailed(errors={field: [_l("El archivo supera el máximo de %(mb)s MB.",
                                                   mb=max(1, max_bytes // (1024 * 1024)))]}, code="file_too_large")
    found = detect(data, accepted)
    if found is None:
        raise ValidationFailed(errors={field: [_l("El archivo debe ser %(types)s (se revisa su contenido, no su "
                                                   "nombre).", types=", ".join(FILE_TYPES[n].label for n in accepted))]})
    return found


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

def _clean_name(filename: str | None, suffix: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or f"documento{suffix}"


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
                            filename=_clean_name(filename, found.suffix), content_type=found.content_type,
                            sha256=stored.sha256, size=stored.size, expires_on=expires_on,
                            uploaded_by_id=actor.user_id)
    db.session.add(attachment)
    db.session.flush()
    record_event(db.session, actor, "attachment.added", "attachment", attachment.id, after={
        "owner_type": owner_type, "owner_id": owner_id, "kind": kind, "filename": attachment.filename,
        "content_type": found.content_type, "sha256": stored.sha256, "size": stored.size,
        "expires_on": expires_on}, organization_id=organization_id)
    return attachment


def attachments_of(owner, kind: str | None = None) -> list[Attachment]:
    owner_type, owner_id = owner_key(owner)
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
