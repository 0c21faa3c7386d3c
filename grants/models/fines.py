"""How a fine (a sanction of an incident) is collected: a bank deposit the NGO declares and treasury
confirms against the bank, or an amount withheld from a later advance of the agreement with the
NGO's written acceptance. The agreement's ledger keeps fines assessed, declared and collected."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.advance import deposit_checks
from grants.models.base import Base, Money, State, UTCDateTime, utcnow
from grants.models.followup import Incident
from grants.models.user import User
from grants.workflows.deposit import DepositState


class FinePayment(Base):
    __tablename__ = "fine_payments"
    __audit_parent__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False, index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)  # deposit | deduction
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    bank_name: Mapped[str | None] = mapped_column(String(120))
    bank_reference: Mapped[str | None] = mapped_column(String(60))
    deposited_on: Mapped[date | None] = mapped_column(Date)
    advance_id: Mapped[int | None] = mapped_column(ForeignKey("advances.id"))  # the advance it was withheld from
    status: Mapped[DepositState] = mapped_column(State(DepositState, 10), nullable=False, default=DepositState.DECLARED)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        *deposit_checks(),
        CheckConstraint("method IN ('deposit', 'deduction')", name="method_known"),
        CheckConstraint("method != 'deposit' OR (bank_reference IS NOT NULL AND deposited_on IS NOT NULL)",
                        name="deposit_has_bank_data"),
        # A deduction is withheld by treasury from a transfer it makes: nothing to confirm.
        CheckConstraint("method != 'deduction' OR (advance_id IS NOT NULL AND status = 'confirmed')",
                        name="deduction_from_an_advance"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id != recorded_by_id OR method = 'deduction'",
                        name="confirmer_not_declarer"),
        Index("ix_fine_payments_live_reference", "incident_id", "bank_reference", unique=True,
              sqlite_where=text("status != 'rejected' AND method = 'deposit'"),
              postgresql_where=text("status != 'rejected' AND method = 'deposit'")),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id
