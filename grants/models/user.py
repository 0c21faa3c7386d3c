"""Users, their roles and their API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.models.base import Base, TimestampMixin, UTCDateTime, utcnow
from grants.models.organization import Organization
from grants.permissions import Permission, Role, permissions_for

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __audit_type__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(160), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Bumped at logout, deactivation and password change: every older session cookie dies.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("session_version > 0", name="session_version_positive"),
        CheckConstraint("locale IS NULL OR locale IN ('es', 'en')", name="locale_known"),
    )

    # --- read-only predicates -------------------------------------------------------------
    @property
    def roles(self) -> list[Role]:
        return [Role(r.role) for r in self.role_rows]

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles) if self.active else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def sees_all_organizations(self) -> bool:
        """Ministry staff see every organization; an NGO user only its own."""
        return any(r is not Role.NGO for r in self.roles)

    def acts_for(self, organization_id: int | None) -> bool:
        """An NGO user of that organization: the one who proposes, uploads, declares and replies in
        its name (the ministry never acts for an NGO)."""
        return Role.NGO in self.roles and organization_id is not None and self.organization_id == organization_id

    def reviews(self, organization_id: int | None) -> bool:
        """Ministry staff with no tie to that organization: who may decide on what it presents
        (nobody reviews their own NGO's work)."""
        return Role.NGO not in self.roles and self.organization_id != organization_id

    # --- Flask-Login protocol ---------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class UserRole(Base):
    __tablename__ = "user_roles"
    __audit_parent__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False)

    user: Mapped[User] = relationship(back_populates="role_rows")

    __table_args__ = (
        UniqueConstraint("user_id", "role"),
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),
    )


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __audit_type__ = "api_token"
    # last_used_at is bookkeeping, not a change anyone is accountable for.
    __audit_ignore__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now and self.user.active
