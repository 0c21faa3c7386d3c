"""grants/formats.py: what people read — amounts, quantities and days — the same on pages, PDFs,
workbooks and messages."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from grants import formats


@pytest.mark.parametrize(("value", "usd", "grouped"), [
    (Decimal("1234.5"), "$1,234.50", "1,234.50"),
    (Decimal("0"), "$0.00", "0.00"),
    (Decimal("-20"), "-$20.00", "-20.00"),
    (Decimal("999999999999.99"), "$999,999,999,999.99", "999,999,999,999.99"),
    (Decimal("0.005"), "$0.01", "0.01"),          # half a cent rounds up, as the ministry's forms do
    (Decimal("2.675"), "$2.68", "2.68"),          # Decimal, not binary floating point
    (185000, "$185,000.00", "185,000.00"),
])
def test_amounts(value, usd, grouped):
    assert formats.usd(value) == usd and formats.grouped(value) == grouped


def test_missing_values_say_what_the_caller_asks():
    assert formats.usd(None) == "" and formats.usd(None, "—") == "—"
    assert formats.day(None) == "" and formats.day(None, "—") == "—" and formats.day("", "—") == "—"
    assert formats.quantity(None, "sin informe") == "sin informe"


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("12"), "12"), (Decimal("12.00"), "12"), (Decimal("12.5"), "12.50"), (Decimal("1500"), "1,500"),
])
def test_quantities_and_percentages(value, text):
    assert formats.quantity(value) == text and formats.percent(value) == f"{text} %"


def test_days_are_read_on_el_salvadors_calendar():
    assert formats.day(date(2026, 1, 2)) == "02/01/2026"
    assert formats.day("2026-12-31") == "31/12/2026" and formats.day("2026-12-31T23:00:00+00:00") == "31/12/2026"
    # 03:00 UTC on 6 December is still 5 December in El Salvador (UTC-6)
    assert formats.day(datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)) == "05/12/2026"
    assert formats.day(datetime(2026, 12, 6, 3, 0)) == "06/12/2026"  # a naive moment is taken as it is


def test_floats_never_sneak_in():
    assert formats.usd(Decimal("0.1") + Decimal("0.2")) == "$0.30"


def test_a_stored_moment_falls_on_el_salvadors_day():
    """clock.local_day: what a PDF, the open data or a rule calls the date of a stored UTC moment."""
    from grants import clock

    assert clock.local_day(datetime(2027, 1, 1, 3, 0, tzinfo=timezone.utc)) == date(2026, 12, 31)
    assert clock.local_day(datetime(2027, 1, 1, 3, 0)) == date(2026, 12, 31)  # naive: UTC, as stored
    assert clock.local_day(datetime(2027, 1, 1, 6, 0, tzinfo=timezone.utc)) == date(2027, 1, 1)
    assert clock.local_day(None) is None
