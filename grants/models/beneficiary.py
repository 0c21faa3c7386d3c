"""Beneficiaries, their enrollment in agreements with a status history, and list imports."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.base import Base, State, TimestampMixin, UTCDateTime, known_states, utcnow
from grants.models.user import User
from grants.workflows.enrollment import EnrollmentState
from grants.permissions import Permission
from grants.workflows import import_batch as batch_lifecycle
from grants.workflows.import_batch import BatchAction, BatchKind, BatchState

DOCUMENT_TYPES = ("dui", "partida_nacimiento", "carne_minoridad", "pasaporte", "otro")
ROW_OUTCOMES = ("valid", "warning", "error")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Beneficiary(TimestampMixin, Base):
    """A person, identified by document type and number (the same person across agreements)."""

    __tablename__ = "beneficiaries"
    __audit_type__ = "beneficiary"
    __audit_personal__ = frozenset({"document_number", "birth_date"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20), nullable=False)
    document_number: Mapped[str] = mapped_column(String(30), nullable=False)
    first_names: Mapped[str] = mapped_column(String(120), nullable=False)
    last_names: Mapped[str] = mapped_column(String(120), nullable=False)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    municipality_code: Mapped[str] = mapped_column(String(4), nullable=False)

    __table_args__ = (
        UniqueConstraint("document_type", "document_number"),
        CheckConstraint(f"document_type IN ({_in(DOCUMENT_TYPES)})", name="document_type_known"),
        CheckConstraint("sex IN ('F', 'M')", name="sex_known"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_names}"


# Searching people by the beginning of a name, any case (grants.services.search.matches, prefix):
# lower(...) LIKE 'text%' walks these; text_pattern_ops makes LIKE use them whatever the collation.
for _column in ("last_names", "first_names"):
    _lowered = func.lower(getattr(Beneficiary, _column)).label(f"{_column}_lower")
    Index(f"ix_beneficiaries_{_column}_lower", _lowered, postgresql_ops={f"{_column}_lower": "text_pattern_ops"})


class ImportBatch(TimestampMixin, Base):
    """One uploaded list: its rows are stored whole (status ready) or not at all."""

    __tablename__ = "import_batches"
    __audit_type__ = "import_batch"
    __audit_ignore__ = frozenset({"progress_rows", "progress_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    kind: Mapped[BatchKind] = mapped_column(State(BatchKind, 12), nullable=False, default=BatchKind.ENROLLMENT)
    status: Mapped[BatchState] = mapped_column(State(BatchState, 12), nullable=False, default=BatchState.PROCESSING)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    file_format: Mapped[str] = mapped_column(String(8), nullable=False)
    headers: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # as in the file
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_valid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_warning: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_error: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agreement: Mapped[Agreement] = relationship()
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])

    __table_args__ = (
        known_states(BatchKind, "kind"),
        known_states(BatchState),
        CheckConstraint("rows_valid + rows_warning + rows_error = rows_total OR status IN ('processing', 'failed')",
                        name="counts_add_up"),
        CheckConstraint("status NOT IN ('confirmed', 'validated') OR rows_error = 0 OR rows_valid + rows_warning > 0",
                        name="confirmed_has_rows"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    def rows_readable_by(self, user) -> bool:
        """Who reads the list's rows as typed: the error downloads (errors.csv / errors.xlsx) and the
        full document numbers of its rows, on the web and through the API alike.

        They are the personal data the NGO gave, and the NGO is who corrects the rejected rows and
        uploads them again: its own users read them. Ministry staff (monitoring, who validates the
        confirmed list; audit; the others) read the report without personal data (row, column,
        message, a masked document number) and reveal one person's data with a logged reason
        (``enrollments.reveal_beneficiary``) once enrolled."""
        return user is not None and bool(getattr(user, "active", False)) and user.acts_for(self.organization_id)

    # --- who may act now: one rule for the service (which refuses) and the page (which offers) ---
    def refusal_for(self, user, action: BatchAction) -> str | None:
        """Why ``user`` may not take ``action`` on this list now, as a code — ``forbidden`` (confirm
        and discard: the organization's NGO users; validate: monitoring; finish and fail: only the
        job that reads it), ``own_upload`` (validating what one uploaded or confirmed),
        ``invalid_transition`` (not from this state, or a status list to validate), ``empty`` (no
        valid row to confirm) — or None. The agreement's state the service checks when it acts."""
        action = BatchAction(action)
        if user is None or action in (BatchAction.FINISH, BatchAction.FAIL):
            return "forbidden"
        if action == BatchAction.VALIDATE:
            if not user.can(Permission.BENEFICIARIES_VALIDATE):
                return "forbidden"
            if user.id in (self.uploaded_by_id, self.confirmed_by_id):
                return "own_upload"
            return None if batch_lifecycle.validatable(self.status, self.kind) else "invalid_transition"
        if not user.acts_for(self.organization_id):
            return "forbidden"
        if action not in batch_lifecycle.allowed_actions(self.status):
            return "invalid_transition"
        if action == BatchAction.CONFIRM and self.rows_valid + self.rows_warning == 0:
            return "empty"
        return None

    def can(self, user, action: BatchAction) -> bool:
        return self.refusal_for(user, action) is None


