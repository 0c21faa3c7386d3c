"""Bank statements (extractos bancarios) uploaded by treasury — ISO 20022 camt.053.001.08 or the
documented CSV — and their lines, each matched to what it pays or collects, or left unmatched with
its reason (grants/services/bank_statements.py).

The database keeps the rules it can: a file is uploaded once (its SHA-256 is UNIQUE; a statement id
once per account), a line matches at most one record and only when it is matched, and a payment, a
disbursement, a refund or a fine deposit is matched by at most one line (partial UNIQUE indexes).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, Money, State, UTCDateTime, known_states, utcnow
from grants.workflows.bank_statement import LineState

FORMATS = ("camt053", "csv")
DIRECTIONS = ("debit", "credit")
MATCH_METHODS = ("e2e", "amount_reference", "manual")
TARGETS = ("payment_id", "advance_id", "refund_id", "fine_payment_id")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_TARGET_COUNT = " + ".join(f"(CASE WHEN {t} IS NULL THEN 0 ELSE 1 END)" for t in TARGETS)


class BankStatement(Base):
    __tablename__ = "bank_statements"
    __audit_type__ = "bank_statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(34), nullable=False)
    statement_ref: Mapped[str] = mapped_column(String(35), nullable=False)  # Stmt/Id, or the CSV's name
    message_id: Mapped[str | None] = mapped_column(String(35))  # GrpHdr/MsgId
    format: Mapped[str] = mapped_column(String(10), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at_bank: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    opening_balance: Mapped[Decimal | None] = mapped_column(Money)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money)
    total_debits: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total_credits: Mapped[Decimal] = mapped_column(Money, nullable=False)
    line_count: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    lines: Mapped[list[BankStatementLine]] = relationship(
        back_populates="statement", order_by="BankStatementLine.line_number", cascade="all, delete-orphan")
    uploaded_by = relationship("User")

    __table_args__ = (
        UniqueConstraint("sha256"),
        UniqueConstraint("account", "statement_ref"),
        CheckConstraint(_in("format", FORMATS), name="format_known"),
        CheckConstraint("total_debits >= 0 AND total_credits >= 0 AND line_count >= 0", name="totals_not_negative"),
        CheckConstraint("period_end IS NULL OR period_start IS NULL OR period_end >= period_start",
                        name="period_ordered"),
        Index("ix_bank_statements_uploaded_at", "uploaded_at"),
    )


class BankStatementLine(Base):
    __tablename__ = "bank_statement_lines"
    __audit_parent__ = "statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), nullable=False)
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    booking_date: Mapped[date] = mapped_column(Date, nullable=False)
    value_date: Mapped[date | None] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(6), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    bank_reference: Mapped[str | None] = mapped_column(String(60))  # AcctSvcrRef, or the CSV's column
    remittance: Mapped[str | None] = mapped_column(Text)
    counterparty: Mapped[str | None] = mapped_column(String(140))
    status: Mapped[LineState] = mapped_column(State(LineState, 10), nullable=False, default=LineState.UNMATCHED)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    advance_id: Mapped[int | None] = mapped_column(ForeignKey("advances.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    fine_payment_id: Mapped[int | None] = mapped_column(ForeignKey("fine_payments.id"))
    match_method: Mapped[str | None] = mapped_column(String(20))
    manual_reason: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    statement: Mapped[BankStatement] = relationship(back_populates="lines")
    payment = relationship("Payment")
    advance = relationship("Advance")
    refund = relationship("Refund")
    fine_payment = relationship("FinePayment")
    resolved_by = relationship("User")

    __table_args__ = (
        UniqueConstraint("statement_id", "line_number"),
        known_states(LineState),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction_known"),
        CheckConstraint("match_method IS NULL OR " + _in("match_method", MATCH_METHODS), name="method_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(f"{_TARGET_COUNT} <= 1", name="one_target"),
        CheckConstraint(f"status = 'matched' OR ({_TARGET_COUNT} = 0 AND match_method IS NULL)",
                        name="target_only_when_matched"),
        CheckConstraint(f"status != 'matched' OR ({_TARGET_COUNT} = 1 AND match_method IS NOT NULL)",
                        name="matched_has_target"),
        CheckConstraint("status != 'unmatched' OR (reason_code IS NOT NULL AND reason IS NOT NULL)",
                        name="unmatched_has_reason"),
        CheckConstraint("status != 'ignored' OR length(manual_reason) > 0", name="ignored_has_reason"),
        CheckConstraint("match_method != 'manual' OR length(manual_reason) > 0", name="manual_has_reason"),
        CheckConstraint("(status != 'ignored' AND (match_method IS NULL OR match_method != 'manual')) "
                        "= (resolved_by_id IS NULL AND resolved_at IS NULL)", name="resolution_recorded"),
        Index("ix_bank_statement_lines_booking_date", "booking_date"),
        *(Index(f"ix_bank_statement_lines_one_{t}", t, unique=True, sqlite_where=text(f"{t} IS NOT NULL"),
                postgresql_where=text(f"{t} IS NOT NULL")) for t in TARGETS),
    )

    @property
    def target(self):
        """What the line matched (a Payment, Advance, Refund or FinePayment), or None."""
        return self.payment or self.advance or self.refund or self.fine_payment
