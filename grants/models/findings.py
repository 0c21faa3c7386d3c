"""Internal audit: liquidation check runs and their findings (hallazgos)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.workflows.audit_check import FindingState, RunState
from grants.models.base import Base, Money, State, UTCDateTime, known_states, utcnow
from grants.models.user import User

FINDING_SEVERITIES = ("low", "medium", "high")


class AuditCheckRun(Base):
    __tablename__ = "audit_check_runs"
    __audit_type__ = "audit_check_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[RunState] = mapped_column(State(RunState, 10), nullable=False, default=RunState.RUNNING)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rules_run: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    findings_new: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    findings_seen: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # {rule code: number of findings} for this run
    counts: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    failure: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (known_states(RunState),)


class AuditFinding(Base):
    """One thing a rule found, identified by ``fingerprint`` (rule + entity): a re-run updates it,
    never duplicates it. The auditor marks it justified or confirmed with a note; a confirmed
    finding is resolved (with a note) before the agreement's final liquidation."""

    __tablename__ = "audit_findings"
    __audit_type__ = "audit_finding"
    __audit_ignore__ = frozenset({"last_run_id", "last_seen_at", "present"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    rule_code: Mapped[str] = mapped_column(String(60), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(60), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[FindingState] = mapped_column(State(FindingState, 10), nullable=False, default=FindingState.OPEN)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_run_id: Mapped[int] = mapped_column(ForeignKey("audit_check_runs.id"), nullable=False)
    last_run_id: Mapped[int] = mapped_column(ForeignKey("audit_check_runs.id"), nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # False when the last run that covered it no longer found it (the cause was fixed).
    present: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    agreement: Mapped[Agreement | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        known_states(FindingState),
        CheckConstraint("severity IN ('low', 'medium', 'high')", name="severity_known"),
        CheckConstraint("status = 'open' OR length(note) > 0", name="decision_has_note"),
        Index("ix_audit_findings_rule_status", "rule_code", "status"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id
