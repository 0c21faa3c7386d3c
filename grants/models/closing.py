"""Closing: the final liquidation of an agreement and the yearly report to the legislature."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, UTCDateTime, utcnow
from grants.models.user import User

VERDICTS = ("cumple", "cumple_parcialmente", "no_cumple")


class FinalLiquidation(Base):
    """Liquidación final: the figures as they stood (ledger), beneficiaries, indicators, findings,
    and the reviewer's verdict with its reasoning."""

    __tablename__ = "final_liquidations"
    __audit_type__ = "final_liquidation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    assigned: Mapped[Decimal] = mapped_column(Money, nullable=False)
    paid_directly: Mapped[Decimal] = mapped_column(Money, nullable=False)
    advanced: Mapped[Decimal] = mapped_column(Money, nullable=False)
    liquidated: Mapped[Decimal] = mapped_column(Money, nullable=False)
    refunded: Mapped[Decimal] = mapped_column(Money, nullable=False)
    unspent: Mapped[Decimal] = mapped_column(Money, nullable=False)
    beneficiaries_target: Mapped[int] = mapped_column(Integer, nullable=False)
    beneficiaries_validated: Mapped[int] = mapped_column(Integer, nullable=False)
    beneficiaries_reached: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"name", "unit", "baseline", "target", "achieved"}] (strings for amounts)
    indicators: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # {"total", "confirmed", "justified", "by_rule": {code: n}}
    findings: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    verdict: Mapped[str] = mapped_column(String(20), nullable=False)
    reasoning: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    decided_by: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("verdict IN ('cumple', 'cumple_parcialmente', 'no_cumple')", name="verdict_known"),
        CheckConstraint("length(reasoning) > 0", name="reasoned"),
        CheckConstraint("assigned > 0 AND paid_directly >= 0 AND advanced >= 0 AND liquidated >= 0 "
                        "AND refunded >= 0", name="amounts_not_negative"),
        # Every advance is accounted for, and what was not executed is what is left.
        CheckConstraint("advanced = ROUND(liquidated + refunded, 2)", name="advances_accounted"),
        CheckConstraint("unspent = ROUND(assigned - paid_directly - liquidated, 2)", name="unspent_adds_up"),
        CheckConstraint("beneficiaries_target >= 0 AND beneficiaries_validated >= 0 AND beneficiaries_reached >= 0",
                        name="counts_not_negative"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id


class LegislatureReport(Base):
    """A fiscal year's report to the Legislative Assembly: its files (by SHA-256) and when it was sent."""

    __tablename__ = "legislature_reports"
    __audit_type__ = "legislature_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="generated")
    agreements: Mapped[int] = mapped_column(Integer, nullable=False)
    totals: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    xlsx_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    json_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('generated', 'sent')", name="status_known"),
        CheckConstraint("status != 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        Index("ix_legislature_reports_sent_year", "fiscal_year", unique=True,
              sqlite_where=text("status = 'sent'"), postgresql_where=text("status = 'sent'")),
    )
