"""Documents Fondos issued as the ministry (agreement, payment order, acta of final liquidation,
findings export, report to the Assembly), each a version of one object's document.

``sha256`` is the hash of the file handed out (signed), so anyone holding a copy can find which
document and which version it is (``/verificar``); ``content_sha256`` is the hash of the unsigned
PDF the builders made, so the same content is issued once and handed out again byte for byte.
``covered_sha256`` is the hash of the bytes the signature covers (all but the signature container): a
copy with the same covered bytes and another file hash was changed inside the container, where no
signature reaches (an embedded certificate, the padding) — ``/verificar`` calls it altered.
``signed`` is false only where no certificate was configured (development without one).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grants.models.base import Base, UTCDateTime, utcnow

ISSUED_KINDS = ("agreement", "payment_order", "final_liquidation_acta", "findings", "legislature_report")


class IssuedDocument(Base):
    __tablename__ = "issued_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    object_key: Mapped[str] = mapped_column(String(200), nullable=False)  # an id, a year, a filter string
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    covered_sha256: Mapped[str | None] = mapped_column(String(64))  # what the signature covers (/ByteRange)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    signed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    signer_subject: Mapped[str | None] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("kind IN ('agreement', 'payment_order', 'final_liquidation_acta', 'findings', "
                        "'legislature_report')", name="kind_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("NOT signed OR signer_subject IS NOT NULL", name="signed_has_signer"),
        UniqueConstraint("sha256"),
        UniqueConstraint("kind", "object_type", "object_key", "version"),
        Index("ix_issued_documents_content", "kind", "object_type", "object_key", "content_sha256"),
        Index("ix_issued_documents_covered_sha256", "covered_sha256"),
    )

    @property
    def label(self) -> str:
        return f"{self.kind} {self.object_type} {self.object_key} v{self.version}"
