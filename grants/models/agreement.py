"""Cooperation agreement (convenio) from an approved plan version."""
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

from grants.models.allocation import Allocation
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.organization import Organization
from grants.models.plan import Plan, PlanVersion
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.agreement import AgreementState



class Agreement(TimestampMixin, Base):
    __tablename__ = "agreements"
    __audit_type__ = "agreement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), nullable=False, unique=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), nullable=False)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    status: Mapped[AgreementState] = mapped_column(State(AgreementState, 20), nullable=False,
                                                    default=AgreementState.DRAFT)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    object: Mapped[str] = mapped_column(Text, nullable=False)
    ministry_obligations: Mapped[str] = mapped_column(Text, nullable=False)
    ngo_obligations: Mapped[str] = mapped_column(Text, nullable=False)
    control_mechanisms: Mapped[str] = mapped_column(Text, nullable=False)
    liquidation_terms: Mapped[str] = mapped_column(Text, nullable=False)
    # Share (percent) of the previous advance that must be liquidated before the next is paid.
    liquidation_threshold: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False, default=Decimal("100.00"))
    # Pre-financing clause: receipts of an advance may predate its transfer by at most these days
    # (None: not allowed; nothing spent before the money arrived is paid with it).
    prefinancing_days: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    ministry_signatory_name: Mapped[str] = mapped_column(String(160), nullable=False)
    ministry_signatory_title: Mapped[str] = mapped_column(String(160), nullable=False)
    ngo_signatory_name: Mapped[str] = mapped_column(String(160), nullable=False)
    ngo_signatory_title: Mapped[str] = mapped_column(String(160), nullable=False)
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_scan_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_scan_size: Mapped[int | None] = mapped_column(Integer)
    administrator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship()
    plan_version: Mapped[PlanVersion] = relationship()
    allocation: Mapped[Allocation] = relationship()
    organization: Mapped[Organization] = relationship()
    administrator: Mapped[User | None] = relationship(foreign_keys=[administrator_id])
    history: Mapped[list[AgreementStatusChange]] = relationship(
        back_populates="agreement", order_by="AgreementStatusChange.id", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        known_states(AgreementState),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("liquidation_threshold > 0 AND liquidation_threshold <= 100", name="threshold_range"),
        CheckConstraint("prefinancing_days IS NULL OR prefinancing_days BETWEEN 1 AND 180", name="prefinancing_range"),
        CheckConstraint("end_date >= start_date", name="term_ordered"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint(
            "status IN ('draft', 'terminated') OR (signed_on IS NOT NULL AND signed_scan_sha256 IS NOT NULL)",
            name="signed_has_scan"),
        CheckConstraint(
            "status NOT IN ('in_execution', 'suspended', 'closing', 'liquidated', 'reported') "
            "OR administrator_id IS NOT NULL", name="execution_has_administrator"),
        CheckConstraint("status != 'terminated' OR status_reason IS NOT NULL", name="terminated_has_reason"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    def overseen_by(self, user) -> bool:
        """The agreement's administrator (with follow-up rights) or a holder of AGREEMENTS_MANAGE: who
        records its incidents, decides their measures and resolves them."""
        return user is not None and (user.can(Permission.AGREEMENTS_MANAGE) or (
            user.can(Permission.FOLLOW_UP_WRITE) and user.id == self.administrator_id))


class AgreementStatusChange(Base):
    """Each status change appends a row: from, to, who, when, why."""

    __tablename__ = "agreement_status_changes"
    __audit_parent__ = "agreement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False, index=True)
    from_status: Mapped[AgreementState | None] = mapped_column(State(AgreementState, 20))
    to_status: Mapped[AgreementState] = mapped_column(State(AgreementState, 20), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (known_states(AgreementState, "from_status"), known_states(AgreementState, "to_status"))


class AgreementCounter(Base):
    """Per-year sequence for agreement numbers; locked while a number is taken (no gaps)."""

    __tablename__ = "agreement_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (CheckConstraint("last_sequence >= 0", name="not_negative"),)
