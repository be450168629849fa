"""The published counts and the Home Office data return: which step moves what, the working days
a threshold decision took (across Christmas, Easter and month ends), and the CSV's median."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.case import calendar_for, due_after
from chalicelib.domain.stats import (
    COUNTS,
    DATA_RETURN_FIELDS,
    FIELDS,
    application_completed_on,
    data_return_csv,
    median_days,
    step_appends,
    step_counts,
    working_days_to_decision,
)

ENG = WorkingCalendar("ENG")
SCT = WorkingCalendar("SCT")


def days(completed: str, decided: str, calendar: WorkingCalendar = ENG) -> int | None:
    deadlines = {"acknowledge": {"due": None, "met_on": completed}}
    return working_days_to_decision(deadlines, "2000-01-01", date.fromisoformat(decided), calendar)


# ---------------------------------------------------------------- what each step moves


def test_an_agency_started_review_is_counted_apart_from_applications():
    assert step_counts("open_agency_review") == ("agency_reviews_started",)
    assert "applications" not in step_counts("open_agency_review")
    assert step_counts("submit_complete") == ("applications",)
    assert dict(COUNTS)["agency_reviews_started"] == "Case reviews started by an agency without an application"
    assert FIELDS.index("agency_reviews_started") == FIELDS.index("applications") + 1


@pytest.mark.parametrize("step", ["decide_met", "decide_not_met", "decide_accepted_below_threshold"])
def test_each_threshold_decision_appends_its_working_days(step):
    assert step_appends(step, {"decision": "x", "working_days_to_decision": 12}) == (("decision_working_days", 12),)
    assert step_appends(step, {"decision": "x", "working_days_to_decision": 0}) == (("decision_working_days", 0),)


@pytest.mark.parametrize("step, detail", [
    ("decide_appeal_not_upheld", {"working_days_to_decision": 3}),  # an appeal decision, not the threshold's
    ("record_outcome_actions", {"working_days_to_decision": 3}),
    ("decide_met", {"decision": "met"}),  # a decision made again after an upheld appeal: not timed
    ("decide_met", None),
    ("decide_met", {"working_days_to_decision": True}),
    ("decide_met", {"working_days_to_decision": "12"}),
])
def test_nothing_else_appends(step, detail):
    assert step_appends(step, detail) == ()


# ---------------------------------------------------------------- from the completed application


def test_the_application_is_complete_when_acknowledged_or_else_when_received():
    assert application_completed_on({"acknowledge": {"due": "2027-01-05", "met_on": "2026-12-29"}},
                                    "2026-12-01") == date(2026, 12, 29)  # third party: the day consent came
    assert application_completed_on({"acknowledge": {"due": "2027-01-05", "met_on": None}}, "2026-12-01") == date(2026, 12, 1)
    assert application_completed_on(None, "2026-12-01") == date(2026, 12, 1)


def test_third_party_case_is_timed_from_consent_not_from_receipt():
    deadlines = {"acknowledge": {"due": "2027-01-11", "met_on": "2027-01-04"}}  # consent recorded Mon 4 Jan
    assert working_days_to_decision(deadlines, "2026-12-14", date(2027, 1, 11), ENG) == 5


def test_a_decision_made_again_after_an_upheld_appeal_is_not_timed():
    deadlines = {"acknowledge": {"due": None, "met_on": "2027-01-04"}}
    assert working_days_to_decision(deadlines, "2027-01-04", date(2027, 3, 1), ENG, after_appeal=True) is None


@pytest.mark.parametrize("completed, decided, expected", [
    ("2026-12-21", "2026-12-21", 0),  # decided the day it was complete
    ("2026-12-21", "2026-12-22", 1),
    # Christmas 2026: Fri 25 Dec, Mon 28 Dec (Boxing Day substitute), Fri 1 Jan are not working days
    ("2026-12-21", "2027-01-04", 7),
    ("2026-12-24", "2026-12-29", 1),
    ("2026-12-24", "2027-01-01", 3),  # 29, 30 and 31 December: New Year's Day itself is not a working day
    # Christmas 2027 falls on a weekend: Mon 27 and Tue 28 Dec are the substitute days
    ("2027-12-23", "2027-12-29", 2),
    # Easter 2027: Good Friday 26 March, Easter Monday 29 March
    ("2027-03-25", "2027-03-30", 1),
    ("2027-03-24", "2027-04-01", 4),  # and across the end of the financial year
    # month ends
    ("2027-01-29", "2027-02-01", 1),  # Fri 29 Jan to Mon 1 Feb
    ("2027-01-31", "2027-02-01", 1),  # from a Sunday
    ("2027-02-26", "2027-03-01", 1),  # 28 Feb 2027 is a Sunday
    ("2028-02-28", "2028-03-01", 2),  # 29 Feb 2028, a leap day, is a working day
    ("2026-08-28", "2026-09-01", 1),  # Mon 31 Aug 2026 is the summer bank holiday
    ("2026-08-31", "2026-08-31", 0),
])
def test_working_days_to_decision_in_england(completed, decided, expected):
    assert days(completed, decided) == expected


def test_scotland_works_on_easter_monday():
    assert days("2027-03-25", "2027-03-30", SCT) == 2  # Good Friday only
    assert days("2026-12-31", "2027-01-05", SCT) == 1  # 1 and 2 January (moved to Mon 4) are holidays


def test_never_negative_when_the_decision_date_is_before_the_completed_date():
    assert days("2027-01-04", "2027-01-01") == 0


@pytest.mark.parametrize("area", ["derbyshire", "dacorum", "hart"])
def test_a_decision_on_its_due_date_took_exactly_the_timescale(area_policies, area):
    """working_days_after(start, n) == end exactly when the decision is said to take n days."""
    policy = area_policies[area]
    calendar = calendar_for(policy)
    n = policy.timescales.threshold_decision.working_days
    start = date(2026, 12, 1)
    while start < date(2027, 5, 1):
        due = due_after(start, policy.timescales.threshold_decision, calendar)
        deadlines = {"acknowledge": {"met_on": start.isoformat()}}
        assert working_days_to_decision(deadlines, "2000-01-01", due, calendar) == n, (area, start)
        assert working_days_to_decision(deadlines, "2000-01-01", due - timedelta(days=1), calendar) == n - 1
        start += timedelta(days=1)


# ---------------------------------------------------------------- the median and the CSV


@pytest.mark.parametrize("values, expected", [([], None), ([9], 9), ([3, 15, 7], 7), ([4, 12, 8, 5], 6.5),
                                              ([0, 0], 0)])
def test_median(values, expected):
    assert median_days(values) == expected


def _row(decision_days):
    return {"area": "hart", "area_name": "Hart", "year": "2026 to 2027", "year_from": "2026-04-01",
            "year_to": "2027-03-31", **{name: 0 for name in FIELDS}, "decision_working_days": decision_days}


def test_data_return_csv_columns_and_median():
    text = data_return_csv([_row([11, 3, 7, 15]), _row([]), _row([6])])
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(DATA_RETURN_FIELDS)
    assert [(r["decisions_made"], r["median_working_days_to_decision"]) for r in rows] == [
        ("4", "9"), ("0", ""), ("1", "6")]
    assert data_return_csv([_row([4, 5])]).splitlines()[1].endswith(",2,4.5")
