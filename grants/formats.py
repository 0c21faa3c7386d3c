"""Amounts, quantities and dates as people read them, for pages, PDFs, workbooks and messages alike:
the one place that writes them (the kernel: every floor may use it; it imports only the kernel).

El Salvador writes the dot for decimals and the comma for thousands, amounts in US dollars
(``$1,234.50``), and days as ``dd/mm/yyyy`` (``parse_day`` reads a day typed that way, or ISO). Decimal in, text out; never a float. (Machine formats
— the API's ``"1234.50"`` strings — are ``grants.money.format_amount``.)
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from grants.clock import EL_SALVADOR
from grants.money import CENT


def _cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def grouped(value) -> str:
    """``1,234.50``: an amount without its sign of currency (messages that write ``$`` themselves)."""
    return f"{_cents(value):,.2f}"


def usd(value, missing: str = "") -> str:
    """``$1,234.50``, ``-$20.00``; ``missing`` for no value."""
    if value is None:
        return missing
    amount = _cents(value)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def quantity(value, missing: str = "") -> str:
    """``12`` for a whole number, ``12.50`` otherwise (units, days, indicators)."""
    if value is None:
        return missing
    value = Decimal(value)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def percent(value) -> str:
    """``80 %``, ``80.50 %``."""
    return f"{quantity(value)} %"


def day(value, missing: str = "") -> str:
    """``31/12/2026``. A moment is shown on El Salvador's calendar; ISO text is read first."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(EL_SALVADOR).date() if value.tzinfo else value.date()
    return value.strftime("%d/%m/%Y")


def moment(value, missing: str = "") -> str:
    """``31/12/2026 14:05``: a moment on El Salvador's clock (a naive one is UTC, as stored)."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return day(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(EL_SALVADOR).strftime("%d/%m/%Y %H:%M")


_TYPED_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text) -> date:
    """A day as people type it, ``31/12/2026`` (``1/2/2026`` too), or ISO ``2026-12-31`` (what a browser's
    date picker sends). ``ValueError`` for anything else or a day the calendar does not have."""
    text = str(text or "").strip()
    typed = _TYPED_DAY.fullmatch(text)
    if typed:
        day_, month, year = (int(part) for part in typed.groups())
        return date(year, month, day_)
    if not _ISO_DAY.fullmatch(text):  # fromisoformat also reads 20261231 and week dates (2026-W01-1)
        raise ValueError(text)
    return date.fromisoformat(text)
