"""Direct payments (pagos directos) to suppliers: payable amount, deductions, authorizations."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.beneficiary import Enrollment
from grants.models.invoice import Invoice, InvoiceLine
from grants.models.supplier import Supplier
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.payment import PaymentAction, PaymentState, allowed_actions

# Who may take each action on a payment (treasury; see refusal_for for the rest of the rule).
ACTION_PERMISSIONS = {
    PaymentAction.AUTHORIZE: Permission.PAYMENTS_AUTHORIZE,
    PaymentAction.EXECUTE: Permission.PAYMENTS_EXECUTE,
    PaymentAction.CANCEL: Permission.PAYMENTS_PREPARE,
}



class Payment(TimestampMixin, Base):
    __tablename__ = "payments"
    __audit_type__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), nullable=False)
    status: Mapped[PaymentState] = mapped_column(State(PaymentState, 12), nullable=False, default=PaymentState.PREPARED)
    invoiced_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    deducted_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # payable: invoiced − deducted
    required_authorizations: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    prepared_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bank_reference: Mapped[str | None] = mapped_column(String(60))
    transfer_date: Mapped[date | None] = mapped_column(Date)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    agreement: Mapped[Agreement] = relationship()
    invoice: Mapped[Invoice] = relationship()
    supplier: Mapped[Supplier] = relationship(viewonly=True)  # the validated version paid (read side only)
    prepared_by: Mapped[User] = relationship(foreign_keys=[prepared_by_id])
    executed_by: Mapped[User | None] = relationship(foreign_keys=[executed_by_id])
    lines: Mapped[list[PaymentLine]] = relationship(
        back_populates="payment", order_by="PaymentLine.id", cascade="all, delete-orphan")
    deductions: Mapped[list[PaymentDeduction]] = relationship(
        back_populates="payment", order_by="PaymentDeduction.id", cascade="all, delete-orphan")
    authorizations: Mapped[list[PaymentAuthorization]] = relationship(
        back_populates="payment", order_by="PaymentAuthorization.at", cascade="all, delete-orphan")

    __table_args__ = (
        known_states(PaymentState),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("deducted_amount >= 0", name="deducted_not_negative"),
        CheckConstraint("invoiced_amount = ROUND(amount + deducted_amount, 2)", name="amount_adds_up"),
        CheckConstraint("required_authorizations IN (1, 2)", name="authorizations_known"),
        CheckConstraint("status != 'executed' OR (bank_reference IS NOT NULL AND transfer_date IS NOT NULL "
                        "AND executed_by_id IS NOT NULL)", name="executed_has_transfer"),
        CheckConstraint("status != 'cancelled' OR cancel_reason IS NOT NULL", name="cancelled_has_reason"),
        CheckConstraint("status NOT IN ('authorized', 'executed') OR authorized_at IS NOT NULL",
                        name="authorized_has_time"),
        # G1: at most one live payment per invoice (a cancelled one may be prepared again).
        Index("ix_payments_live_invoice", "invoice_id", unique=True,
              sqlite_where=text("status != 'cancelled'"), postgresql_where=text("status != 'cancelled'")),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    # --- who may act now: one rule for the service (which refuses), the API and the pages (which offer) ---
    def refusal_for(self, user, action: PaymentAction) -> str | None:
        """Why ``user`` may not take ``action`` on this payment now, as a code — ``forbidden`` (not
        their role), ``invalid_transition`` (not from this state), ``segregation_of_duties`` (the
        preparer authorizing), ``already_authorized`` (a second signature by the same person) — or
        None. What it cannot know here (the agreement's state, eligibility changed since the
        preparation, the supplier still validated) the service checks when it acts."""
        if user is None or not user.can(ACTION_PERMISSIONS[PaymentAction(action)]):
            return "forbidden"
        if action not in allowed_actions(self.status):
            return "invalid_transition"
        if action == PaymentAction.AUTHORIZE:
            if user.id == self.prepared_by_id:
                return "segregation_of_duties"
            if any(a.user_id == user.id for a in self.authorizations):
                return "already_authorized"
        return None

    def can(self, user, action: PaymentAction) -> bool:
        return self.refusal_for(user, action) is None

    def actions_for(self, user) -> list[PaymentAction]:
        """What ``user`` may do with this payment now (the API's ``actions``, the page's buttons)."""
        return [action for action in PaymentAction if self.can(user, action)]


class PaymentLine(Base):
    """What the payment takes from one invoice line (and so from its budget line)."""

    __tablename__ = "payment_lines"
    __audit_parent__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"), nullable=False)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("plan_budget_lines.id"), nullable=False)
    invoiced: Mapped[Decimal] = mapped_column(Money, nullable=False)
    deducted: Mapped[Decimal] = mapped_column(Money, nullable=False)
    payable: Mapped[Decimal] = mapped_column(Money, nullable=False)

    payment: Mapped[Payment] = relationship(back_populates="lines")
    invoice_line: Mapped[InvoiceLine] = relationship()

    __table_args__ = (
        CheckConstraint("payable >= 0 AND deducted >= 0", name="not_negative"),
        CheckConstraint("invoiced = ROUND(payable + deducted, 2)", name="adds_up"),
    )


class PaymentDeduction(Base):
    """Units not paid, each with its reason (a beneficiary not active in the service period …)."""

    __tablename__ = "payment_deductions"
    __audit_parent__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"), nullable=False)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    units: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reason_code: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)

    payment: Mapped[Payment] = relationship(back_populates="deductions")
    invoice_line: Mapped[InvoiceLine] = relationship()
    enrollment: Mapped[Enrollment | None] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint("units > 0", name="units_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class PaymentAuthorization(Base):
    """One person's authorization. The preparer is copied so the database itself refuses G4."""

    __tablename__ = "payment_authorizations"
    __audit_parent__ = "payment"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    preparer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="authorizations")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (CheckConstraint("user_id != preparer_id", name="not_the_preparer"),)