class ImportBatchProgress(Base):
    """Rows read so far by the job processing a batch, written by the job in short transactions of
    its own while its long one is open (PostgreSQL), so every web server and worker sees it.

    A row of its own, not columns of the batch: the import holds the batch row locked until it
    commits (``FOR NO KEY UPDATE``, which lets this row's foreign key through)."""

    __tablename__ = "import_batch_progress"

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True)
    rows_read: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class ImportRow(Base):
    """A row of a batch, normalized, with what the checks found. Written in bulk with the batch.

    The row as the person typed it is not copied here: the error downloads read it again from the
    stored file (personal data is kept once, and the import writes less)."""

    __tablename__ = "import_rows"

    # (batch, row number) is the key: one index, no sequence to draw from for every row.
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(8), nullable=False)
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    document_type: Mapped[str | None] = mapped_column(String(20))
    document_number: Mapped[str | None] = mapped_column(String(30))
    first_names: Mapped[str | None] = mapped_column(String(120))
    last_names: Mapped[str | None] = mapped_column(String(120))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    municipality_code: Mapped[str | None] = mapped_column(String(4))
    enrollment_date: Mapped[date | None] = mapped_column(Date)  # in a status list: the effective date
    status: Mapped[EnrollmentState | None] = mapped_column(State(EnrollmentState, 12))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Set-based cross-checks, filled after all rows are stored (messages are rendered from them):
    duplicate_of_row: Mapped[int | None] = mapped_column(Integer)  # the same person earlier in the file
    existing_enrollment_id: Mapped[int | None] = mapped_column(Integer)  # already enrolled here: update
    double_enrollment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # active elsewhere

    batch: Mapped[ImportBatch] = relationship(viewonly=True)  # the column names of its messages

    __table_args__ = (
        CheckConstraint(f"outcome IN ({_in(ROW_OUTCOMES)})", name="outcome_known"),
        known_states(EnrollmentState),   # a status list's row: the state it asks for (NULL when unreadable)
    )


class Enrollment(TimestampMixin, Base):
    """A beneficiary in an agreement. Its status lives in ``EnrollmentPeriod`` rows."""

    __tablename__ = "enrollments"
    __audit_type__ = "enrollment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), nullable=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), nullable=False, index=True)
    status: Mapped[EnrollmentState] = mapped_column(State(EnrollmentState, 12), nullable=False,
                                                     default=EnrollmentState.PENDING)
    enrolled_on: Mapped[date] = mapped_column(Date, nullable=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    # Active in another agreement when enrolled: kept pending until monitoring decides.
    double_enrollment: Mapped[str | None] = mapped_column(String(10))
    double_enrollment_reason: Mapped[str | None] = mapped_column(Text)
    double_enrollment_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agreement: Mapped[Agreement] = relationship()
    beneficiary: Mapped[Beneficiary] = relationship()
    periods: Mapped[list[EnrollmentPeriod]] = relationship(
        back_populates="enrollment", order_by="EnrollmentPeriod.valid_from, EnrollmentPeriod.id",
        cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("agreement_id", "beneficiary_id"),
        # an agreement's list in id order, to any page: the offset walks this index, not a sort
        Index("ix_enrollments_agreement_id_id", "agreement_id", "id"),
        known_states(EnrollmentState),
        CheckConstraint("double_enrollment IS NULL OR double_enrollment IN ('pending', 'allowed', 'refused')",
                        name="double_enrollment_known"),
        CheckConstraint("double_enrollment IS NULL OR double_enrollment = 'pending' "
                        "OR double_enrollment_reason IS NOT NULL", name="double_decision_has_reason"),
        CheckConstraint("status IN ('pending', 'withdrawn') OR double_enrollment IS NULL "
                        "OR double_enrollment = 'allowed'", name="double_enrollment_blocks"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id


# The first moment (00:00 UTC) of the day after a period took effect, per backend: a period recorded
# from then on was back-dated (grants.audit.rules_base.RuleSettings.midnight_after writes the same).
LATE_PG = "(CAST(valid_from + 1 AS timestamp) AT TIME ZONE 'UTC')"
LATE_SQLITE = "date(valid_from, '+1 day')"


class EnrollmentPeriod(Base):
    """Status history as periods: ``[valid_from, valid_to)`` with ``valid_to`` NULL for the current one.

    "Who was active on date D" is one query:
    ``status = 'active' AND valid_from <= D AND (valid_to IS NULL OR valid_to > D)``.
    """

    __tablename__ = "enrollment_periods"
    __audit_parent__ = "enrollment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[EnrollmentState] = mapped_column(State(EnrollmentState, 12), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship(back_populates="periods")

    __table_args__ = (
        known_states(EnrollmentState),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_ordered"),
        Index("ix_enrollment_periods_current", "enrollment_id", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        Index("ix_enrollment_periods_status_dates", "status", "valid_from", "valid_to"),
        # The active periods of one enrollment (liquidation checks: units paid, double enrollment).
        Index("ix_enrollment_periods_active", "enrollment_id", "valid_from", "valid_to",
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        # Periods out of 'active' recorded after the day they took effect (back-dated changes: few,
        # a list kept up to date records a change on its day), read by the liquidation check
        # payment_basis_changed. The predicate is the rule's own (RuleSettings.midnight_after).
        Index("ix_enrollment_periods_late", "enrollment_id",
              sqlite_where=text(f"status != 'active' AND recorded_at >= {LATE_SQLITE}"),
              postgresql_where=text(f"status != 'active' AND recorded_at >= {LATE_PG}")),
    )
