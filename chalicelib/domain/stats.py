"""The statutory yearly counts (Schedule 4 and the statutory guidance), plus appeals. Pure.

Each count moves in the same transaction as the step that causes it, counted in the reporting
year of that step's Europe/London date, so reading an area-year is one item."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Iterable, Mapping

# (field, what the council page calls it). The order is the published order.
COUNTS = (
    ("applications", "Applications for an ASB case review"),
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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
