"""The service's "today": the calendar date in El Salvador (America/El_Salvador, UTC−6, no DST).

Every rule about dates ("not in the future", "the transfer is made today") asks this one
function, so a late-evening request in San Salvador is not judged by the UTC date (already
tomorrow). Timestamps stay UTC (``grants.models.base.utcnow``).
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

EL_SALVADOR = ZoneInfo("America/El_Salvador")


def now() -> datetime:
    return datetime.now(EL_SALVADOR)


def today() -> date:
    return now().date()
