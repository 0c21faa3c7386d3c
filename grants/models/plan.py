"""Work plan (plan de trabajo) with append-only versions, and the reviews of each version."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.allocation import Allocation
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.organization import Organization
from grants.models.user import User
from grants.workflows.plan import Decision, Discipline, PlanState


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


# Sections of a version, as reviewers' observations and the version diff name them.
SECTIONS = (
    "general", "justification", "objectives", "ministry_alignment", "activities", "budget",
    "indicators", "territory", "beneficiaries", "monitoring", "internal_controls",
    "financial_programming",
)


class Plan(TimestampMixin, Base):
    __tablename__ = "plans"
    __audit_type__ = "plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), nullable=False, unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    status: Mapped[PlanState] = mapped_column(State(PlanState, 20), nullable=False, default=PlanState.DRAFT)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    allocation: Mapped[Allocation] = relationship()
    organization: Mapped[Organization] = relationship()
    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.number", cascade="all, delete-orphan"
    )

    __table_args__ = (
        known_states(PlanState),
        CheckConstraint("status != 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"),
    )

    @property
    def latest_version(self) -> PlanVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def submitted_version(self) -> PlanVersion | None:
        """The version under review (or last reviewed)."""
        submitted = [v for v in self.versions if v.submitted_at is not None]
        return submitted[-1] if submitted else None

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    def can_edit(self, user) -> bool:
        return (user.organization_id == self.organization_id and "ngo" in user.roles
                and self.status == PlanState.DRAFT)


class PlanVersion(Base):
    """One version of the plan. Frozen once submitted (a database trigger refuses changes)."""

    __tablename__ = "plan_versions"
    __audit_parent__ = "plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    justification: Mapped[str] = mapped_column(Text, nullable=False, default="")
    objectives: Mapped[str] = mapped_column(Text, nullable=False, default="")
    ministry_alignment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    monitoring: Mapped[str] = mapped_column(Text, nullable=False, default="")
    internal_controls: Mapped[str] = mapped_column(Text, nullable=False, default="")
    territory: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # municipality codes
    beneficiaries_target: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    beneficiaries_age_min: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    beneficiaries_age_max: Mapped[int] = mapped_column(Integer, nullable=False, default=120)
    beneficiaries_profile: Mapped[str] = mapped_column(Text, nullable=False, default="")
    budget_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship(back_populates="versions")
    activities: Mapped[list[PlanActivity]] = relationship(
        back_populates="version", order_by="PlanActivity.position", cascade="all, delete-orphan")
    budget_lines: Mapped[list[PlanBudgetLine]] = relationship(
        back_populates="version", order_by="PlanBudgetLine.number", cascade="all, delete-orphan")
    indicators: Mapped[list[PlanIndicator]] = relationship(
        back_populates="version", order_by="PlanIndicator.position", cascade="all, delete-orphan")
    tranches: Mapped[list[PlanTranche]] = relationship(
        back_populates="version", order_by="PlanTranche.number", cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(back_populates="version", order_by="Review.id")

    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("end_date >= start_date", name="term_ordered"),
        CheckConstraint("beneficiaries_target >= 0", name="target_not_negative"),
        CheckConstraint("beneficiaries_age_min >= 0 AND beneficiaries_age_max >= beneficiaries_age_min",
                        name="age_range"),
        CheckConstraint("budget_total >= 0", name="budget_total_not_negative"),
    )

    @property
    def beneficiaries(self) -> dict:
        return {"target": self.beneficiaries_target, "age_min": self.beneficiaries_age_min,
                "age_max": self.beneficiaries_age_max, "profile": self.beneficiaries_profile}

    @property
    def is_frozen(self) -> bool:
        return self.submitted_at is not None

    def decisions(self) -> dict[Discipline, Decision]:
        return {Discipline(r.discipline): Decision(r.decision) for r in self.reviews}


class PlanActivity(Base):
    __tablename__ = "plan_activities"
    __audit_parent__ = "version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    responsible: Mapped[str] = mapped_column(String(160), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    municipality_codes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    version: Mapped[PlanVersion] = relationship(back_populates="activities")

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)


class PlanBudgetLine(Base):
    __tablename__ = "plan_budget_lines"
    __audit_parent__ = "version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)

    version: Mapped[PlanVersion] = relationship(back_populates="budget_lines")

    __table_args__ = (
        UniqueConstraint("version_id", "number"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class PlanIndicator(Base):
    __tablename__ = "plan_indicators"
    __audit_parent__ = "version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    expected_result: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(60), nullable=False)
    baseline: Mapped[Decimal] = mapped_column(Money, nullable=False)
    target: Mapped[Decimal] = mapped_column(Money, nullable=False)
    means_of_verification: Mapped[str] = mapped_column(Text, nullable=False)

    version: Mapped[PlanVersion] = relationship(back_populates="indicators")


class PlanTranche(Base):
    """One staged advance of the financial programming (desembolso)."""

    __tablename__ = "plan_tranches"
    __audit_parent__ = "version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    planned_date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    budget_line_numbers: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    version: Mapped[PlanVersion] = relationship(back_populates="tranches")

    @property
    def budget_lines(self) -> list[int]:
        return list(self.budget_line_numbers or [])

    __table_args__ = (
        UniqueConstraint("version_id", "number"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("number > 0", name="number_positive"),
    )


class Review(Base):
    """One discipline's decision on one version. UNIQUE(version, reviewer) is G4 in the database."""

    __tablename__ = "reviews"
    __audit_parent__ = "plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), nullable=False, index=True)
    discipline: Mapped[str] = mapped_column(String(20), nullable=False)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    decision: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    version: Mapped[PlanVersion] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()
    observations: Mapped[list[ReviewObservation]] = relationship(
        back_populates="review", order_by="ReviewObservation.id", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("version_id", "discipline"),
        UniqueConstraint("version_id", "reviewer_id"),
        CheckConstraint(f"discipline IN ({_in(Discipline)})", name="discipline_known"),
        CheckConstraint(f"decision IN ({_in(Decision)})", name="decision_known"),
        CheckConstraint("decision != 'reject' OR length(reason) > 0", name="reject_has_reason"),
    )

    @property
    def plan(self) -> Plan:
        return self.version.plan


class ReviewObservation(Base):
    __tablename__ = "review_observations"
    __audit_parent__ = "review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True)
    section: Mapped[str] = mapped_column(String(40), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)

    review: Mapped[Review] = relationship(back_populates="observations")

    __table_args__ = (CheckConstraint(f"section IN ({_in(SECTIONS)})", name="section_known"),)
