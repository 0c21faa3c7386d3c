"""Failed-login counters shared by every process (the login throttle, grants/throttle.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grants.models.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Failed attempts of one key (an account or a client address, hashed) in one fixed window.

    Written only by grants/throttle.py, in transactions of their own; not audited (bookkeeping,
    like a token's last use). Rows of past windows are deleted as new attempts come in.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of "account:…"/"address:…"
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # epoch s
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)
