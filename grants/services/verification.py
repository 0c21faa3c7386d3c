"""Is this PDF a document the ministry issued through Fondos, unaltered? (``/verificar``,
``flask documents verify``, ``POST /api/v1/documents/verify``.)

``verify(pdf)`` gives a ``Verdict``:

* ``not_pdf`` — the bytes are not a PDF;
* ``unsigned`` — a PDF without any signature (if Fondos issued it unsigned, in a development
  setup without a certificate, ``document`` says which one);
* ``invalid`` — signed, but altered after signing (``altered``), by a certificate that does not chain
  to the configured trust roots (``untrusted``), or with bytes added after the signature
  (``not_whole_file``);
* ``valid`` — intact, covering the whole file, signed by a trusted certificate: who signed, when
  (El Salvador time), which Fondos document it is (looked up by the SHA-256 of the whole file), and
  whether a later version of that document was issued. A valid signature on a file Fondos has no
  record of is said as such («firmado por el ministerio pero no registrado en Fondos»).

Nothing is stored and nothing is audited: the file is read and forgotten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import formats
from grants.extensions import db
from grants.models import Agreement
from grants.models.issued_document import IssuedDocument
from grants.services import pades, signing

KIND_LABELS = {
    "agreement": _l("Convenio de cooperación"),
    "payment_order": _l("Orden de pago directo"),
    "final_liquidation_acta": _l("Acta de liquidación final"),
    "findings": _l("Hallazgos de auditoría"),
    "legislature_report": _l("Informe a la Asamblea Legislativa"),
}
PROBLEM_LABELS = {
    "altered": _l("El archivo fue modificado después de firmarse: la firma no corresponde a su contenido."),
    "untrusted": _l("La firma no es de un certificado de confianza del ministerio."),
    "not_whole_file": _l("Se agregó contenido al archivo después de la firma."),
}


@dataclass(frozen=True)
class Verdict:
    state: str                             # valid | invalid | unsigned | not_pdf
    sha256: str | None = None
    problem: str | None = None             # invalid: altered | untrusted | not_whole_file
    signer_name: str | None = None
    signer_organization: str | None = None
    signed_at: datetime | None = None
    timestamped: bool = False
    document: IssuedDocument | None = None
    later: IssuedDocument | None = None    # the latest version, when it is later than this one

    @property
    def valid(self) -> bool:
        return self.state == "valid"

    @property
    def signed_at_text(self) -> str:
        return formats.moment(self.signed_at)

    @property
    def headline(self):
        if self.state == "valid":
            return (_l("Firma válida: documento emitido por el ministerio.") if self.document else
                    _l("Firma válida: firmado por el ministerio pero no registrado en Fondos."))
        return {"invalid": _l("Firma NO válida."),
                "unsigned": _l("El documento no está firmado."),
                "not_pdf": _l("El archivo no es un PDF.")}[self.state]

    @property
    def problem_text(self):
        return PROBLEM_LABELS.get(self.problem) if self.problem else None

    def lines(self) -> list[str]:
        """The verdict for people, one line each (the page and the CLI say the same)."""
        out = [str(self.headline)]
        if self.problem_text:
            out.append(str(self.problem_text))
        if self.signer_name and self.state in ("valid", "invalid"):
            who = self.signer_name + (f" ({self.signer_organization})" if self.signer_organization else "")
            out.append(str(_l("Firmado por: %(who)s", who=who)))
        if self.signed_at and self.state in ("valid", "invalid"):
            out.append(str(_l("Fecha de la firma: %(when)s (hora de El Salvador)", when=self.signed_at_text)))
        if self.document is not None:
            out.append(str(_l("Documento: %(what)s, versión %(version)s, emitido el %(when)s",
                              what=describe(self.document), version=self.document.version,
                              when=formats.moment(self.document.issued_at))))
            if self.later is not None:
                out.append(str(_l("Existe una versión posterior de este documento: versión %(version)s, "
                                  "emitida el %(when)s.", version=self.later.version,
                                  when=formats.moment(self.later.issued_at))))
            else:
                out.append(str(_l("Es la versión más reciente de este documento.")))
        if self.sha256:
            out.append(f"SHA-256: {self.sha256}")
        return out

    def as_dict(self) -> dict:
        document = None
        if self.document is not None:
            document = {"kind": self.document.kind, "kind_label": str(KIND_LABELS[self.document.kind]),
                        "object_type": self.document.object_type, "object_key": self.document.object_key,
                        "description": describe(self.document), "version": self.document.version,
                        "issued_at": self.document.issued_at.isoformat(timespec="seconds"),
                        "signed": self.document.signed,
                        "later_version": self.later.version if self.later else None}
        return {"state": self.state, "valid": self.valid, "message": str(self.headline),
                "problem": self.problem, "problem_message": str(self.problem_text) if self.problem_text else None,
                "sha256": self.sha256, "signer": self.signer_name, "signer_organization": self.signer_organization,
                "signed_at": self.signed_at.isoformat(timespec="seconds") if self.signed_at else None,
                "signed_at_local": self.signed_at_text or None, "timestamped": self.timestamped,
                "document": document}


def describe(document: IssuedDocument) -> str:
    """«Convenio de cooperación MJSP-CONV-2026-001», «Informe a la Asamblea Legislativa, ejercicio 2026»."""
    label = str(KIND_LABELS[document.kind])
    if document.object_type == "agreements":
        agreement = db.session.get(Agreement, int(document.object_key))
        return f"{label} {agreement.number}" if agreement else label
    if document.object_type == "payments":
        return f"{label} OP-{int(document.object_key):06d}"
    if document.object_type == "fiscal_year":
        return str(_l("%(label)s, ejercicio %(year)s", label=label, year=document.object_key))
    if document.object_type == "findings_filter":
        return str(_l("%(label)s (filtro: %(filter)s)", label=label, filter=document.object_key or "—"))
    return f"{label} {document.object_type} {document.object_key}"


def _registered(digest: str) -> tuple[IssuedDocument | None, IssuedDocument | None]:
    document = db.session.scalar(select(IssuedDocument).where(IssuedDocument.sha256 == digest))
    if document is None:
        return None, None
    latest = signing.latest(document.kind, document.object_type, document.object_key)
    return document, latest if latest is not None and latest.version > document.version else None


def limit_per_address() -> None:
    """Verifying runs pyHanko on anyone's PDF: at most ``VERIFY_LIMIT_PER_ADDRESS`` per address."""
    from grants import throttle

    throttle.take_slot("verify", "VERIFY_LIMIT_PER_ADDRESS", lambda minutes: _l(
        "Demasiadas verificaciones desde esta dirección. Vuelva a intentarlo en %(minutes)s min.", minutes=minutes))


def verify(pdf: bytes) -> Verdict:
    digest = signing.sha256(pdf)
    try:
        found = pades.inspect(pdf, signing.trust_roots())
    except pades.NotAPdf:
        return Verdict("not_pdf", sha256=digest)
    if not found.signed:
        document, later = _registered(digest)
        return Verdict("unsigned", sha256=digest, document=document, later=later)
    common = dict(sha256=digest, signer_name=found.signer_name, signer_organization=found.signer_organization,
                  signed_at=found.signed_at, timestamped=found.timestamped)
    if not found.intact:
        return Verdict("invalid", problem="altered", **common)
    if not found.whole_file:
        return Verdict("invalid", problem="not_whole_file", **common)
    if not found.trusted:
        return Verdict("invalid", problem="untrusted", **common)
    document, later = _registered(digest)
    if document is None and found.covered_sha256 and db.session.scalar(select(IssuedDocument.id).where(
            IssuedDocument.covered_sha256 == found.covered_sha256).limit(1)) is not None:
        # an issued file with bytes changed inside its signature container (where the signature
        # does not reach): it is not the file Fondos issued
        return Verdict("invalid", problem="altered", **common)
    return Verdict("valid", document=document, later=later, **common)
