"""The tests' calendar: every date a test uses derives from the controlled today.

The suite runs with the process clock moved to one day (``FONDOS_TEST_TODAY``, default
``REFERENCE_TODAY``, never the real date; see ``conftest.py``), and the code reads it through
``grants.clock``. ``make test-dates`` runs it again on other days.

Most scenarios were written on one reference calendar: a 2026 plan whose term runs from 1 February
to 30 November, seen on **20 November 2026**. ``day("2026-03-01")`` is that reference date moved by
exactly as many days as the controlled today is from the reference today, so every relation a
test relies on — "three days before the term ends", "a month ago", "the advance's statement is
overdue" — holds on any calendar day. The fiscal year follows the term's first day (``year()``).

A test about a date relative to *today* (ending today or tomorrow) uses ``today()`` directly.
"""
from __future__ import annotations

import os
from datetime import date, timedelta

from grants import clock

REFERENCE_TODAY = date(2026, 11, 20)
REFERENCE_TERM_START = date(2026, 2, 1)


def test_day() -> date:
    """The suite's day: ``FONDOS_TEST_TODAY`` (YYYY-MM-DD), else ``REFERENCE_TODAY`` — a fixed day,
    so a run never depends on the day it happens to run. Not ``clock.today()``: inside a
    ``clock.at(...)`` block the clock shows another day, and the calendar must not move with it."""
    value = os.environ.get("FONDOS_TEST_TODAY", "").strip()
    return date.fromisoformat(value) if value else REFERENCE_TODAY


def today() -> date:
    return clock.today()


def offset() -> timedelta:
    return test_day() - REFERENCE_TODAY


def day(reference: str | date) -> date:
    """The reference calendar's day ``reference`` (ISO text or a date) on today's calendar."""
    if isinstance(reference, str):
        reference = date.fromisoformat(reference)
    return reference + offset()


def iso(reference: str | date) -> str:
    return day(reference).isoformat()


def dmy(reference: str | date) -> str:
    """As people write it in lists and forms: dd/mm/yyyy."""
    return day(reference).strftime("%d/%m/%Y")


def year(reference_year: int = 2026) -> int:
    """The fiscal year of the reference plan (2026 on the reference calendar), or one relative to it."""
    return day(REFERENCE_TERM_START).year + (reference_year - 2026)


def years_before(on: date, years: int) -> date:
    """A birth date that makes a person exactly ``years`` old on ``on`` (29 February → 28)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def days_from_today(n: int) -> date:
    return test_day() + timedelta(days=n)
