"""Time. Instants are stored in UTC; deadlines and statutory counts use Europe/London dates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def london_date(instant: datetime) -> date:
    """The date in the UK at that instant (23:30 UTC on 30 June is 1 July in London)."""
    return instant.astimezone(LONDON).date()


def iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
