"""Technical meetings (mesas técnicas) between the ministry and an NGO, and the commitments agreed.

A meeting is recorded on the **case's current record**: the allocation before the NGO has a plan
(the seed's step between the allocation and the plan), the plan until it has an agreement, then
the agreement. Exactly one of ``allocation_id``, ``plan_id``, ``agreement_id`` is set (a CHECK);
``organization_id`` is the NGO's, copied from that record, and scopes who sees the meeting.
Allocation, plan and agreement are one-to-one along a case, so "every meeting of the case" is one
query (``grants.services.meetings.case_meetings``).

Participants are rows of their own (name, institution, position), not JSON: the institution is
checked by the database, and a participant is listed and audited like any other child row.
The signed minutes are an attachment of kind ``meeting_minutes`` (``grants.services.attachments``).

A commitment belongs to one meeting and to the same organization (a composite foreign key on
``(meeting_id, organization_id)``, so the database refuses a commitment filed under another NGO).
Its lifecycle is ``grants.workflows.commitment``.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.agreement import Agreement
from grants.models.allocation import Allocation
from grants.models.base import Base, State, UTCDateTime, known_states, utcnow
from grants.models.plan import Plan
from grants.models.user import User
from grants.permissions import Permission
from grants.workflows.commitment import CommitmentState

INSTITUTIONS = ("ministry", "ngo")
STAGES = ("allocation", "plan", "agreement")


def _set(column: str) -> str:
    return f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)"


def may_record(user, record) -> bool:
    """Who records a meeting on ``record`` (and adds its commitments, uploads its signed minutes):
    holders of ``MEETINGS_RECORD`` (the legal team, monitoring and audit control, system
    administration) on any record; an agreement's designated administrator on that agreement."""
    if user is None or not user.active:
        return False
    if user.can(Permission.MEETINGS_RECORD):
        return True
    return (isinstance(record, Agreement) and user.can(Permission.FOLLOW_UP_WRITE)
            and record.administrator_id == user.id)


class Meeting(Base):
    __tablename__ = "meetings"
    __audit_type__ = "meeting"
    __audit_children__ = ("participants",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    place: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    minutes: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    allocation: Mapped[Allocation | None] = relationship()
    plan: Mapped[Plan | None] = relationship()
    agreement: Mapped[Agreement | None] = relationship()
    recorded_by: Mapped[User] = relationship()
    participants: Mapped[list[MeetingParticipant]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingParticipant.number")
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="meeting", order_by="[Commitment.due_on, Commitment.id]")

    __table_args__ = (
        UniqueConstraint("id", "organization_id"),  # the target of commitments' composite foreign key
        CheckConstraint(f"{_set('allocation_id')} + {_set('plan_id')} + {_set('agreement_id')} = 1",
                        name="one_record"),
        CheckConstraint("length(place) > 0 AND length(subject) > 0 AND length(minutes) > 0", name="described"),
    )

    @property
    def stage(self) -> str:
        return "agreement" if self.agreement_id else "plan" if self.plan_id else "allocation"

    @property
    def record(self):
        """The allocation, plan or agreement the meeting was recorded on."""
        return self.agreement or self.plan or self.allocation

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    def can_manage(self, user) -> bool:
        """Add commitments and upload the signed minutes: whoever may record a meeting on its record."""
        return may_record(user, self.record)


class MeetingParticipant(Base):
    __tablename__ = "meeting_participants"
    __audit_parent__ = "meeting"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    institution: Mapped[str] = mapped_column(String(10), nullable=False)
    position: Mapped[str] = mapped_column(String(160), nullable=False, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="participants")

    __table_args__ = (
        CheckConstraint("institution IN ('ministry', 'ngo')", name="institution_known"),
        CheckConstraint("number > 0 AND length(name) > 0", name="named"),
    )


class Commitment(Base):
    __tablename__ = "commitments"
    __audit_type__ = "commitment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[CommitmentState] = mapped_column(State(CommitmentState, 10), nullable=False,
                                                     default=CommitmentState.OPEN)
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="commitments")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    __table_args__ = (
        ForeignKeyConstraint(["meeting_id", "organization_id"], ["meetings.id", "meetings.organization_id"]),
        # "My overdue commitments": the owner's open ones by due date (the home page asks on every visit).
        Index("ix_commitments_owner_status_due", "owner_id", "status", "due_on"),
        known_states(CommitmentState),
        CheckConstraint("length(description) > 0", name="described"),
        CheckConstraint("(status = 'open' AND closed_at IS NULL AND closed_by_id IS NULL) OR "
                        "(status != 'open' AND closed_at IS NOT NULL AND closed_by_id IS NOT NULL)",
                        name="closed_when_not_open"),
        CheckConstraint("status != 'cancelled' OR (close_note IS NOT NULL AND length(close_note) > 0)",
                        name="cancel_has_note"),
    )

    def is_visible_to(self, user) -> bool:
        return user.sees_all_organizations or user.organization_id == self.organization_id

    def is_overdue(self, on: date) -> bool:
        return self.status == CommitmentState.OPEN and self.due_on < on

    def can_complete(self, user) -> bool:
        """Marked done by its owner, the meeting's recorder, or the legal team / system
        administration (so a commitment never stays stuck when the recorder changes post)."""
        return (self.status == CommitmentState.OPEN and user is not None and user.active
                and self.is_visible_to(user)
                and (user.id in (self.owner_id, self.meeting.recorded_by_id)
                     or user.can(Permission.AGREEMENTS_MANAGE)))

    def can_cancel(self, user) -> bool:
        """Cancelled by the ministry only (the meeting's recorder, the legal team / system
        administration), never by an owner who would rather not do it."""
        return (self.status == CommitmentState.OPEN and user is not None and user.active
                and (user.id == self.meeting.recorded_by_id or user.can(Permission.AGREEMENTS_MANAGE)))
