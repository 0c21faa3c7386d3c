"""Follow-up (seguimiento) of an agreement by its administrator: periodic reports and incidents."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, UTCDateTime, utcnow
from grants.models.plan import PlanActivity, PlanIndicator
from grants.models.user import User

SEVERITIES = ("low", "medium", "high", "critical")
MEASURES = ("observation", "sanction", "suspension", "termination")


class FollowUpReport(Base):
    """Informe de seguimiento: progress of the activities, indicator values and active beneficiaries."""

    __tablename__ = "follow_up_reports"
    __audit_type__ = "follow_up_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    # Counted from the enrollment history: active on the period's last day.
    active_beneficiaries: Mapped[int] = mapped_column(Integer, nullable=False)
    observations: Mapped[str] = mapped_column(Text, nullable=False, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    author: Mapped[User] = relationship()
    activities: Mapped[list[FollowUpActivity]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="FollowUpActivity.activity_id")
    indicators: Mapped[list[FollowUpIndicator]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="FollowUpIndicator.indicator_id")

    __table_args__ = (
        UniqueConstraint("agreement_id", "period_start", "period_end"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("active_beneficiaries >= 0", name="active_not_negative"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id


class FollowUpActivity(Base):
    __tablename__ = "follow_up_activities"
    __audit_parent__ = "report"

    report_id: Mapped[int] = mapped_column(ForeignKey("follow_up_reports.id", ondelete="CASCADE"), primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("plan_activities.id"), primary_key=True)
    progress: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)  # percent done
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    report: Mapped[FollowUpReport] = relationship(back_populates="activities")
    activity: Mapped[PlanActivity] = relationship()

    __table_args__ = (CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),)


class FollowUpIndicator(Base):
    __tablename__ = "follow_up_indicators"
    __audit_parent__ = "report"

    report_id: Mapped[int] = mapped_column(ForeignKey("follow_up_reports.id", ondelete="CASCADE"), primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("plan_indicators.id"), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    report: Mapped[FollowUpReport] = relationship(back_populates="indicators")
    indicator: Mapped[PlanIndicator] = relationship()


class Incident(Base):
    """Incumplimiento: what happened, how serious, the evidence, and the measure taken."""

    __tablename__ = "incidents"
    __audit_type__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    measure: Mapped[str] = mapped_column(String(12), nullable=False)
    measure_detail: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])

    __table_args__ = (
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity_known"),
        CheckConstraint("measure IN ('observation', 'sanction', 'suspension', 'termination')", name="measure_known"),
        CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        CheckConstraint("length(description) > 0 AND length(measure_detail) > 0", name="described"),
        CheckConstraint("status != 'resolved' OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)",
                        name="resolved_has_resolution"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id
