"""Declarative base with a naming convention so constraint names are stable in migrations."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import CheckConstraint, DateTime, MetaData, Numeric, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from grants import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money: Numeric(14,2), Decimal end to end, USD. Never build a Decimal from a float.
Money = Numeric(14, 2, asdecimal=True)


def utcnow() -> datetime:
    """Row timestamps come from the service's clock (``grants.clock``), like every date rule."""
    return clock.utcnow()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class State(TypeDecorator):
    """A lifecycle's state (a ``StrEnum`` of ``grants.workflows``): stored as its text, read back as
    the Enum member, so ``Mapped[PaymentState]`` is true. A value the lifecycle does not know is
    refused before it reaches the database; ``known_states`` writes the same list as a CHECK."""

    impl = String
    cache_ok = True

    def __init__(self, enum, length: int):
        if max(len(s.value) for s in enum) > length:
            raise ValueError(f"{enum.__name__}: a state is longer than {length}")
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)


def known_states(enum, column: str = "status") -> CheckConstraint:
    """The database's own list of a lifecycle's states: ``CHECK (status IN (...))``."""
    listed = ", ".join(f"'{s.value}'" for s in enum)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
