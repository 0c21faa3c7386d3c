"""Every use of pyHanko, in one place (so it can be replaced): sign a PDF as PAdES and check one.

* ``load_signer(p12_path, passphrase)`` reads the PKCS#12 (key, certificate, chain).
* ``sign(pdf, signer, ...)`` appends a PAdES B-B signature (``/ETSI.CAdES.detached``, SHA-256) as an
  incremental update: the original bytes stay as they were, so the text of the PDF is unchanged.
  With ``tsa_url`` a timestamp from that TSA (RFC 3161, ``HTTPTimeStamper``) makes it PAdES B-T;
  the TSA is only called when configured (offline deployments leave it empty).
* ``inspect(pdf, trust_roots)`` validates every signature offline (no fetching of CRLs/OCSP,
  revocation «soft-fail») and reports the last one: intact, trusted (chains to a root given),
  covering the whole file (nothing appended after it), who signed and when.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

log = logging.getLogger(__name__)

FIELD_PREFIX = "FondosMinisterio"
_CHECKING: ContextVar[bool] = ContextVar("fondos_pades_checking", default=False)


class _QuietWhileChecking(logging.Filter):
    """A file anyone uploads to /verificar may be untrusted, altered or hostile: pyHanko logs each such
    verdict as an error with a traceback. While ``inspect`` runs they are the expected answer, not a
    fault of ours: dropped here, and ``inspect`` logs one line (INFO) with the reason instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _CHECKING.get()


_QUIET = _QuietWhileChecking()


def _quiet_pyhanko() -> None:
    """Filter every pyHanko logger (a logger's filter sees only its own records, not its children's)."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("pyhanko") and isinstance(logger, logging.Logger) and _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


class NotAPdf(ValueError):
    """The bytes are not a PDF pyHanko can read."""


@dataclass(frozen=True)
class Signer:
    backend: object           # pyhanko.sign.signers.SimpleSigner
    subject: str              # the certificate's subject, human readable (CN, O, C)
    common_name: str


def load_signer(p12_path: Path, passphrase: str | None) -> Signer:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyhanko.sign import signers

    backend = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=passphrase.encode() if passphrase else None)
    if backend is None:
        raise ValueError(f"cannot read the PKCS#12 at {p12_path} (wrong passphrase or not a PKCS#12)")
    cert = backend.signing_cert
    return Signer(backend, cert.subject.human_friendly, _common_name(cert))


def _common_name(cert) -> str:
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)


def sign(pdf: bytes, signer: Signer, *, field_name: str, reason: str, location: str,
         tsa_url: str | None = None) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps

    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason, location=location,
                                        name=signer.common_name)
    timestamper = timestamps.HTTPTimeStamper(tsa_url, timeout=10) if tsa_url else None
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    try:
        out = signers.PdfSigner(meta, signer.backend, timestamper=timestamper).sign_pdf(writer)
    except timestamps.TimestampRequestError as exc:  # the TSA is down, slow or answers garbage
        raise TimestampUnavailable(f"{tsa_url}: {exc}") from exc
    return out.getvalue()


class TimestampUnavailable(Exception):
    """The configured timestamp authority did not give a timestamp: nothing is signed without it."""


@dataclass(frozen=True)
class Inspection:
    signed: bool
    intact: bool = False            # the signed bytes hash to what was signed, the signature is the key's
    trusted: bool = False           # the certificate chains to a trust root (and was valid then)
    whole_file: bool = False        # the signature covers the whole file: nothing added after it
    signer_name: str | None = None  # CN
    signer_organization: str | None = None
    signer_subject: str | None = None
    signed_at: datetime | None = None  # the timestamp's time when there is one, else the signer's claim
    timestamped: bool = False
    covered_sha256: str | None = None  # SHA-256 of the bytes the signature covers (/ByteRange)
    problem: str | None = None      # why it is not valid, for logs (English, technical)

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file


def load_roots(paths: list[Path]) -> list:
    """The certificates in PEM (or DER) files; a missing file is skipped with a warning."""
    from asn1crypto import pem, x509

    roots = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError:
            log.warning("signing trust root %s cannot be read", path)
            continue
        blobs = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
        roots.extend(x509.Certificate.load(der) for der in blobs)
    return roots


def inspect(pdf: bytes, roots: list) -> Inspection:
    """The PDF's last signature, validated against ``roots`` (raises ``NotAPdf``)."""
    token = _CHECKING.set(True)
    try:
        found = _inspect(pdf, roots)
    finally:
        _CHECKING.reset(token)
    if found.problem:
        log.info("signature not valid: %s", found.problem)
    return found


