"""Advances (anticipos) per tranche, their expense statements (liquidaciones) with receipt lines,
and refunds (reintegros) of what was not spent."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.plan import PlanBudgetLine, PlanTranche
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.advance import AdvanceAction, AdvanceState, ReceiptState, StatementState
from grants.workflows.advance import allowed_actions as advance_actions
from grants.workflows.deposit import DepositState
from grants.money import ZERO



class Advance(TimestampMixin, Base):
    __tablename__ = "advances"
    __audit_type__ = "advance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    tranche_id: Mapped[int] = mapped_column(ForeignKey("plan_tranches.id"), nullable=False)
    tranche_number: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    status: Mapped[AdvanceState] = mapped_column(State(AdvanceState, 12), nullable=False, default=AdvanceState.REQUESTED)
    # Receipts must be dated inside the period; the statement is due by liquidation_due.
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    liquidation_due: Mapped[date] = mapped_column(Date, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disbursed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disbursed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bank_reference: Mapped[str | None] = mapped_column(String(60))
    transfer_date: Mapped[date | None] = mapped_column(Date)
    liquidated_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)  # accepted receipts
    refunded_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)
    liquidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of the requested amount treasury kept to collect fines the NGO accepted to have deducted:
    # ``amount`` is what was transferred (and is liquidated); amount + fine_withheld was requested.
    fine_withheld: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO, server_default="0")

    agreement: Mapped[Agreement] = relationship()
    tranche: Mapped[PlanTranche] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    statements: Mapped[list[ExpenseStatement]] = relationship(
        back_populates="advance", order_by="ExpenseStatement.number")
    refunds: Mapped[list[Refund]] = relationship(back_populates="advance", order_by="Refund.id")

    __table_args__ = (
        known_states(AdvanceState),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fine_withheld >= 0", name="withheld_not_negative"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("liquidated_amount >= 0 AND refunded_amount >= 0", name="not_negative"),
        # G3: never liquidate (or refund) more than was disbursed.
        CheckConstraint("ROUND(liquidated_amount + refunded_amount, 2) <= amount", name="within_amount"),
        CheckConstraint("(liquidated_amount = 0 AND refunded_amount = 0) OR status IN ('disbursed', 'liquidated')",
                        name="liquidation_after_disbursement"),
        CheckConstraint("status != 'liquidated' OR ROUND(liquidated_amount + refunded_amount, 2) = amount",
                        name="liquidated_is_whole"),
        CheckConstraint("status != 'rejected' OR rejection_reason IS NOT NULL", name="rejected_has_reason"),
        CheckConstraint("status NOT IN ('disbursed', 'liquidated') OR (bank_reference IS NOT NULL "
                        "AND transfer_date IS NOT NULL AND disbursed_by_id IS NOT NULL)", name="disbursed_has_transfer"),
        CheckConstraint("disbursed_by_id IS NULL OR disbursed_by_id != prepared_by_id", name="disburser_not_preparer"),
        # A tranche may be advanced in parts: the service sums its live advances under the tranche's
        # row lock (the sum never passes the tranche). This index finds them.
        Index("ix_advances_live_tranche", "agreement_id", "tranche_id",
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    # --- who may act now: one rule for the service (which refuses) and the page (which offers) ---
    def refusal_for(self, user, action: AdvanceAction) -> str | None:
        """Why ``user`` may not take ``action`` on this advance now, as a code — ``forbidden`` (not
        their role), ``own_organization`` (deciding on their own NGO's advance, G4),
        ``invalid_transition`` (not from this state), ``segregation_of_duties`` (the preparer
        disbursing) — or None. The gate, the ceiling and the agreement's state the service checks
        when it acts."""
        action = AdvanceAction(action)
        if action == AdvanceAction.LIQUIDATE:   # the receipts and refunds liquidate it, never a person
            return "forbidden"
        deciding = action in (AdvanceAction.APPROVE, AdvanceAction.REJECT)
        permission = Permission.ADVANCES_APPROVE if deciding else Permission.ADVANCES_DISBURSE
        if user is None or not user.can(permission):
            return "forbidden"
        if deciding and not user.reviews(self.organization_id):
            return "own_organization"
        if action not in advance_actions(self.status):
            return "invalid_transition"
        if action == AdvanceAction.DISBURSE and user.id == self.prepared_by_id:
            return "segregation_of_duties"
        return None

    def can(self, user, action: AdvanceAction) -> bool:
        return self.refusal_for(user, action) is None

    @property
    def outstanding(self) -> Decimal:
        """Disbursed and not yet accounted for (0 before disbursement)."""
        if self.status not in (AdvanceState.DISBURSED, AdvanceState.LIQUIDATED):
            return ZERO
        return self.amount - self.liquidated_amount - self.refunded_amount

    @property
    def liquidated_share(self) -> Decimal:
        """Percent of the advance accounted for by accepted receipts and refunds."""
        return ((self.liquidated_amount + self.refunded_amount) * 100 / self.amount).quantize(Decimal("0.01"))


class ExpenseStatement(Base):
    """Liquidación de anticipo: receipt lines the NGO presents for one advance."""

    __tablename__ = "expense_statements"
    __audit_parent__ = "advance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advance_id: Mapped[int] = mapped_column(ForeignKey("advances.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[StatementState] = mapped_column(State(StatementState, 12), nullable=False,
                                                  default=StatementState.SUBMITTED)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    source_filename: Mapped[str | None] = mapped_column(String(200))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    advance: Mapped[Advance] = relationship(back_populates="statements")
    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="statement", order_by="Receipt.position", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("advance_id", "number"),
        known_states(StatementState),
        CheckConstraint("total > 0", name="total_positive"),
    )


# Invoices are fiscal documents (factura or crédito fiscal): receipts of those types compare with them.
RECEIPT_KIND_SQL = "CASE WHEN document_type IN ('factura', 'ccf') THEN 'fiscal' ELSE document_type END"
# The same CASE as PostgreSQL prints it back (line breaks included), for the drift test's comparison.
_PG_RECEIPT_KIND = ("(\nCASE\n    WHEN document_type::text = ANY (ARRAY['factura'::character varying, "
                    "'ccf'::character varying]::text[]) THEN 'fiscal'::character varying\n    ELSE document_type\nEND)")


class Receipt(Base):
    """One receipt line; a financial reviewer accepts it or rejects it with a reason."""

    __tablename__ = "expense_receipts"
    __audit_parent__ = "statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("expense_statements.id", ondelete="CASCADE"),
                                              nullable=False)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    document_type: Mapped[str] = mapped_column(String(20), nullable=False)
    document_number: Mapped[str] = mapped_column(String(40), nullable=False)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    supplier_tax_id: Mapped[str] = mapped_column(String(17), nullable=False)
    supplier_name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("plan_budget_lines.id"), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    status: Mapped[ReceiptState] = mapped_column(State(ReceiptState, 10), nullable=False, default=ReceiptState.PENDING)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    statement: Mapped[ExpenseStatement] = relationship(back_populates="receipts")
    budget_line: Mapped[PlanBudgetLine] = relationship()

    def is_visible_to(self, user) -> bool:
        return self.statement.advance.is_visible_to(user)

    __table_args__ = (
        UniqueConstraint("statement_id", "position"),
        # A statement's receipts by date: the receipts dated before their advance's transfer (liquidation
        # check receipt_before_disbursement) are a short range of it per statement.
        Index("ix_expense_receipts_statement_issue", "statement_id", "issue_date"),
        known_states(ReceiptState),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status != 'rejected' OR length(decision_reason) > 0", name="rejected_has_reason"),
        # A supplier's document is used once, in any statement of any agreement (unless rejected).
        Index("ix_expense_receipts_live_document", "supplier_tax_id", "document_type", "document_number",
              unique=True, sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
        # The key under which the liquidation check ``document_reused`` compares documents (supplier,
        # fiscal kind, number trimmed and upper-cased: grants/audit/rules_receipts.py), so that repeated
        # keys are found by one ordered index-only scan instead of normalising and sorting every receipt.
        # The raw columns are included: PostgreSQL scans an expression index index-only only then.
        # The expressions are written as PostgreSQL prints them back (so the drift test compares them);
        # they are RECEIPT_KIND_SQL and upper(trim(document_number)), as migration 0007 creates them.
        Index("ix_expense_receipts_document_key", "supplier_tax_id", text(_PG_RECEIPT_KIND),
              text("upper(TRIM(BOTH FROM document_number))"), postgresql_include=["document_type", "document_number"],
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )




def deposit_checks() -> tuple:
    """CHECKs every declared bank deposit shares (refunds, fine payments)."""
    return (
        CheckConstraint("amount > 0", name="amount_positive"),
        known_states(DepositState),
        # decided_by_id is NULL only for refunds recorded before treasury confirmed them (migration 0008).
        CheckConstraint("status = 'declared' OR decided_at IS NOT NULL", name="decision_recorded"),
        CheckConstraint("status != 'rejected' OR length(rejection_reason) > 0", name="rejected_has_reason"),
    )


class Refund(Base):
    """Reintegro: unspent money the NGO says it paid back (bank, reference, date, deposit slip). It
    counts toward the advance's liquidation only once treasury confirms it against the bank."""

    __tablename__ = "refunds"
    __audit_parent__ = "advance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advance_id: Mapped[int] = mapped_column(ForeignKey("advances.id"), nullable=False, index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    bank_name: Mapped[str | None] = mapped_column(String(120))
    bank_reference: Mapped[str] = mapped_column(String(60), nullable=False)
    refunded_on: Mapped[date] = mapped_column(Date, nullable=False)  # the deposit's date
    status: Mapped[DepositState] = mapped_column(State(DepositState, 10), nullable=False, default=DepositState.DECLARED,
                                        server_default=DepositState.DECLARED.value)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)  # who declared
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    advance: Mapped[Advance] = relationship(back_populates="refunds")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        *deposit_checks(),
        # A bank reference is declared once per advance (a rejected declaration frees it).
        Index("ix_refunds_live_reference", "advance_id", "bank_reference", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id != recorded_by_id", name="confirmer_not_declarer"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.advance.organization_id

    @property
    def counts(self) -> bool:
        """Only a confirmed refund counts toward liquidation and the ledger's refunded figure."""
        return self.status == DepositState.CONFIRMED
