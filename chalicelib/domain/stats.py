"""The statutory yearly counts (Schedule 4 and the statutory guidance), plus appeals. Pure.

Each count moves in the same transaction as the step that causes it, counted in the reporting
year of that step's Europe/London date, so reading an area-year is one item."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from statistics import median
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .calendar import WorkingCalendar

# (field, what the council page calls it). The order is the published order.
COUNTS = (
    ("applications", "Applications for an ASB case review"),
    # 2025 guidance: an agency may start a review itself. Not an application, so counted apart.
    ("agency_reviews_started", "Case reviews started by an agency without an application"),
    ("threshold_not_met", "Times the threshold was not met"),
    ("reviews_carried_out", "ASB case reviews carried out"),
    ("reviews_with_recommendations", "Reviews that resulted in recommendations"),
    ("appeals_received", "Appeals received"),
    ("appeals_upheld", "Appeals upheld"),
)
FIELDS = tuple(name for name, _ in COUNTS)

# What each case step adds to the counts.
STEP_COUNTS: dict[str, tuple[str, ...]] = {
    "submit_complete": ("applications",),
    "submit_awaiting_consent": ("applications",),
    "open_agency_review": ("agency_reviews_started",),
    "decide_not_met": ("threshold_not_met",),
    "record_outcome_actions": ("reviews_carried_out",),
    "record_outcome_no_further_action": ("reviews_carried_out",),
    "lodge_appeal": ("appeals_received",),
    "uphold_appeal_threshold": ("appeals_upheld",),
    "uphold_appeal_outcome": ("appeals_upheld",),
}


def step_counts(step: str, detail: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """The counts a step moves. A review 'resulted in recommendations' when it made any
    recommendation or agreed any action."""
    counts = STEP_COUNTS.get(step, ())
    if step.startswith("record_outcome") and detail and (detail.get("recommendations") or detail.get("actions")):
        counts = counts + ("reviews_with_recommendations",)
    return counts


# The threshold decision on an application (Letter 4 or 5): what the data return times.
DECISION_STEPS = frozenset({"decide_met", "decide_not_met", "decide_accepted_below_threshold"})
# Lists kept on the area-year item beside the counts, one value appended per step, so that the
# median (which no running total gives) is still one read. Field -> the detail key it comes from.
STEP_LISTS = {"decision_working_days": "working_days_to_decision"}
LISTS = tuple(STEP_LISTS)


def step_appends(step: str, detail: Mapping[str, object] | None = None) -> tuple[tuple[str, int], ...]:
    """The values a step appends to the area-year's lists: the working days a threshold decision
    took, when the step recorded them (not for a decision made again after an upheld appeal)."""
    if step not in DECISION_STEPS or not detail:
        return ()
    days = detail.get("working_days_to_decision")
    if isinstance(days, bool) or not isinstance(days, int):
        return ()
    return (("decision_working_days", days),)


def application_completed_on(deadlines: Mapping[str, Any] | None, received_on: str) -> date:
    """When the application was complete: the day its acknowledgement clock was met (the day it was
    received, or the day a third party's application got the victim's consent), else received_on."""
    met_on = ((deadlines or {}).get("acknowledge") or {}).get("met_on")
    return date.fromisoformat(met_on or received_on)


def working_days_to_decision(deadlines: Mapping[str, Any] | None, received_on: str, decided_on: date,
                             calendar: "WorkingCalendar", *, after_appeal: bool = False) -> int | None:
    """Working days from the completed application to the threshold decision (the days after it,
    up to and including the decision day: the N of "decided within N working days"). None for a
    decision made again after an upheld appeal: that clock restarted at the appeal decision, and
    counting it from the application would mix the appeal's time into the decision's."""
    if after_appeal:
        return None
    return calendar.working_days_between(application_completed_on(deadlines, received_on), decided_on)


def median_days(values: Iterable[int]) -> float | None:
    """The median of the working days, or None when nothing was decided."""
    values = list(values)
    return median(values) if values else None


def reporting_year_of(day: date, basis: str) -> int:
    """The reporting year a date falls in, named by its first calendar year (2026 = April 2026
    to March 2027 for a financial year)."""
    if basis == "calendar":
        return day.year
    return day.year if day.month >= 4 else day.year - 1


def year_bounds(year: int, basis: str) -> tuple[date, date]:
    if basis == "calendar":
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, 4, 1), date(year + 1, 3, 31)


def year_label(year: int, basis: str) -> str:
    return str(year) if basis == "calendar" else f"{year} to {year + 1}"


def zero() -> dict[str, int]:
    return {name: 0 for name in FIELDS}


def add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {name: int(a.get(name, 0)) + int(b.get(name, 0)) for name in FIELDS}


def years_from(first: int, last: int) -> list[int]:
    """Every year between the first with any activity and now, newest first: a quiet year
    shows zeros rather than disappearing."""
    return list(range(last, first - 1, -1))


def to_csv(rows: Iterable[Mapping[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["area", "year", "year_from", "year_to", *FIELDS], lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


DATA_RETURN_FIELDS = ("area", "area_name", "year", "year_from", "year_to", *FIELDS, "decisions_made",
                      "median_working_days_to_decision")


def data_return_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The Home Office data return: one row per area (or appeals body) and reporting year. Each row
    carries its year's decision_working_days; the median is blank when no decision was made."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(DATA_RETURN_FIELDS), lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        days = [int(n) for n in row.get("decision_working_days") or ()]
        middle = median_days(days)
        writer.writerow({**row, "decisions_made": len(days),
                         "median_working_days_to_decision": "" if middle is None else _number(middle)})
    return out.getvalue()


def _number(value: float) -> str:
    """7 or 7.5 (the median of an even number of decisions may fall between two days)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
