"""Documents Fondos issues as the ministry: signed (PAdES, ``grants.services.pades``), recorded
(``IssuedDocument``), audited, and stable.

``issue(kind, record, build)`` is called with a builder ``build(generated_on) -> bytes`` of the
unsigned PDF (or with the bytes of a document that is frozen once made, like the report sent to the
Assembly). The builders are ``invariant``: the same data gives the same bytes, no creation date or
random id inside; what changes from day to day is only the «Generado el …» line, so the document is
built again *as printed on the day its latest version was issued*: if that gives the latest version's
content (SHA-256 of the unsigned bytes), its stored signed file is returned — downloading an
agreement twice, today or next month, gives the same file and the same hash while nothing in it
changed. Otherwise the PDF is signed, stored in the file store (folder ``issued``, named
by the signed file's SHA-256) and recorded as version n + 1, with a ``document.issued`` event.

Without a certificate (no PKCS#12 at ``SIGNING_P12``): with ``SIGNING_REQUIRED`` (the production
default) nothing is issued (``SigningUnavailable``, 503); otherwise (development) the document is
issued unsigned — ``IssuedDocument.signed`` false, a warning in the log — and ``/verificar`` says
it is not signed. Flushes, never commits.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grants.audit import Actor, record_event, snapshot
from grants.clock import local_day, today
from grants.domain_errors import SigningUnavailable
from grants.extensions import db
from grants.models.issued_document import ISSUED_KINDS, IssuedDocument
from grants.services import files, pades

log = logging.getLogger(__name__)

FOLDER = "issued"
REASON = {
    "agreement": "Convenio de cooperación emitido por el Ministerio de Justicia y Seguridad Pública",
    "payment_order": "Orden de pago directo emitida por el Ministerio de Justicia y Seguridad Pública",
    "final_liquidation_acta": "Acta de liquidación final emitida por el Ministerio de Justicia y Seguridad Pública",
    "findings": "Hallazgos de auditoría exportados por el Ministerio de Justicia y Seguridad Pública",
    "legislature_report": "Informe a la Asamblea Legislativa emitido por el Ministerio de Justicia y Seguridad Pública",
}
LOCATION = "San Salvador, El Salvador"
_SIGNERS: dict[tuple, pades.Signer] = {}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- configuration -----------------------------------------------------------------------------

def _passphrase(p12: Path) -> str | None:
    configured = current_app.config.get("SIGNING_PASSPHRASE") or ""
    if configured:
        return configured
    beside = p12.with_suffix(".pass")
    return beside.read_text().strip() if beside.is_file() else None


def signer() -> pades.Signer | None:
    """The ministry's signer from ``SIGNING_P12`` (cached per file and modification time), or None
    when no certificate is configured. An unreadable one is an error, never silently skipped."""
    p12 = Path(current_app.config.get("SIGNING_P12") or "")
    if not str(p12) or not p12.is_file():
        return None
    key = (str(p12), p12.stat().st_mtime_ns, current_app.config.get("SIGNING_PASSPHRASE") or "")
    if key not in _SIGNERS:
        try:
            _SIGNERS[key] = pades.load_signer(p12, _passphrase(p12))
        except Exception as exc:  # noqa: BLE001 - a wrong passphrase or a damaged file, said plainly
            log.error("the signing certificate %s cannot be read: %s", p12, exc)
            raise SigningUnavailable() from exc
    return _SIGNERS[key]


def trust_roots() -> list:
    import os

    value = current_app.config.get("SIGNING_TRUST_ROOTS") or ""
    return pades.load_roots([Path(p) for p in str(value).split(os.pathsep) if p.strip()])


# --- issuing -----------------------------------------------------------------------------------

def object_of(record) -> tuple[str, str]:
    """(type, key) of what a document is about: a model instance (its table and id), or a pair
    such as ``("fiscal_year", 2026)`` or ``("findings_filter", "status=open")``."""
    if isinstance(record, tuple):
        kind, key = record
    else:
        kind, key = record.__tablename__, record.id
    key = str(key)
    if len(key) > 200:  # a long filter string: its hash names it
        key = "sha256:" + sha256(key.encode())
    return str(kind), key


def latest(kind: str, object_type: str, object_key: str) -> IssuedDocument | None:
    return db.session.scalar(select(IssuedDocument).where(
        IssuedDocument.kind == kind, IssuedDocument.object_type == object_type,
        IssuedDocument.object_key == object_key).order_by(IssuedDocument.version.desc()).limit(1))


def stored_file(document: IssuedDocument) -> Path:
    return files.stored_path(FOLDER, document.sha256, ".pdf")


def _reusable(document: IssuedDocument | None, content: str, can_sign: bool) -> bytes | None:
    if document is None or document.content_sha256 != content or (can_sign and not document.signed):
        return None
    path = stored_file(document)
    if not path.is_file():
        log.warning("issued document %s lost its file %s: issued again", document.id, path)
        return None
    return path.read_bytes()


def _printed_on(document: IssuedDocument) -> date:
    return local_day(document.issued_at)


def issue(kind: str, record, build: Callable[[date], bytes] | bytes, *, actor: Actor | None = None) -> bytes:
    """The file to hand out for this document: signed, recorded and audited (see the module).
    ``build(generated_on)`` makes the unsigned PDF as printed on that day; bytes are taken as they are."""
    if kind not in ISSUED_KINDS:
        raise ValueError(f"unknown issued document kind {kind!r}")
    actor = actor or Actor.system("issue")
    object_type, object_key = object_of(record)
    the_signer = signer()
    if the_signer is None and current_app.config.get("SIGNING_REQUIRED"):
        log.error("SIGNING_REQUIRED and no signing certificate at %s", current_app.config.get("SIGNING_P12"))
        raise SigningUnavailable()
    pdf = build if isinstance(build, bytes) else build(today())
    content = sha256(pdf)
    for _attempt in range(3):
        previous = latest(kind, object_type, object_key)
        if previous is not None and not isinstance(build, bytes) and _printed_on(previous) != today():
            # the same document printed on its issue day: unchanged unless its content changed
            same = _reusable(previous, sha256(build(_printed_on(previous))), the_signer is not None)
        else:
            same = _reusable(previous, content, the_signer is not None)
        if same is not None:
            return same
        if the_signer is None:
            log.warning("no signing certificate configured (SIGNING_P12): %s %s %s issued UNSIGNED",
                        kind, object_type, object_key)
            out = pdf
        else:
            version = (previous.version if previous else 0) + 1
            try:
                out = pades.sign(pdf, the_signer, field_name=f"{pades.FIELD_PREFIX}{version}", reason=REASON[kind],
                                 location=LOCATION, tsa_url=current_app.config.get("SIGNING_TSA_URL") or None)
            except pades.TimestampUnavailable as exc:
                log.error("no timestamp for %s %s %s: %s", kind, object_type, object_key, exc)
                raise SigningUnavailable(code="timestamp_unavailable") from exc
        stored = files.store(out, FOLDER, ".pdf")
        document = IssuedDocument(
            kind=kind, object_type=object_type, object_key=object_key,
            version=(previous.version if previous else 0) + 1, sha256=stored.sha256, content_sha256=content,
            covered_sha256=pades.covered_sha256(out) if the_signer is not None else None,
            size=stored.size, signed=the_signer is not None,
            signer_subject=the_signer.subject if the_signer else None, issued_by_id=actor.user_id)
        try:
            with db.session.begin_nested():  # another request issuing the same version at once
                db.session.add(document)
                db.session.flush()
        except IntegrityError:  # that one won: read it again (the same content is returned as it stored it)
            log.info("%s %s %s: version %s was issued by another request first", kind, object_type, object_key,
                     document.version)
            continue
        record_event(db.session, actor, "document.issued", "issued_document", document.id,
                     after=snapshot(document))
        return out
    raise SigningUnavailable(code="issue_contention")


def filter_key(args) -> str:
    """A findings export's filter as a stable string (``severity=high&status=open``): the object a
    findings PDF is about. ``args`` is a mapping (request args, or the API's parsed query)."""
    items = args.items(multi=True) if hasattr(args, "getlist") else args.items()
    pairs = sorted(f"{k}={v}" for k, v in items if v not in (None, "", []) and k not in ("page", "per_page"))
    return "&".join(pairs)
