"""When an ended case is deleted: the area's retention period after its latest ending. Pure Python.

A case's data (the case, its audit trail, letters, partner requests and returns, equalities answers,
notices, views and search terms) is kept for `area.retention_years` after the case last ended, then
deleted; the published counts are kept. The deletion is DynamoDB's TTL on the case item
(`CaseRecord.expires_at`); the cases table's stream then deletes the rest (chalicelib/retention.py).

When the clock starts, and what stops it:
- A case ends by closure, withdrawal or rejection (`ending["on"]`), or by a threshold-not-met
  decision (`decision["decided_on"]`), which stands unless appealed.
- The latest ending counts: an appeal decided not upheld after the ending restarts the clock from
  its decision, and while the ending's appeal window is open the clock runs from the window's last
  day, so a case can never expire before the people told of the decision could have appealed it.
- An appeal lodged (or acknowledged) and not yet decided: no deletion date at all. An upheld appeal
  reopens the case (not ended: no date); its next ending starts the clock again.
- A legal hold placed by staff: no deletion date until it is lifted, then recomputed as above.

The deletion date is the day after the period's last day, at 00:00 Europe/London; DynamoDB's TTL
deletes the item within a day or two after that instant (it is not exact, and need not be).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from .calendar import add_months

LONDON = ZoneInfo("Europe/London")
ENDED = frozenset({"closed", "withdrawn", "rejected"})
NOT_MET = "threshold_not_met"
OPEN_APPEAL = frozenset({"lodged", "acknowledged"})


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def retention_start(status: str, *, ending: Mapping[str, Any] | None, decision: Mapping[str, Any] | None,
                    appeal: Mapping[str, Any] | None, appeal_window_closes: str | None) -> date | None:
    """The day the retention clock runs from, or None while the case is not ended (or is appealed)."""
    if status in ENDED:
        ended = _day((ending or {}).get("on"))
    elif status == NOT_MET:
        ended = _day((decision or {}).get("decided_on"))
    else:
        return None
    if ended is None:  # an ended case without its date (never written so): keep it, do not guess
        return None
    appeal = appeal or {}
    if appeal.get("status") in OPEN_APPEAL:
        return None
    candidates = [ended]
    decided = _day(appeal.get("decided_on"))
    if decided is not None:
        candidates.append(decided)
    # An appeal is still possible when there is none yet, or the last one was upheld (a new decision).
    window = _day(appeal_window_closes)
    if window is not None and (not appeal or appeal.get("status") == "upheld"):
        candidates.append(window)
    return max(candidates)


def deletion_date(start: date | None, retention_years: int, *, held: bool = False) -> date | None:
    """The first day the case is no longer kept: the day after `retention_years` from `start`
    (29 February's anniversary in a common year is 28 February, as add_months clamps)."""
    if start is None or held:
        return None
    return add_months(start, 12 * retention_years) + timedelta(days=1)


def expiry_instant(deletes_on: date | None) -> datetime | None:
    """00:00 Europe/London on the deletion date, in UTC (what the TTL attribute stores as epoch seconds)."""
    if deletes_on is None:
        return None
    return datetime.combine(deletes_on, time(0), tzinfo=LONDON).astimezone(timezone.utc)


def case_expiry(status: str, *, ending: Mapping[str, Any] | None, decision: Mapping[str, Any] | None,
                appeal: Mapping[str, Any] | None, appeal_window_closes: str | None,
                legal_hold: Mapping[str, Any] | None, retention_years: int) -> tuple[date | None, datetime | None]:
    """(deletion date, TTL instant) for a case as it now is; (None, None) when it is not to expire."""
    start = retention_start(status, ending=ending, decision=decision, appeal=appeal,
                            appeal_window_closes=appeal_window_closes)
    on = deletion_date(start, retention_years, held=bool(legal_hold))
    return on, expiry_instant(on)


def expiry_epoch(instant: datetime | None) -> int | None:
    return None if instant is None else int(instant.timestamp())


def is_ttl_removal(record: Mapping[str, Any]) -> bool:
    """A stream record of an item DynamoDB's TTL deleted (not one an application deleted)."""
    identity = record.get("userIdentity") or {}
    return (record.get("eventName") == "REMOVE" and identity.get("type") == "Service"
            and identity.get("principalId") == "dynamodb.amazonaws.com")
