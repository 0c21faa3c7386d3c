"""Running balances of an agreement and of each of its budget lines, guarded by CHECKs.

Every money change updates these rows with a conditional ``UPDATE … WHERE <room>``, so two
concurrent transactions can never together pass a limit: the row lock of the first UPDATE makes
the second wait and then re-check against the new totals (and the CHECK refuses what slips past).
``grants.services.ledger.check_invariants`` recomputes every column from the payments, advances,
receipts and refunds and reports any difference.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grants.models.base import Base, Money
from grants.money import ZERO



class AgreementBalance(Base):
    """Agreement-level money: the ceiling on transfers (DESIGN.md §3 money invariants, G2)."""

    __tablename__ = "agreement_balances"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), primary_key=True, autoincrement=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # Payments prepared or authorized, and advances approved or prepared: reserved, not yet transferred.
    committed: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)
    paid: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)        # direct payments executed
    advanced: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)    # advances disbursed
    refunded: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)    # refunds confirmed by treasury
    # Refunds the NGO declared and treasury has not confirmed or rejected yet: shown, never counted.
    refunds_declared: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO, server_default="0")
    # Fines of sanctions in effect, fine deposits declared and not yet confirmed, and what was collected
    # (confirmed deposits and amounts withheld from advances). Never part of the transfers above.
    fines_assessed: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO, server_default="0")
    fines_declared: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO, server_default="0")
    fines_collected: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO, server_default="0")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("committed >= 0 AND paid >= 0 AND advanced >= 0 AND refunded >= 0", name="not_negative"),
        CheckConstraint("refunds_declared >= 0", name="declared_not_negative"),
        CheckConstraint("fines_declared >= 0 AND fines_collected >= 0 AND "
                        "ROUND(fines_collected + fines_declared, 2) <= fines_assessed", name="fines_within_assessed"),
        CheckConstraint("refunded <= advanced", name="refunds_within_advances"),
        CheckConstraint("ROUND(committed + paid + advanced - refunded, 2) <= amount", name="within_agreement"),
    )

    @property
    def transferred(self) -> Decimal:
        return self.paid + self.advanced - self.refunded

    @property
    def available(self) -> Decimal:
        return self.amount - self.committed - self.transferred


class BudgetLineBalance(Base):
    """One budget line of the agreement's plan version: spending never passes the approved amount."""

    __tablename__ = "budget_line_balances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("plan_budget_lines.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    approved: Mapped[Decimal] = mapped_column(Money, nullable=False)
    committed: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)   # payments not yet executed
    paid: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)        # payments executed
    liquidated: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)  # accepted receipts

    __table_args__ = (
        UniqueConstraint("agreement_id", "budget_line_id"),
        UniqueConstraint("agreement_id", "number"),
        CheckConstraint("approved > 0", name="approved_positive"),
        CheckConstraint("committed >= 0 AND paid >= 0 AND liquidated >= 0", name="not_negative"),
        CheckConstraint("ROUND(committed + paid + liquidated, 2) <= approved", name="within_line"),
    )

    @property
    def spent(self) -> Decimal:
        return self.paid + self.liquidated

    @property
    def available(self) -> Decimal:
        return self.approved - self.committed - self.spent