def _inspect(pdf: bytes, roots: list) -> Inspection:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext
    _quiet_pyhanko()  # once its modules (and their loggers) are loaded

    if not pdf.lstrip()[:5] == b"%PDF-":
        raise NotAPdf("no PDF header")
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception as exc:  # a broken xref, a truncated file, garbage after the header
        raise NotAPdf(str(exc)) from exc
    if not signatures:
        return Inspection(signed=False)
    embedded = signatures[-1]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context,
                                        ts_validation_context=context)
    except (PdfError, ValueError, KeyError, TypeError) as exc:  # a signature dictionary pyHanko cannot read
        return Inspection(signed=True, problem=f"signature unreadable: {exc}")
    except Exception as exc:  # noqa: BLE001 - anything else from a hostile file is a broken signature
        log.info("signature validation failed: %r", exc)
        return Inspection(signed=True, problem=f"signature unreadable: {exc!r}")
    cert = status.signing_cert
    subject = cert.subject.native if cert is not None else {}
    padded = _padding_is_clean(pdf, embedded)
    covered = _covered_sha256(pdf, embedded)
    ts = status.timestamp_validity
    signed_at = ts.timestamp if ts is not None and ts.intact and ts.valid else status.signer_reported_dt
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problems = [text for ok, text in ((status.intact and status.valid, "signature broken or content altered"),
                                      (padded, "bytes changed in the signature's unused space"),
                                      (status.trusted, "certificate not trusted"),
                                      (whole, f"coverage {status.coverage}")) if not ok]
    return Inspection(signed=True, intact=bool(status.intact and status.valid and padded), trusted=bool(status.trusted),
                      whole_file=whole, signer_name=subject.get("common_name"),
                      signer_organization=subject.get("organization_name"),
                      signer_subject=cert.subject.human_friendly if cert is not None else None,
                      signed_at=signed_at, timestamped=ts is not None, covered_sha256=covered,
                      problem="; ".join(problems) or None)


def _padding_is_clean(pdf: bytes, embedded) -> bool:
    """The one part of a signed file no signature covers is the room reserved for the signature
    itself (``/Contents``, hex, zero-padded after the CMS blob). Any byte changed there is a change
    to the file: the blob must be followed by zeros only, so that altering any byte of the file
    makes verification fail."""
    try:
        start, end = int(embedded.sig_object["/ByteRange"][1]), int(embedded.sig_object["/ByteRange"][2])
        text = pdf[start:end]
        if not (text.startswith(b"<") and text.endswith(b">")):
            return False
        blob = bytes.fromhex(text[1:-1].decode("ascii"))
        if len(blob) < 2 or blob[0] != 0x30:
            return False
        length = blob[1]
        if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
            count = length & 0x7F
            length = int.from_bytes(blob[2:2 + count], "big") + 2 + count
        else:
            length += 2
        return length <= len(blob) and not any(blob[length:])
    except (KeyError, TypeError, ValueError, IndexError):
        return False


def _covered_sha256(pdf: bytes, embedded) -> str | None:
    import hashlib

    try:
        start1, length1, start2, length2 = (int(x) for x in embedded.sig_object["/ByteRange"])
    except (KeyError, TypeError, ValueError):
        return None
    digest = hashlib.sha256(pdf[start1:start1 + length1])
    digest.update(pdf[start2:start2 + length2])
    return digest.hexdigest()


def covered_sha256(pdf: bytes) -> str | None:
    """SHA-256 of what the PDF's last signature covers (everything but the signature container).
    Two files with the same covered bytes and different whole-file hashes differ only inside the
    signature container — a copy of an issued file changed where no signature reaches."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    signatures = list(PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures)
    return _covered_sha256(pdf, signatures[-1]) if signatures else None
