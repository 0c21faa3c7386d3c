"""Allocation (asignación): money the Legislative Assembly assigned to an NGO by decree."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, Money, TimestampMixin
from grants.models.organization import Organization


class Allocation(TimestampMixin, Base):
    __tablename__ = "allocations"
    __audit_type__ = "allocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decree_number: Mapped[str] = mapped_column(String(40), nullable=False)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    budget_line_code: Mapped[str] = mapped_column(String(40), nullable=False)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)

    organization: Mapped[Organization] = relationship(back_populates="allocations")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="fiscal_year_range"),
        UniqueConstraint("fiscal_year", "decree_number", "organization_id", "budget_line_code",
                         name="uq_allocations_decree_line"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id
