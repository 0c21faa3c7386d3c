"""Organization (organización): an NGO that receives allocations."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from grants.models.allocation import Allocation


class Organization(TimestampMixin, Base):
    __tablename__ = "organizations"
    __audit_type__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    nit: Mapped[str] = mapped_column(String(17), nullable=False, unique=True)
    registry_number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    legal_rep_name: Mapped[str] = mapped_column(String(160), nullable=False)
    legal_rep_dui: Mapped[str] = mapped_column(String(10), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    municipality_code: Mapped[str] = mapped_column(String(4), nullable=False)
    bank_name: Mapped[str] = mapped_column(String(120), nullable=False)
    bank_account: Mapped[str] = mapped_column(String(34), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    board_members: Mapped[list[BoardMember]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="BoardMember.position_order",
    )
    phones: Mapped[list[OrganizationPhone]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="OrganizationPhone.id",
    )
    allocations: Mapped[list[Allocation]] = relationship(back_populates="organization")

    __table_args__ = (
        CheckConstraint("length(legal_name) > 0", name="legal_name_not_empty"),
        CheckConstraint("length(municipality_code) = 4", name="municipality_code_len"),
    )

    @property
    def phone_numbers(self) -> list[str]:
        return [p.number for p in self.phones]

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.id


class BoardMember(Base):
    """A member of the NGO's board (junta directiva); used for conflict-of-interest checks."""

    __tablename__ = "board_members"
    __audit_parent__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    dui: Mapped[str] = mapped_column(String(10), nullable=False)
    position: Mapped[str] = mapped_column(String(80), nullable=False)
    position_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    organization: Mapped[Organization] = relationship(back_populates="board_members")

    __table_args__ = (UniqueConstraint("organization_id", "dui"),)


class OrganizationPhone(Base):
    """Phone numbers, stored as 8 digits so they can be compared (conflict-of-interest checks)."""

    __tablename__ = "organization_phones"
    __audit_parent__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[str] = mapped_column(String(8), nullable=False)

    organization: Mapped[Organization] = relationship(back_populates="phones")

    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        CheckConstraint("length(number) = 8", name="number_len"),
    )
