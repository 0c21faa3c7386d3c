"""Supplier invoices (facturas) on an agreement, their lines, the beneficiaries served, and the
administrator's receipt certificate (acta de recepción)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import text

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.beneficiary import Enrollment
from grants.models.plan import PlanBudgetLine
from grants.models.supplier import Supplier
from grants.models.user import User
from grants.permissions import Permission, Role
from grants.workflows.payment import INVOICE_LIFECYCLE, InvoiceAction, InvoiceState



class Invoice(TimestampMixin, Base):
    __tablename__ = "invoices"
    __audit_type__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), nullable=False, index=True)
    # The supplier's NIT/DUI, normalized: an invoice number is unique per supplier across versions.
    supplier_tax_id: Mapped[str] = mapped_column(String(17), nullable=False)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    # Factura anticipada: billed before the service is over. Registered as the document it is, never
    # paid directly (G10: nothing is paid for a day that has not happened).
    advance_invoice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                  server_default=text("false"))
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    status: Mapped[InvoiceState] = mapped_column(State(InvoiceState, 12), nullable=False, default=InvoiceState.REGISTERED)
    void_reason: Mapped[str | None] = mapped_column(Text)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agreement: Mapped[Agreement] = relationship()
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan")
    certificate: Mapped[ReceiptCertificate | None] = relationship(back_populates="invoice", uselist=False)

    __table_args__ = (
        UniqueConstraint("supplier_tax_id", "number"),
        known_states(InvoiceState),
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("status != 'voided' OR void_reason IS NOT NULL", name="voided_has_reason"),
        # The key of the liquidation check ``document_reused`` (grants/audit/rules_receipts.py):
        # upper(trim(number)), written as PostgreSQL prints it back (migration 0007 creates it).
        Index("ix_invoices_document_key", "supplier_tax_id", text("upper(TRIM(BOTH FROM number))"),
              postgresql_include=["number"], sqlite_where=text("status != 'voided'"),
              postgresql_where=text("status != 'voided'")),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    # --- who may act now: one rule for the service (which refuses) and the page (which offers) ---
    def refusal_for(self, user, action: InvoiceAction) -> str | None:
        """Why ``user`` may not take ``action`` on this invoice now — ``forbidden`` (certify: only the
        agreement's administrator; void: the NGO that registered it, or a financial reviewer; pay:
        nobody, a payment's execution does it) or ``invalid_transition`` — or None. A payment in
        progress (void) and the agreement's state the service checks when it acts."""
        action = InvoiceAction(action)
        if user is None or action == InvoiceAction.PAY:
            return "forbidden"
        if action == InvoiceAction.CERTIFY:
            allowed = user.can(Permission.INVOICES_CERTIFY) and user.id == self.agreement.administrator_id
        else:
            allowed = ((user.can(Permission.INVOICES_REGISTER) and user.acts_for(self.organization_id))
                       or (Role.FINANCIAL_REVIEWER in user.roles and user.active))
        if not allowed:
            return "forbidden"
        if action not in INVOICE_LIFECYCLE.allowed_actions(self.status):
            return "invalid_transition"
        return None

    def can(self, user, action: InvoiceAction) -> bool:
        return self.refusal_for(user, action) is None


class InvoiceLine(Base):
    """A line on a budget line. A per-beneficiary line bills one unit per beneficiary it lists."""

    __tablename__ = "invoice_lines"
    __audit_parent__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("plan_budget_lines.id"), nullable=False)
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    per_beneficiary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    budget_line: Mapped[PlanBudgetLine] = relationship()
    beneficiaries: Mapped[list[InvoiceLineBeneficiary]] = relationship(
        back_populates="line", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        # The few per-beneficiary lines among millions (liquidation check of units paid).
        Index("ix_invoice_lines_per_beneficiary", "invoice_id",
              sqlite_where=text("per_beneficiary"), postgresql_where=text("per_beneficiary")),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class InvoiceLineBeneficiary(Base):
    """A beneficiary served by a per-beneficiary line (one unit each)."""

    __tablename__ = "invoice_line_beneficiaries"
    __audit_parent__ = "line"

    line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id", ondelete="CASCADE"), primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), primary_key=True, index=True)

    line: Mapped[InvoiceLine] = relationship(back_populates="beneficiaries")
    enrollment: Mapped[Enrollment] = relationship()


class ReceiptCertificate(Base):
    """Acta de recepción: the agreement's administrator received the goods or services."""

    __tablename__ = "receipt_certificates"
    __audit_parent__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False, unique=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    conforming: Mapped[bool] = mapped_column(Boolean, nullable=False)
    differences: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="certificate")
    issued_by: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("conforming OR length(differences) > 0", name="differences_stated"),
    )
    # The certificate's date is never before the end of the service period (checked by the service,
    # which knows the invoice; a CHECK cannot reach the invoice's row).
