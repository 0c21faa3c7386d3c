"""Payment batches (lotes de pago): authorized payments and prepared advances grouped for one of
the ministry's bank accounts and one execution date, sent to the bank as an ISO 20022 pain.001
file. The creditor's name, account and bank are copied into each item when the batch is made, so
the file says what treasury saw. A payment (or advance) is in at most one live batch: a partial
UNIQUE index on the items still held (``live``) says so in the database itself."""
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
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, Money, State, TimestampMixin, UTCDateTime, known_states
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.payment_batch import (
    LIVE_STATES,
    PaymentBatchAction,
    PaymentBatchItemKind,
    PaymentBatchState,
    allowed_actions,
)

NUMBER_PREFIX = "FONDOS-LOTE-"


def batch_number(batch_id: int) -> str:
    """The batch's message id in its file (GrpHdr/MsgId): ``FONDOS-LOTE-000012``."""
    return f"{NUMBER_PREFIX}{batch_id:06d}"


class PaymentBatch(TimestampMixin, Base):
    __tablename__ = "payment_batches"
    __audit_type__ = "payment_batch"
    __audit_exclude__ = frozenset({"file_bytes"})  # its SHA-256 is audited

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(35), unique=True)  # set once the id is known
    debtor_account_id: Mapped[str] = mapped_column(String(40), nullable=False)
    # The debtor account as configured when the batch was made (the configuration may change later).
    debtor_name: Mapped[str] = mapped_column(String(140), nullable=False)
    debtor_account: Mapped[str] = mapped_column(String(34), nullable=False)
    debtor_bank: Mapped[str] = mapped_column(String(140), nullable=False)
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    execution_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[PaymentBatchState] = mapped_column(State(PaymentBatchState, 12), nullable=False,
                                                      default=PaymentBatchState.OPEN)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    control_sum: Mapped[Decimal] = mapped_column(Money, nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    items: Mapped[list[PaymentBatchItem]] = relationship(
        back_populates="batch", order_by="PaymentBatchItem.id", cascade="all, delete-orphan")

    __table_args__ = (
        known_states(PaymentBatchState),
        CheckConstraint("item_count > 0", name="not_empty"),
        CheckConstraint("control_sum > 0", name="control_sum_positive"),
        CheckConstraint("status != 'issued' OR (file_sha256 IS NOT NULL AND file_bytes IS NOT NULL "
                        "AND issued_at IS NOT NULL AND issued_by_id IS NOT NULL)", name="issued_has_file"),
        CheckConstraint("status != 'cancelled' OR (cancel_reason IS NOT NULL AND cancelled_by_id IS NOT NULL "
                        "AND cancelled_at IS NOT NULL)", name="cancelled_has_reason"),
        CheckConstraint("(file_sha256 IS NULL) = (file_bytes IS NULL)", name="file_and_hash_together"),
    )

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES

    def refusal_for(self, user, action: PaymentBatchAction) -> str | None:
        """``forbidden`` (not treasury), ``invalid_transition`` (not from this state) or None."""
        if user is None or not user.can(Permission.PAYMENTS_EXECUTE):
            return "forbidden"
        if PaymentBatchAction(action) not in allowed_actions(self.status):
            return "invalid_transition"
        return None

    def can(self, user, action: PaymentBatchAction) -> bool:
        return self.refusal_for(user, action) is None

    def can_download(self, user) -> bool:
        """The file: made (and the batch issued) at the first download; the same bytes afterwards."""
        return (user is not None and user.can(Permission.PAYMENTS_EXECUTE)
                and self.status in (PaymentBatchState.OPEN, PaymentBatchState.ISSUED))


class PaymentBatchItem(Base):
    """One credit transfer of a batch: a payment to a supplier or an advance to an NGO."""

    __tablename__ = "payment_batch_items"
    __audit_parent__ = "batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    kind: Mapped[PaymentBatchItemKind] = mapped_column(State(PaymentBatchItemKind, 8), nullable=False)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    advance_id: Mapped[int | None] = mapped_column(ForeignKey("advances.id"))
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    end_to_end_id: Mapped[str] = mapped_column(String(35), nullable=False)
    creditor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    creditor_account: Mapped[str] = mapped_column(String(34), nullable=False)
    creditor_bank: Mapped[str] = mapped_column(String(120), nullable=False)
    remittance: Mapped[str] = mapped_column(String(140), nullable=False)
    # Held by a live batch: false once the batch is cancelled (the payment may go in another batch).
    live: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    batch: Mapped[PaymentBatch] = relationship(back_populates="items")

    __table_args__ = (
        known_states(PaymentBatchItemKind, "kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("(kind = 'payment' AND payment_id IS NOT NULL AND advance_id IS NULL) OR "
                        "(kind = 'advance' AND advance_id IS NOT NULL AND payment_id IS NULL)",
                        name="exactly_one_source"),
        # A payment (an advance) is in at most one live batch.
        Index("ix_payment_batch_items_live_payment", "payment_id", unique=True,
              sqlite_where=text("live"), postgresql_where=text("live")),
        Index("ix_payment_batch_items_live_advance", "advance_id", unique=True,
              sqlite_where=text("live"), postgresql_where=text("live")),
    )
