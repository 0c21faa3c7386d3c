"""The service's clock: "now" and "today" for every rule and every timestamp.

* ``today()`` is the calendar date in El Salvador (America/El_Salvador, UTC−6, no DST), so a
  late-evening request in San Salvador is not judged by the UTC date (already tomorrow).
* ``utcnow()`` stamps rows and audit events (timestamps are stored in UTC).

Nothing else in the code asks the system for the time. That makes two things possible:

* tests move the whole process to any day (``time-machine`` in ``tests/conftest.py``), and the
  code follows, because every read goes through ``datetime.now`` here;
* the demo replays its history on the days it happened (``at(day)``), so a payment executed
  "three months ago" carries that date everywhere, not the day the demo was loaded.

``at`` is a context manager over a ``ContextVar``: it changes the clock of the code running inside
it (its thread, its request), never another request's.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

EL_SALVADOR = ZoneInfo("America/El_Salvador")

# (the pinned moment, the real moment it was pinned at): time keeps running from the pinned moment.
_pinned: ContextVar[tuple[datetime, datetime] | None] = ContextVar("fondos_clock_pinned", default=None)


def now() -> datetime:
    """The current moment, aware, in El Salvador's time zone."""
    real = datetime.now(EL_SALVADOR)
    pinned = _pinned.get()
    if pinned is None:
        return real
    moment, since = pinned
    return moment + (real - since)


def utcnow() -> datetime:
    return now().astimezone(timezone.utc)


def today() -> date:
    return now().date()


def local_day(moment: datetime | None) -> date | None:
    """The day a stored moment falls on in El Salvador (what people call its date): 03:00 UTC
    on 1 January is still 31 December there. A naive moment is UTC, as stored; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(EL_SALVADOR).date()


@contextmanager
def at(day: date | datetime, hour: int = 10) -> Iterator[datetime]:
    """Run the block as if it were ``day`` (at ``hour`` o'clock in El Salvador, unless a datetime
    is given); time runs on from there. Used to replay history (the demo), never by requests."""
    if isinstance(day, datetime):
        moment = day if day.tzinfo else day.replace(tzinfo=EL_SALVADOR)
    else:
        moment = datetime.combine(day, time(hour), EL_SALVADOR)
    token = _pinned.set((moment, datetime.now(EL_SALVADOR)))
    try:
        yield moment
    finally:
        _pinned.reset(token)


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start``. Public holidays are not known
    here; a deadline that falls on one is still the deadline (the setting can be raised)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current
