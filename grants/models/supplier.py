"""Suppliers (proveedores) proposed by the NGO for an agreement, and the debarment list."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.supplier import SupplierAction, SupplierState
from grants.workflows.supplier import allowed_actions as supplier_actions



class Supplier(TimestampMixin, Base):
    """One version of a supplier on an agreement; a bank-account change makes a new version."""

    __tablename__ = "suppliers"
    __audit_type__ = "supplier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    tax_id: Mapped[str] = mapped_column(String(17), nullable=False)
    tax_id_type: Mapped[str] = mapped_column(String(3), nullable=False)
    nrc: Mapped[str | None] = mapped_column(String(8))
    legal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(8))
    bank_name: Mapped[str] = mapped_column(String(120), nullable=False)
    bank_account: Mapped[str] = mapped_column(String(34), nullable=False)
    status: Mapped[SupplierState] = mapped_column(State(SupplierState, 12), nullable=False,
                                                   default=SupplierState.PROPOSED)
    # Automatic checks, each by name: {"identity": {"ok": true}, "conflict_of_interest": {"ok": false, "detail": …}}
    checks: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agreement: Mapped[Agreement] = relationship()
    items: Mapped[list[SupplierItem]] = relationship(
        back_populates="supplier", order_by="SupplierItem.id", cascade="all, delete-orphan")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        known_states(SupplierState),
        CheckConstraint("tax_id_type IN ('nit', 'dui')", name="tax_id_type_known"),
        CheckConstraint("status != 'rejected' OR decision_reason IS NOT NULL", name="rejection_has_reason"),
        CheckConstraint("version > 0", name="version_positive"),
        Index("ix_suppliers_current_tax_id", "agreement_id", "tax_id", unique=True,
              sqlite_where=text("status != 'superseded'"), postgresql_where=text("status != 'superseded'")),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    # --- who may act now: one rule for the service (which refuses) and the page (which offers) ---
    def refusal_for(self, user, action: SupplierAction) -> str | None:
        """Why ``user`` may not validate or reject this supplier now, as a code — ``forbidden`` (not
        the financial review; superseding is done by changing the supplier, never asked for),
        ``own_organization`` (a user of the NGO), ``segregation_of_duties`` (who proposed it),
        ``invalid_transition`` (not proposed) — or None."""
        action = SupplierAction(action)
        if user is None or action == SupplierAction.SUPERSEDE or not user.can(Permission.SUPPLIERS_VALIDATE):
            return "forbidden"
        if not user.reviews(self.organization_id):
            return "own_organization"
        if self.proposed_by_id is not None and user.id == self.proposed_by_id:
            return "segregation_of_duties"
        if action not in supplier_actions(self.status):
            return "invalid_transition"
        return None

    def can(self, user, action: SupplierAction) -> bool:
        return self.refusal_for(user, action) is None

    @property
    def is_payable(self) -> bool:
        return self.status == SupplierState.VALIDATED


class SupplierItem(Base):
    """A good or service the supplier will provide, with its unit price."""

    __tablename__ = "supplier_items"
    __audit_parent__ = "supplier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    unit: Mapped[str] = mapped_column(String(40), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)

    supplier: Mapped[Supplier] = relationship(back_populates="items")

    __table_args__ = (CheckConstraint("unit_price > 0", name="unit_price_positive"),)


class DebarredSupplier(Base):
    """A NIT or DUI barred from contracting (imported by admins)."""

    __tablename__ = "debarred_suppliers"
    __audit_type__ = "debarred_supplier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tax_id: Mapped[str] = mapped_column(String(17), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    listed_on: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str | None] = mapped_column(String(200))
