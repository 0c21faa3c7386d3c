"""Closing: the final liquidation of an agreement (revisions and the three disciplines' sign-offs)
and the yearly report to the legislature."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, Money, State, UTCDateTime, known_states, utcnow
from grants.models.user import User
from grants.workflows.assembly_report import ReportState
from grants.workflows.final_liquidation import FINAL, LiquidationState, SignOffDecision
from grants.workflows.plan import Discipline

VERDICTS = ("cumple", "cumple_parcialmente", "no_cumple")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class FinalLiquidation(Base):
    """One revision of an agreement's final liquidation (liquidación final): the figures as they
    stood when the administrator prepared it (ledger), beneficiaries, indicators, findings, and
    the proposed verdict with its reasoning.

    Revisions are append-only: the content of a row never changes; only its ``status`` moves
    (``proposed → approved | returned``, ``grants.workflows.final_liquidation``) and ``closed_at``
    records when. A revision sent back stays ``returned`` and the administrator prepares the next
    one; at most one revision of an agreement is not ``returned`` (a partial unique index).
    ``recorded`` rows were recorded by the administrator alone before the three sign-offs were
    required (migration 0010)."""

    __tablename__ = "final_liquidations"
    __audit_type__ = "final_liquidation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[LiquidationState] = mapped_column(State(LiquidationState, 10), nullable=False,
                                                      default=LiquidationState.PROPOSED)
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
    # {"total", "open", "justified", "confirmed", "resolved", "by_rule": {code: n}}
    findings: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    verdict: Mapped[str] = mapped_column(String(20), nullable=False)
    reasoning: Mapped[str] = mapped_column(Text, nullable=False)
    prepared_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # when the revision was approved (third approval) or sent back; NULL while proposed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agreement: Mapped[Agreement] = relationship()
    prepared_by: Mapped[User] = relationship()
    signoffs: Mapped[list[FinalLiquidationSignOff]] = relationship(
        back_populates="liquidation", order_by="FinalLiquidationSignOff.id",
        foreign_keys="FinalLiquidationSignOff.final_liquidation_id",
        primaryjoin="FinalLiquidation.id == FinalLiquidationSignOff.final_liquidation_id")

    __table_args__ = (
        UniqueConstraint("agreement_id", "revision"),
        # the target of the sign-offs' foreign key: a sign-off names its revision's agreement and preparer
        UniqueConstraint("id", "agreement_id", "prepared_by_id"),
        Index("ix_final_liquidations_live", "agreement_id", unique=True,
              sqlite_where=text("status != 'returned'"), postgresql_where=text("status != 'returned'")),
        known_states(LiquidationState),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("(status = 'proposed') = (closed_at IS NULL)", name="closed_unless_proposed"),
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

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def decisions(self) -> dict[Discipline, SignOffDecision]:
        return {Discipline(s.discipline): SignOffDecision(s.decision) for s in self.signoffs}

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id


class FinalLiquidationSigner(Base):
    """Who signs for which discipline on an agreement's final liquidation, across all its
    revisions: the primary key (agreement, person) is «one person, one discipline» in the
    database. Written at a person's first sign-off (on ``first_liquidation_id``)."""

    __tablename__ = "final_liquidation_signers"
    __audit_parent__ = "first_liquidation"

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    discipline: Mapped[str] = mapped_column(String(20), nullable=False)
    first_liquidation_id: Mapped[int] = mapped_column(
        ForeignKey("final_liquidations.id", name="fk_final_liquidation_signers_first_liquidation"), nullable=False)

    first_liquidation: Mapped[FinalLiquidation] = relationship()

    __table_args__ = (
        # the target of the sign-offs' foreign key
        UniqueConstraint("agreement_id", "user_id", "discipline"),
        CheckConstraint(f"discipline IN ({_in(Discipline)})", name="discipline_known"),
    )


class FinalLiquidationSignOff(Base):
    """One discipline's sign-off on one revision: approve, or send back with observations.

    In the database: one sign-off per discipline and per person on a revision (UNIQUE); the
    revision's agreement and preparer are copied through a composite foreign key, so the CHECK
    ``reviewer_id != preparer_id`` refuses the administrator who prepared it; and the signer
    row (agreement, person, discipline) keeps a person on one discipline across revisions."""

    __tablename__ = "final_liquidation_signoffs"
    __audit_parent__ = "liquidation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # (final_liquidation_id, agreement_id, preparer_id) references the revision: see __table_args__
    final_liquidation_id: Mapped[int] = mapped_column(Integer, nullable=False)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    preparer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    discipline: Mapped[str] = mapped_column(String(20), nullable=False)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    decision: Mapped[str] = mapped_column(String(10), nullable=False)
    observations: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    liquidation: Mapped[FinalLiquidation] = relationship(
        back_populates="signoffs", foreign_keys=[final_liquidation_id],
        primaryjoin="FinalLiquidation.id == FinalLiquidationSignOff.final_liquidation_id")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        UniqueConstraint("final_liquidation_id", "discipline"),
        UniqueConstraint("final_liquidation_id", "reviewer_id"),
        ForeignKeyConstraint(["final_liquidation_id", "agreement_id", "preparer_id"],
                             ["final_liquidations.id", "final_liquidations.agreement_id",
                              "final_liquidations.prepared_by_id"],
                             name="fk_final_liquidation_signoffs_revision"),
        ForeignKeyConstraint(["agreement_id", "reviewer_id", "discipline"],
                             ["final_liquidation_signers.agreement_id", "final_liquidation_signers.user_id",
                              "final_liquidation_signers.discipline"],
                             name="fk_final_liquidation_signoffs_signer"),
        CheckConstraint(f"discipline IN ({_in(Discipline)})", name="discipline_known"),
        CheckConstraint(f"decision IN ({_in(SignOffDecision)})", name="decision_known"),
        CheckConstraint("decision != 'send_back' OR (observations IS NOT NULL AND length(observations) > 0)",
                        name="send_back_observed"),
        CheckConstraint("reviewer_id != preparer_id", name="not_the_preparer"),
    )


class LegislatureReport(Base):
    """A fiscal year's report to the Legislative Assembly: its files (by SHA-256) and when it was sent."""

    __tablename__ = "legislature_reports"
    __audit_type__ = "legislature_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[ReportState] = mapped_column(State(ReportState, 10), nullable=False, default=ReportState.GENERATED)
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
        known_states(ReportState),
        CheckConstraint("status != 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        Index("ix_legislature_reports_sent_year", "fiscal_year", unique=True,
              sqlite_where=text("status = 'sent'"), postgresql_where=text("status = 'sent'")),
    )
