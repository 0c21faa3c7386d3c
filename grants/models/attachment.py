"""Attachments: every document people upload to an object of the mechanism (a deposit slip, an
invoice's PDF or DTE JSON, a signed receipt certificate, a receipt's scan, a supplier's NIT card,
a follow-up report's annex, an incident reply's proof, a meeting's signed minutes).

One table and one service (``grants.services.attachments``) for all of them: the file is checked by
its content (not its name), kept by SHA-256 in storage every process sees, and every upload is an
audit event of the object it belongs to. ``owner_type``/``owner_id`` name that object; the service
knows, per owner type, who may see it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, UTCDateTime, utcnow
from grants.models.user import User


class Attachment(Base):
    __tablename__ = "attachments"
    __audit_type__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(30), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    # The organization whose data this is (None: ministry-only); an NGO sees its own only.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(60), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_on: Mapped[date | None] = mapped_column(Date)  # documents that expire (tax solvency)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_attachments_owner", "owner_type", "owner_id", "kind"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )
