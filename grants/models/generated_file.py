"""Files built by a job (a list's rejected rows as XLSX, a draft of the Assembly report): the
request records what is asked for, a worker builds it, any app server hands it out.

A generated file is derived data — a cache of something that can be rebuilt from the ledger and
the stored uploads — not a change to the programme: it is not an audited aggregate. Who may read
it is checked again on every download, from what it was built from (``kind`` and ``params``),
never from who asked for it.

``fingerprint`` is what the file was built from: its kind, its parameters and the version of the
data (for a draft report, the audit chain's head: any audited change makes a new one). A second
request for the same fingerprint gets the file already built, or the one being built.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grants.workflows.generated_file import FileState
from grants.models.base import Base, State, UTCDateTime, known_states, utcnow



class GeneratedFile(Base):
    __tablename__ = "generated_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[FileState] = mapped_column(State(FileState, 10), nullable=False, default=FileState.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    mimetype: Mapped[str] = mapped_column(String(100), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        known_states(FileState),
        CheckConstraint("status <> 'ready' OR (sha256 IS NOT NULL AND size IS NOT NULL AND finished_at IS NOT NULL)",
                        name="ready_has_content"),
        CheckConstraint("size IS NULL OR size >= 0", name="size_not_negative"),
        Index("ix_generated_files_kind_fingerprint", "kind", "fingerprint"),
        Index("ix_generated_files_created_at", "created_at"),
    )

    def is_ready(self) -> bool:
        return self.status == FileState.READY
