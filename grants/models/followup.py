"""Follow-up (seguimiento) of an agreement by its administrator: periodic reports and incidents."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants import clock
from grants.models.agreement import Agreement
from grants.workflows.incident import IncidentState, MeasureState
from grants.models.base import Base, Money, State, UTCDateTime, known_states, utcnow
from grants.models.plan import PlanActivity, PlanIndicator
from grants.models.user import User

SEVERITIES = ("low", "medium", "high", "critical")
MEASURES = ("observation", "sanction", "suspension", "termination")
# Measures that the NGO may answer (descargo) before they take effect, unless urgent.
DUE_PROCESS_MEASURES = ("sanction", "suspension", "termination")
SANCTION_TYPES = ("written_warning", "fine")
# A measure: waiting for the NGO's reply (or its deadline), in effect, or withdrawn after the reply.


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
    measure: Mapped[str] = mapped_column(String(12), nullable=False)
    measure_detail: Mapped[str] = mapped_column(Text, nullable=False)
    # Due process (issue 10 §5): a sanction, suspension or termination waits for the NGO's reply
    # until ``reply_due`` unless it is urgent, and says why; then the ministry applies or withdraws it.
    measure_status: Mapped[MeasureState] = mapped_column(State(MeasureState, 14), nullable=False,
                                                         default=MeasureState.IN_EFFECT,
                                                server_default="in_effect")
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=text("false"))
    urgent_reason: Mapped[str | None] = mapped_column(Text)
    reply_due: Mapped[date | None] = mapped_column(Date)
    measure_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    measure_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    measure_decision_note: Mapped[str | None] = mapped_column(Text)
    # A sanction states its type; a fine its amount (collected by deposit or deducted from a later
    # advance with the NGO's written acceptance: grants.services.fines).
    sanction_type: Mapped[str | None] = mapped_column(String(16))
    fine_amount: Mapped[Decimal | None] = mapped_column(Money)
    deduction_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deduction_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[IncidentState] = mapped_column(State(IncidentState, 10), nullable=False, default=IncidentState.OPEN)
    resolution: Mapped[str | None] = mapped_column(Text)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])
    measure_decided_by: Mapped[User | None] = relationship(foreign_keys=[measure_decided_by_id])
    reply: Mapped[IncidentReply | None] = relationship(back_populates="incident", uselist=False)

    __table_args__ = (
        known_states(MeasureState, "measure_status"),
        CheckConstraint("measure != 'observation' OR measure_status = 'in_effect'", name="observation_at_once"),
        CheckConstraint("measure_status != 'pending_reply' OR reply_due IS NOT NULL", name="pending_has_deadline"),
        CheckConstraint("NOT urgent OR length(urgent_reason) > 0", name="urgency_explained"),
        CheckConstraint("measure = 'sanction' OR (sanction_type IS NULL AND fine_amount IS NULL)",
                        name="sanction_fields_only_for_sanctions"),
        CheckConstraint("measure != 'sanction' OR sanction_type IN ('written_warning', 'fine')",
                        name="sanction_type_known"),
        CheckConstraint("(sanction_type = 'fine') = (fine_amount IS NOT NULL AND fine_amount > 0)",
                        name="fine_has_amount"),
        CheckConstraint("deduction_accepted_at IS NULL OR sanction_type = 'fine'", name="deduction_of_a_fine"),
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity_known"),
        CheckConstraint("measure IN ('observation', 'sanction', 'suspension', 'termination')", name="measure_known"),
        known_states(IncidentState),
        CheckConstraint("length(description) > 0 AND length(measure_detail) > 0", name="described"),
        CheckConstraint("status != 'resolved' OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)",
                        name="resolved_has_resolution"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    @property
    def awaits_reply(self) -> bool:
        return self.measure_status == MeasureState.PENDING_REPLY

    # --- who may act now: one rule for the service (which refuses) and the page (which offers) ---
    def refusal_for(self, user, action: str) -> str | None:
        """Why ``user`` may not take ``action`` — ``reply`` (the NGO's descargo), ``decide_measure``
        (apply or withdraw it), ``resolve`` — on this incident today, as the service's refusal code,
        or None. Due process (issue 10 §5): the NGO replies once, by the deadline, to a measure that
        waits for it; the ministry decides after the reply or the deadline, and resolves once the
        measure is decided."""
        if action == "reply":
            if user is None or not user.acts_for(self.organization_id):
                return "forbidden"
            if not self.awaits_reply:
                return "no_reply_expected"
            if self.reply is not None:
                return "reply_exists"
            return "reply_overdue" if clock.today() > self.reply_due else None
        if not self.agreement.overseen_by(user):
            return "forbidden"
        if action == "decide_measure":
            if not self.awaits_reply:
                return "measure_decided"
            return "reply_period_open" if self.reply is None and clock.today() <= self.reply_due else None
        if action == "resolve":
            if self.status != IncidentState.OPEN:
                return "incident_resolved"
            return "measure_pending" if self.awaits_reply else None
        raise ValueError(f"unknown incident action {action!r}")

    def can(self, user, action: str) -> bool:
        return self.refusal_for(user, action) is None


class IncidentReply(Base):
    """Descargo: the NGO's answer to an incident, with its attachments, before the measure takes effect."""

    __tablename__ = "incident_replies"
    __audit_parent__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False, unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="reply")
    submitted_by: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("length(text) > 0", name="has_text"),)

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id
