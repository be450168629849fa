"""The threshold pre-assessment, rule variant by rule variant (PROCESS.md, "The threshold"):
the result, and the reasons a SPOC reads, for the statutory default and each local variant."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from chalicelib.domain.calendar import add_months
from chalicelib.domain.policy import Period, Threshold
from chalicelib.domain.threshold import (
    Assessment,
    Report,
    RuleResult,
    assess,
    qualifying_deadline,
    statutory_month_end,
)

APPLIED = date(2027, 6, 15)  # six months back: 2026-12-15; one month back: 2027-05-15
DEFAULT = Threshold()
IN_WINDOW = date(2027, 2, 1)  # inside the six months before APPLIED
ONE_MONTH = Period(months=1)
THIRTY_DAYS = Period(calendar_days=30)


def rep(happened: date, reported: date | None = None, *, by: str = "Sam Taylor", to: str = "Police",
        how: str = "phone", hate: bool = False, officer: str | None = None, ref: str | None = None,
        desc: str | None = None) -> Report:
    """One report; by default made the day after the incident."""
    return Report(happened_on=happened, reported_on=reported or happened + timedelta(days=1), reported_by=by,
                  reported_to=to, how_reported=how, hate_motivated=hate, officer_type=officer,
                  agency_reference=ref, description=desc)


THREE = [rep(date(2027, 3, 1)), rep(date(2027, 4, 1)), rep(date(2027, 5, 20))]
TWO = THREE[:2]


def rule(assessment: Assessment, name: str) -> RuleResult:
    found = [r for r in assessment.rules if r.rule == name]
    assert len(found) == 1, f"expected one {name!r} rule, got {assessment.rules}"
    return found[0]


def rule_names(assessment: Assessment) -> list[str]:
    return [r.rule for r in assessment.rules]


# ----- the statutory default: three qualifying complaints on separate occasions ----------


def test_three_qualifying_complaints_on_separate_occasions_meet_the_threshold() -> None:
    a = assess(THREE, APPLIED, DEFAULT)
    assert a.result == "met"
    assert rule(a, "qualifying_complaints") == RuleResult(
        "qualifying_complaints", "pass", "3 qualifying complaints on separate occasions; 3 needed")
    assert a.qualifying_occasions == (date(2027, 3, 1), date(2027, 4, 1), date(2027, 5, 20))
    assert all(f.counts is True and f.reasons == ("a qualifying complaint",) for f in a.reports)
    assert a.assessed_on == APPLIED


def test_two_qualifying_complaints_do_not_meet_the_threshold() -> None:
    a = assess(TWO, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert rule(a, "qualifying_complaints") == RuleResult(
        "qualifying_complaints", "fail", "only 2 qualifying complaints on separate occasions; 3 needed")


def test_no_reports_at_all_is_not_met() -> None:
    a = assess([], APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert rule(a, "qualifying_complaints").reason == "only 0 qualifying complaints on separate occasions; 3 needed"
    assert a.reports == () and a.qualifying_occasions == ()


def test_an_area_may_lower_the_number_needed_to_two() -> None:
    a = assess(TWO, APPLIED, Threshold(complaints_needed=2))
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").reason == "2 qualifying complaints on separate occasions; 2 needed"


def test_one_complaint_is_enough_where_one_is_needed_and_the_reason_is_singular() -> None:
    a = assess(THREE[:1], APPLIED, Threshold(complaints_needed=1))
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").reason == "1 qualifying complaint on separate occasions; 1 needed"


def test_reports_are_assessed_in_order_and_keep_their_index() -> None:
    reports = [rep(date(2027, 5, 20)), rep(date(2027, 3, 1), to="Council")]
    a = assess(reports, APPLIED, DEFAULT)
    assert [(f.index, f.happened_on, f.reported_to) for f in a.reports] == [
        (0, date(2027, 5, 20), "Police"), (1, date(2027, 3, 1), "Council")]
    assert a.qualifying_occasions == (date(2027, 3, 1), date(2027, 5, 20))  # sorted


# ----- the qualifying period: the statutory month (corresponding-date rule) ---------------


@pytest.mark.parametrize(
    ("happened", "last_day"),
    [
        (date(2027, 1, 15), date(2027, 2, 14)),
        (date(2027, 1, 31), date(2027, 2, 28)),  # no 31 February: the period ends at month end
        (date(2027, 1, 30), date(2027, 2, 28)),
        (date(2027, 1, 29), date(2027, 2, 28)),
        (date(2027, 1, 28), date(2027, 2, 27)),  # 28 February exists: ends the day before
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(2027, 2, 28), date(2027, 3, 27)),
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2028, 1, 30), date(2028, 2, 29)),
        (date(2028, 1, 29), date(2028, 2, 28)),
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2028, 2, 29), date(2028, 3, 28)),
        (date(2027, 3, 31), date(2027, 4, 30)),
        (date(2027, 3, 30), date(2027, 4, 29)),
        (date(2027, 4, 30), date(2027, 5, 29)),
        (date(2027, 12, 31), date(2028, 1, 30)),  # across the year end
        (date(2027, 12, 1), date(2027, 12, 31)),
    ],
)
def test_statutory_month_end(happened: date, last_day: date) -> None:
    assert statutory_month_end(happened) == last_day
    assert qualifying_deadline(happened, ONE_MONTH) == last_day


def test_statutory_month_end_property_over_four_years() -> None:
    """The day after the period is the corresponding date next month, or, if there is none,
    the first day of the month after."""
    day = date(2027, 1, 1)
    while day < date(2031, 1, 1):
        end = statutory_month_end(day)
        following = end + timedelta(days=1)
        corresponding = add_months(day, 1)
        if corresponding.day == day.day:
            assert following == corresponding, day
        else:
            assert following.day == 1 and following.month == corresponding.month % 12 + 1, day
        assert 27 <= (end - day).days <= 30, day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("happened", "last_day"),
    [
        (date(2027, 1, 15), date(2027, 2, 14)),
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2028, 1, 31), date(2028, 2, 29)),
    ],
)
def test_a_report_on_the_last_day_of_the_month_counts_and_one_day_later_does_not(happened: date, last_day: date) -> None:
    applied = last_day + timedelta(days=30)
    on_time = assess([rep(happened, last_day)], applied, Threshold(complaints_needed=1))
    assert on_time.result == "met"
    assert on_time.reports[0].counts is True

    late = assess([rep(happened, last_day + timedelta(days=1))], applied, Threshold(complaints_needed=1))
    assert late.result == "not_met"
    finding = late.reports[0]
    assert finding.counts is False
    days = (last_day + timedelta(days=1) - happened).days
    assert finding.reasons == (
        f"reported {days} days after it happened; it had to be reported by {last_day.isoformat()} (1 month)",)


def test_a_late_report_does_not_count_towards_the_threshold() -> None:
    reports = THREE[:2] + [rep(date(2027, 4, 15), date(2027, 5, 15))]  # 30 days: the month ended 14 May
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.reports[2].reasons == ("reported 30 days after it happened; it had to be reported by 2027-05-14 (1 month)",)
    assert rule(a, "qualifying_complaints").reason == "only 2 qualifying complaints on separate occasions; 3 needed"


# ----- the qualifying period: Hart's 30 calendar days, capped by the statutory month ----------


def test_hart_a_report_on_day_30_counts(area_policies) -> None:
    hart = area_policies["hart"].threshold
    assert hart.qualifying_period == THIRTY_DAYS
    a = assess([rep(date(2027, 3, 1), date(2027, 3, 31), hate=True)], APPLIED, hart)
    assert a.reports[0].counts is True


def test_hart_a_report_on_day_31_does_not_count(area_policies) -> None:
    hart = area_policies["hart"].threshold
    a = assess([rep(date(2027, 3, 1), date(2027, 4, 1))], APPLIED, hart)
    finding = a.reports[0]
    assert finding.counts is False
    assert finding.reasons == ("reported 31 days after it happened; it had to be reported by 2027-03-31 (30 days)",)


@pytest.mark.parametrize(
    ("happened", "capped_at"),
    [
        (date(2027, 2, 1), date(2027, 2, 28)),  # February: the statutory month is 28 days
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2027, 4, 10), date(2027, 5, 9)),  # a 30-day month: the month ends on day 29
    ],
)
def test_thirty_days_never_stretch_beyond_the_statutory_month(happened: date, capped_at: date) -> None:
    assert qualifying_deadline(happened, THIRTY_DAYS) == capped_at
    assert qualifying_deadline(happened, THIRTY_DAYS) < happened + timedelta(days=30)


def test_hart_february_cap_reason_explains_the_legal_limit(area_policies) -> None:
    # 2027-02-01 + 29 days = 2027-03-02: inside "30 days", but the month ended on 28 February.
    hart = area_policies["hart"].threshold
    a = assess([rep(date(2027, 2, 1), date(2027, 3, 2))], APPLIED, hart)
    finding = a.reports[0]
    assert finding.counts is False
    assert finding.reasons == (
        "reported 29 days after it happened; it had to be reported by 2027-02-28 "
        "(30 days, but never more than the one month the law allows)",)
    on_time = assess([rep(date(2027, 2, 1), date(2027, 2, 28))], APPLIED, hart)
    assert on_time.reports[0].counts is True


def test_a_shorter_local_period_applies_within_the_month() -> None:
    rules = Threshold(qualifying_period=Period(calendar_days=14), complaints_needed=1)
    assert qualifying_deadline(date(2027, 3, 1), rules.qualifying_period) == date(2027, 3, 15)
    assert assess([rep(date(2027, 3, 1), date(2027, 3, 15))], APPLIED, rules).result == "met"
    late = assess([rep(date(2027, 3, 1), date(2027, 3, 16))], APPLIED, rules)
    assert late.result == "not_met"
    assert late.reports[0].reasons == ("reported 15 days after it happened; it had to be reported by 2027-03-15 (14 days)",)


# ----- the six-month look-back ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("applied", "boundary"),
    [
        (date(2027, 6, 15), date(2026, 12, 15)),
        (date(2027, 8, 31), date(2027, 2, 28)),  # no 31 February: the month end
        (date(2028, 8, 31), date(2028, 2, 29)),
        (date(2027, 3, 1), date(2026, 9, 1)),
    ],
)
def test_a_report_six_months_to_the_day_before_the_application_is_too_old(applied: date, boundary: date) -> None:
    # The six months beginning with `boundary` ended the day before the application.
    assert boundary == add_months(applied, -6)
    rules = Threshold(complaints_needed=1)
    day_after = boundary + timedelta(days=1)
    assert assess([rep(day_after - timedelta(days=1), day_after)], applied, rules).result == "met"

    too_old = assess([rep(boundary - timedelta(days=1), boundary)], applied, rules)
    assert too_old.result == "not_met"
    assert too_old.reports[0].counts is False
    assert too_old.reports[0].reasons[0].startswith(
        f"reported on {boundary.isoformat()}: the application ({applied.isoformat()}) was not made within the 6 months")


def test_an_old_report_does_not_count_towards_three() -> None:
    reports = [rep(date(2026, 12, 10), date(2026, 12, 14))] + TWO
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.reports[0].reasons == (
        "reported on 2026-12-14: the application (2027-06-15) was not made within the 6 months beginning with "
        "that date, which ended on 2027-06-13",)


def test_a_report_dated_after_the_application_does_not_count() -> None:
    a = assess([rep(date(2027, 6, 15), date(2027, 6, 16))], APPLIED, Threshold(complaints_needed=1))
    assert a.result == "not_met"
    assert a.reports[0].counts is False


def test_an_old_and_late_report_gives_both_reasons() -> None:
    a = assess([rep(date(2026, 10, 1), date(2026, 12, 1))], APPLIED, DEFAULT)
    assert a.reports[0].reasons == (
        "reported on 2026-12-01: the application (2027-06-15) was not made within the 6 months beginning with "
        "that date, which ended on 2027-05-31",
        "reported 61 days after it happened; it had to be reported by 2026-10-31 (1 month)",
    )


def test_a_shorter_local_look_back() -> None:
    rules = Threshold(lookback_months=3, complaints_needed=1)  # the 3 months beginning 16 March end 15 June
    assert assess([rep(date(2027, 3, 15), date(2027, 3, 16))], APPLIED, rules).result == "met"
    a = assess([rep(date(2027, 3, 14), date(2027, 3, 15))], APPLIED, rules)
    assert a.result == "not_met"
    assert a.reports[0].reasons == (
        "reported on 2027-03-15: the application (2027-06-15) was not made within the 3 months beginning with "
        "that date, which ended on 2027-06-14",)


# ----- the same incident reported to several agencies counts once ---------------------------


def test_one_incident_reported_to_three_agencies_counts_once() -> None:
    same_night = date(2027, 4, 1)
    what = "Music and shouting until 4am"
    reports = [rep(same_night, to="Police", desc=what), rep(same_night, date(2027, 4, 3), to="Council", desc=what),
               rep(same_night, date(2027, 4, 5), to="Housing association", desc=what)]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.qualifying_occasions == (same_night,)
    assert rule(a, "qualifying_complaints").reason == (
        "only 1 qualifying complaint on separate occasions; 3 needed "
        "(2 reports of the same incident, by agency reference or description, counted once)")
    assert all(f.counts for f in a.reports)  # each report qualifies; the occasion counts once


def test_a_duplicate_report_alongside_three_occasions_is_met_and_says_so() -> None:
    reports = [THREE[0], rep(date(2027, 4, 1), ref="P-77"), THREE[2],
               rep(date(2027, 4, 1), date(2027, 4, 2), to="Council", ref="P-77")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").reason == (
        "3 qualifying complaints on separate occasions; 3 needed "
        "(1 report of the same incident, by agency reference or description, counted once)")


def test_a_late_duplicate_is_not_mentioned_as_merged() -> None:
    reports = THREE + [rep(date(2027, 4, 1), date(2027, 5, 10), to="Council")]  # late: not counted at all
    a = assess(reports, APPLIED, DEFAULT)
    assert rule(a, "qualifying_complaints").reason == "3 qualifying complaints on separate occasions; 3 needed"


# ----- reports to an officer met on site -----------------------------------------------------


@pytest.mark.parametrize("officer", ["police_officer", "pcso"])
def test_police_only_an_on_site_report_to_police_or_pcso_counts(area_policies, officer: str) -> None:
    rules = area_policies["derbyshire"].threshold
    assert rules.on_site_reports == "police_only"
    reports = TWO + [rep(date(2027, 5, 20), how="officer_on_site", officer=officer)]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert a.reports[2].counts is True
    assert a.reports[2].reasons == (
        "a qualifying complaint", "reported on site to a police officer or PCSO on duty, which counts")


@pytest.mark.parametrize("officer", ["council_officer", "housing_officer", "other"])
def test_police_only_an_on_site_report_to_anyone_else_does_not_count(area_policies, officer: str) -> None:
    rules = area_policies["derbyshire"].threshold
    reports = TWO + [rep(date(2027, 5, 20), how="officer_on_site", officer=officer)]
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert a.reports[2].counts is False
    assert a.reports[2].reasons == (
        "reported to an officer on site who was not a police officer or PCSO on duty, which does not count in this area",)


def test_police_only_officer_type_missing_needs_judgement_when_it_decides_the_outcome(area_policies) -> None:
    rules = area_policies["derbyshire"].threshold
    reports = TWO + [rep(date(2027, 5, 20), how="officer_on_site")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "needs_judgement"
    assert a.reports[2].counts is None
    assert a.reports[2].reasons == (
        "reported to an officer on site; it counts only if that was a police officer or PCSO on duty, "
        "which the form does not say",)
    assert rule(a, "qualifying_complaints") == RuleResult(
        "qualifying_complaints", "judgement", "2 qualifying complaints certain and 1 that needs checking; 3 needed")
    assert a.qualifying_occasions == (date(2027, 3, 1), date(2027, 4, 1))  # only the certain ones


def test_two_uncertain_reports_are_counted_as_needing_checking() -> None:
    reports = THREE[:1] + [rep(date(2027, 4, 1), how="officer_on_site"), rep(date(2027, 5, 1), how="officer_on_site")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "needs_judgement"
    assert rule(a, "qualifying_complaints").reason == "1 qualifying complaint certain and 2 that need checking; 3 needed"


@pytest.mark.parametrize(
    ("reports", "result"),
    [
        (THREE + [rep(date(2027, 5, 25), how="officer_on_site")], "met"),  # three already certain
        ([rep(date(2027, 5, 25), how="officer_on_site")], "not_met"),  # one more could not reach three
        (TWO + [rep(date(2027, 4, 1), date(2027, 4, 3), how="officer_on_site")], "not_met"),  # same occasion as a certain one
    ],
)
def test_officer_type_missing_does_not_need_judgement_when_it_cannot_change_the_outcome(reports, result) -> None:
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == result
    assert rule(a, "qualifying_complaints").outcome == ("pass" if result == "met" else "fail")


def test_an_uncertain_on_site_report_that_is_also_late_does_not_count() -> None:
    a = assess([rep(date(2027, 3, 1), date(2027, 4, 10), how="officer_on_site")], APPLIED, DEFAULT)
    assert a.reports[0].counts is False  # late decides it: nothing left to judge


@pytest.mark.parametrize("officer", [None, "council_officer", "housing_officer", "other", "pcso"])
def test_on_site_reports_any_counts_every_on_site_report(officer: str | None) -> None:
    rules = Threshold(on_site_reports="any")
    reports = TWO + [rep(date(2027, 5, 20), how="officer_on_site", officer=officer)]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert a.reports[2].counts is True
    assert a.reports[2].reasons == ("a qualifying complaint",)


# ----- a single hate incident (Hart, Gloucestershire) --------------------------------------


@pytest.mark.parametrize("area", ["hart", "gloucestershire"])
def test_one_qualifying_hate_incident_is_enough(area_policies, area: str) -> None:
    rules = area_policies[area].threshold
    assert rules.hate_incidents_needed == 1
    a = assess([rep(date(2027, 3, 1), date(2027, 3, 2), hate=True)], APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "pass",
        "1 qualifying complaint about a hate incident or hate crime on separate occasions (reported on 2027-03-02); "
        "1 needed in this area")
    assert rule(a, "qualifying_complaints").outcome == "fail"  # the other route is not met, and says so


@pytest.mark.parametrize("area", ["hart", "gloucestershire"])
def test_a_hate_incident_reported_late_does_not_meet_the_threshold(area_policies, area: str) -> None:
    rules = area_policies[area].threshold
    a = assess([rep(date(2027, 3, 1), date(2027, 4, 5), hate=True)], APPLIED, rules)
    assert a.result == "not_met"
    assert a.reports[0].counts is False
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "fail",
        "a hate incident was reported, but it is not a qualifying complaint (see the reasons given for each report); "
        "1 needed in this area")
    assert a.reports[0].reasons[0].startswith("reported 35 days after it happened; it had to be reported by 2027-03-31")


def test_without_hate_incidents_the_hate_route_says_none_is_marked(area_policies) -> None:
    a = assess(TWO, APPLIED, area_policies["hart"].threshold)
    assert a.result == "not_met"
    assert rule(a, "hate_incident").reason == (
        "no qualifying complaint is marked as a hate incident or hate crime; 1 needed in this area")


def test_a_hate_incident_needing_checking_needs_judgement(area_policies) -> None:
    a = assess([rep(date(2027, 3, 1), how="officer_on_site", hate=True)], APPLIED, area_policies["hart"].threshold)
    assert a.result == "needs_judgement"
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "judgement",
        "0 qualifying complaints about a hate incident or hate crime certain and 1 that needs checking; 1 needed in this area")


def test_areas_without_the_hate_route_need_three_even_for_a_hate_incident(area_policies) -> None:
    rules = area_policies["derbyshire"].threshold
    a = assess([rep(date(2027, 3, 1), hate=True)], APPLIED, rules)
    assert a.result == "not_met"
    assert "hate_incident" not in rule_names(a)


# ----- at least one report in the last month (Gloucestershire) ----------------------------


def test_gloucestershire_three_complaints_none_in_the_last_month_is_not_met(area_policies) -> None:
    rules = area_policies["gloucestershire"].threshold
    assert rules.recent_report_months == 1
    reports = [rep(date(2027, 3, 1)), rep(date(2027, 4, 1)), rep(date(2027, 5, 10), date(2027, 5, 14))]
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "qualifying_complaints").outcome == "pass"
    assert rule(a, "recent_report") == RuleResult(
        "recent_report", "fail", "no qualifying complaint was reported in the last 1 month (since 2027-05-16)")


def test_gloucestershire_one_report_within_the_month_meets_it(area_policies) -> None:
    rules = area_policies["gloucestershire"].threshold
    reports = [rep(date(2027, 3, 1)), rep(date(2027, 4, 1)), rep(date(2027, 5, 10), date(2027, 5, 16))]  # on the boundary
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "recent_report") == RuleResult(
        "recent_report", "pass", "at least one qualifying complaint was reported in the last 1 month (since 2027-05-16)")


def test_recent_report_does_not_rescue_too_few_complaints() -> None:
    rules = Threshold(recent_report_months=1)
    a = assess([rep(date(2027, 5, 20)), rep(date(2027, 6, 1))], APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "recent_report").outcome == "pass"
    assert rule(a, "qualifying_complaints").outcome == "fail"


def test_a_recent_report_that_needs_checking_needs_judgement() -> None:
    rules = Threshold(recent_report_months=1)
    reports = THREE[:2] + [rep(date(2027, 5, 1)), rep(date(2027, 6, 1), how="officer_on_site")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "needs_judgement"
    assert rule(a, "recent_report") == RuleResult(
        "recent_report", "judgement", "the only complaint reported in the last 1 month needs checking")


def test_recent_report_months_is_pluralised() -> None:
    a = assess(THREE, APPLIED, Threshold(recent_report_months=2))
    assert rule(a, "recent_report").reason == (
        "at least one qualifying complaint was reported in the last 2 months (since 2027-04-16)")


# ----- several complainants (Dacorum: three people) ---------------------------------------


def test_dacorum_three_different_people_meet_it_even_on_two_occasions(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    assert rules.separate_complainants_needed == 3
    fight = "Fight outside the flats"  # one incident, seen and reported by two neighbours
    reports = [rep(date(2027, 4, 1), by="Alice Smith", desc=fight),
               rep(date(2027, 4, 1), by="Bob Jones", to="Council", desc=fight), rep(date(2027, 5, 2), by="Carol White")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").outcome == "fail"
    assert rule(a, "separate_complainants") == RuleResult(
        "separate_complainants", "pass", "3 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed")


def test_dacorum_each_of_three_people_reporting_once_is_met(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 3, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones"),
               rep(date(2027, 5, 2), by="Carol White")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "separate_complainants").outcome == "pass"


def test_the_same_person_written_differently_counts_once(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith", ref="X1"), rep(date(2027, 4, 1), by="  alice   SMITH ", to="Council", ref="X1"),
               rep(date(2027, 5, 2), by="ALICE\tSmith")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "separate_complainants") == RuleResult(
        "separate_complainants", "fail", "1 person separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed")


def test_complainants_from_other_applications_about_the_same_matter_count(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council")]
    alone = assess(reports, APPLIED, rules)
    assert alone.result == "not_met"
    assert rule(alone, "separate_complainants").reason == "2 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed"

    with_others = assess(reports, APPLIED, rules, other_complainants=[("Carol White", IN_WINDOW)])
    assert with_others.result == "met"
    assert rule(with_others, "separate_complainants").reason == (
        "3 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed")


def test_other_complainants_already_counted_or_blank_add_nobody(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council")]
    a = assess(reports, APPLIED, rules, other_complainants=[(n, IN_WINDOW) for n in ("ALICE  SMITH", " bob jones ", "", "   ")])
    assert a.result == "not_met"
    assert rule(a, "separate_complainants").reason == "2 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed"


def test_people_whose_reports_do_not_qualify_are_not_counted(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council"),
               rep(date(2027, 4, 1), date(2027, 5, 10), by="Carol White")]  # late
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "separate_complainants").reason == "2 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed"


def test_areas_without_the_complainants_rule_do_not_show_it(area_policies) -> None:
    for area in ("derbyshire", "hart", "gloucestershire"):
        assert "separate_complainants" not in rule_names(assess(THREE, APPLIED, area_policies[area].threshold))


# ----- senior-officer discretion (Hart) and related behaviour ----------------------------


@pytest.mark.parametrize(
    ("reports", "result"),
    [(TWO, "not_met"), (TWO + [rep(date(2027, 5, 20), how="officer_on_site")], "needs_judgement")],
)
def test_hart_senior_officer_discretion_is_offered_when_not_met(area_policies, reports, result) -> None:
    a = assess(reports, APPLIED, area_policies["hart"].threshold)
    assert a.result == result
    assert rule(a, "senior_officer_discretion") == RuleResult(
        "senior_officer_discretion", "info",
        "a senior officer may still accept the application to protect a vulnerable victim, recording why")


def test_hart_senior_officer_discretion_is_not_offered_when_met(area_policies) -> None:
    a = assess(THREE, APPLIED, area_policies["hart"].threshold)
    assert a.result == "met"
    assert "senior_officer_discretion" not in rule_names(a)


def test_no_senior_officer_discretion_where_the_area_has_none(area_policies) -> None:
    a = assess(TWO, APPLIED, area_policies["derbyshire"].threshold)
    assert a.result == "not_met"
    assert "senior_officer_discretion" not in rule_names(a)


@pytest.mark.parametrize("area", ["dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart"])
@pytest.mark.parametrize(
    "reports",
    [THREE, TWO, [], TWO + [rep(date(2027, 6, 10), how="officer_on_site")]],
    ids=["three", "two", "none", "uncertain"],
)
def test_related_behaviour_is_always_left_to_the_spoc(area_policies, area: str, reports) -> None:
    a = assess(reports, APPLIED, area_policies[area].threshold)
    assert rule(a, "related_behaviour") == RuleResult(
        "related_behaviour", "info", "the SPOC must confirm the complaints are about related anti-social behaviour")
    assert rule_names(a)[0] == "qualifying_complaints"
    assert all(r.outcome in ("pass", "fail", "judgement", "info") for r in a.rules)


# ----- the stored form --------------------------------------------------------------------


def test_to_dict_is_plain_json_and_round_trips() -> None:
    reports = THREE + [rep(date(2027, 4, 1), to="Council"), rep(date(2026, 11, 1)),
                       rep(date(2027, 6, 1), how="officer_on_site")]
    a = assess(reports, APPLIED, Threshold(hate_incidents_needed=1, recent_report_months=1,
                                           separate_complainants_needed=3, senior_officer_discretion=True))
    data = a.to_dict()
    text = json.dumps(data)
    assert json.loads(text) == data
    assert data["assessed_on"] == "2027-06-15"
    assert data["qualifying_occasions"] == ["2027-03-01", "2027-04-01", "2027-05-20"]
    assert data["result"] == a.result
    assert [r["rule"] for r in data["rules"]] == rule_names(a)
    assert data["reports"][4]["happened_on"] == "2026-11-01"
    assert data["reports"][4]["counts"] is False
    assert data["reports"][5]["counts"] is None
    assert [date.fromisoformat(d) for d in data["qualifying_occasions"]] == list(a.qualifying_occasions)
    assert [date.fromisoformat(r["happened_on"]) for r in data["reports"]] == [f.happened_on for f in a.reports]
    assert date.fromisoformat(data["assessed_on"]) == a.assessed_on


def test_to_dict_does_not_change_the_assessment() -> None:
    a = assess(THREE, APPLIED, DEFAULT)
    a.to_dict()
    assert a.reports[0].happened_on == date(2027, 3, 1)
    assert isinstance(a.reports[0].reasons, tuple)


def test_an_outcome_letter_restarts_the_count_for_the_same_matter():
    """Reports made on or before the previous review's outcome letter no longer count."""
    applied = date(2026, 12, 21)
    reports = [Report(happened_on=d, reported_on=d, reported_by="Sam", reported_to="Police", how_reported="phone")
               for d in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 11, 20), date(2026, 12, 10))]
    before = assess(reports, applied, Threshold())
    after = assess(reports, applied, Threshold(), counts_after=date(2026, 11, 1))
    assert before.result == "met" and after.result == "not_met"
    late = [f for f in after.reports if f.counts is False]
    assert len(late) == 2 and "previous case review" in late[0].reasons[0] and "2026-11-01" in late[0].reasons[0]


# ===== issue 11: the law's edges ==============================================================
# Section 104(11): a qualifying complaint is made "within the period of one month beginning with"
# the behaviour, and the application "within the period of six months beginning with" the
# complaint. Both are corresponding-date periods (like statutory_month_end).

from chalicelib.domain.calendar import months_period_end, months_period_start  # noqa: E402


@pytest.mark.parametrize(
    ("complaint", "last_day"),
    [
        (date(2026, 12, 15), date(2027, 6, 14)),  # the reported bug: 15 December is out for 15 June
        (date(2027, 3, 31), date(2027, 9, 30)),  # no 31 September: month end
        (date(2027, 8, 31), date(2028, 2, 29)),  # no 31 February: month end, leap year
        (date(2026, 8, 31), date(2027, 2, 28)),
        (date(2027, 8, 29), date(2028, 2, 28)),  # 29 February 2028 exists: the day before
        (date(2026, 8, 29), date(2027, 2, 28)),  # no 29 February 2027: month end
        (date(2026, 8, 28), date(2027, 2, 27)),
        (date(2027, 2, 28), date(2027, 8, 27)),
        (date(2028, 2, 29), date(2028, 8, 28)),
        (date(2027, 1, 31), date(2027, 7, 30)),
        (date(2026, 12, 31), date(2027, 6, 30)),  # no 31 June
        (date(2026, 12, 25), date(2027, 6, 24)),  # Christmas Day: calendar months ignore holidays
        (date(2027, 3, 26), date(2027, 9, 25)),  # Good Friday
        (date(2027, 3, 29), date(2027, 9, 28)),  # Easter Monday
        (date(2027, 7, 1), date(2027, 12, 31)),
    ],
)
def test_six_months_beginning_with_a_complaint_end_the_day_before_the_corresponding_date(complaint, last_day) -> None:
    assert months_period_end(complaint, 6) == last_day
    rules = Threshold(complaints_needed=1)
    on_last_day = assess([rep(complaint, complaint)], last_day, rules)
    assert on_last_day.result == "met", on_last_day.reports
    day_after = last_day + timedelta(days=1)
    too_late = assess([rep(complaint, complaint)], day_after, rules)
    assert too_late.result == "not_met"
    assert too_late.reports[0].reasons == (
        f"reported on {complaint.isoformat()}: the application ({day_after.isoformat()}) was not made within the "
        f"6 months beginning with that date, which ended on {last_day.isoformat()}",)


@pytest.mark.parametrize(
    ("applied", "first_day"),
    [
        (date(2027, 6, 15), date(2026, 12, 16)),
        (date(2027, 8, 31), date(2027, 3, 1)),  # 28 February 2027's six months end on 27 August
        (date(2028, 8, 31), date(2028, 3, 1)),  # 29 February 2028's end on 28 August
        (date(2027, 2, 28), date(2026, 8, 29)),
        (date(2028, 2, 29), date(2027, 8, 30)),
        (date(2027, 9, 30), date(2027, 3, 31)),
        (date(2027, 3, 31), date(2026, 10, 1)),
        (date(2027, 6, 24), date(2026, 12, 25)),
        (date(2027, 1, 1), date(2026, 7, 2)),
        (date(2027, 9, 28), date(2027, 3, 29)),
        (date(2027, 7, 31), date(2027, 2, 1)),
    ],
)
def test_the_look_back_starts_on_the_first_complaint_date_whose_six_months_include_the_application(applied, first_day) -> None:
    assert months_period_start(applied, 6) == first_day
    rules = Threshold(complaints_needed=1)
    assert assess([rep(first_day, first_day)], applied, rules).result == "met"
    before = first_day - timedelta(days=1)
    assert assess([rep(before, before)], applied, rules).result == "not_met"


@pytest.mark.parametrize("months", [1, 2, 3, 6])
def test_month_periods_property_over_four_years(months: int) -> None:
    day = date(2026, 1, 1)
    while day < date(2030, 1, 1):
        end = months_period_end(day, months)
        following = end + timedelta(days=1)
        corresponding = add_months(day, months)
        if corresponding.day == day.day:
            assert following == corresponding, day
        else:  # no corresponding date: the period runs to the end of that month
            assert following.day == 1 and end.month == corresponding.month, day
        if months == 1:
            assert end == statutory_month_end(day)
        start = months_period_start(day, months)
        assert months_period_end(start, months) >= day > months_period_end(start - timedelta(days=1), months), day
        day += timedelta(days=1)


def test_the_recent_report_month_begins_with_the_report() -> None:
    rules = Threshold(recent_report_months=1)  # 15 June: the month beginning 15 May ended 14 June
    reports = [rep(date(2027, 3, 1)), rep(date(2027, 4, 1)), rep(date(2027, 5, 14), date(2027, 5, 15))]
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "recent_report") == RuleResult(
        "recent_report", "fail", "no qualifying complaint was reported in the last 1 month (since 2027-05-16)")
    reports[2] = rep(date(2027, 5, 15), date(2027, 5, 16))
    assert assess(reports, APPLIED, rules).result == "met"


@pytest.mark.parametrize(
    ("applied", "since"),
    [
        (date(2027, 3, 31), date(2027, 3, 1)),  # 28 February's month ends on 27 March
        (date(2028, 3, 30), date(2028, 3, 1)),  # 29 February 2028's month ends on 28 March
        (date(2027, 1, 24), date(2026, 12, 25)),  # Christmas Day
        (date(2027, 4, 25), date(2027, 3, 26)),  # Good Friday
    ],
)
def test_the_recent_report_month_around_month_ends_and_holidays(applied, since) -> None:
    rules = Threshold(recent_report_months=1, complaints_needed=1)
    assert assess([rep(since, since)], applied, rules).result == "met"
    before = since - timedelta(days=1)
    assert assess([rep(before, before)], applied, rules).result == "not_met"


def test_partners_are_asked_about_the_same_window() -> None:
    from chalicelib.domain.partners import lookback_period

    assert lookback_period(date(2027, 6, 15), 6) == (date(2026, 12, 16), date(2027, 6, 15))
    assert lookback_period(date(2027, 8, 31), 6) == (date(2027, 3, 1), date(2027, 8, 31))


# Bug 2: the incident's own date. Read with s.104(11): the month runs from the behaviour to the
# complaint, the six months from the complaint to the application. An incident may so lie up to a
# month before the six months and still count; a report dated before its incident cannot be right.


def test_an_incident_before_the_six_months_counts_when_its_complaint_is_inside_them() -> None:
    a = assess([rep(date(2026, 12, 10), date(2026, 12, 20))], APPLIED, Threshold(complaints_needed=1))
    assert a.result == "met"
    assert a.reports[0].reasons == (
        "a qualifying complaint",
        "it happened on 2026-12-10, before the 6 months that end with the application began (2026-12-16); "
        "it still counts, because the law runs those months from the complaint, not the incident (section 104(11))",
    )


@pytest.mark.parametrize(
    ("happened", "reported", "applied", "result"),
    [
        (date(2026, 12, 1), date(2026, 12, 31), date(2027, 6, 30), "met"),  # a month, then six: the longest span
        (date(2026, 12, 1), date(2026, 12, 31), date(2027, 7, 1), "not_met"),
        (date(2026, 12, 1), date(2027, 1, 1), date(2027, 6, 30), "not_met"),  # the complaint was a day late
        (date(2027, 1, 31), date(2027, 2, 28), date(2027, 8, 27), "met"),
        (date(2027, 1, 31), date(2027, 2, 28), date(2027, 8, 28), "not_met"),
        (date(2027, 2, 26), date(2027, 3, 25), date(2027, 9, 24), "met"),  # across Easter 2027
    ],
)
def test_the_longest_span_from_incident_to_application(happened, reported, applied, result) -> None:
    assert assess([rep(happened, reported)], applied, Threshold(complaints_needed=1)).result == result


def test_a_report_dated_before_its_incident_needs_checking() -> None:
    a = assess([rep(date(2027, 4, 2), date(2027, 4, 1))], APPLIED, Threshold(complaints_needed=1))
    assert a.result == "needs_judgement"
    assert a.reports[0].counts is None
    assert a.reports[0].reasons == (
        "reported on 2027-04-01, before the incident it reports (2027-04-02): one of the dates needs checking",)


# Bug 3: reports of the same day merge only when they are the same incident.


def test_two_different_incidents_reported_on_the_same_day_need_judgement() -> None:
    same_day = date(2027, 4, 1)
    reports = [rep(date(2027, 3, 1), desc="Music at 2am"),
               rep(same_day, ref="DC-1", desc="Music at 2am"), rep(same_day, ref="DC-2", desc="Stones at my window")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "needs_judgement"
    assert rule(a, "qualifying_complaints") == RuleResult(
        "qualifying_complaints", "judgement",
        "2 qualifying complaints certain and 1 that needs checking; 3 needed (on 2027-04-01, 2 reports may be "
        "2 separate incidents: not all share an agency reference or description)")
    assert a.qualifying_occasions == (date(2027, 3, 1), same_day)


def test_same_day_reports_without_a_reference_or_description_need_judgement() -> None:
    same_night = date(2027, 4, 1)
    reports = [rep(same_night, to="Police"), rep(same_night, to="Council"), rep(same_night, to="Housing")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "needs_judgement"
    assert "3 reports may be 3 separate incidents" in rule(a, "qualifying_complaints").reason


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"ref": "DC-4471", "desc": "Music"}, {"ref": "dc 4471", "desc": "Loud music and shouting"}),  # same reference
        ({"ref": "DC-4471", "desc": "Music  at 2am."}, {"ref": "C-9", "desc": "music at 2am"}),  # same description
        ({"desc": "Music at 2am"}, {"desc": "Music at 2am"}),
    ],
)
def test_same_day_reports_of_the_same_incident_count_once(first, second) -> None:
    day = date(2027, 4, 1)
    reports = [rep(date(2027, 3, 1)), rep(day, to="Police", **first), rep(day, date(2027, 4, 3), to="Council", **second)]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert rule(a, "qualifying_complaints").reason == (
        "only 2 qualifying complaints on separate occasions; 3 needed "
        "(1 report of the same incident, by agency reference or description, counted once)")


def test_three_reports_two_of_one_incident_and_one_other() -> None:
    day = date(2027, 4, 1)
    reports = [rep(date(2027, 3, 1)), rep(day, ref="P-1"), rep(day, ref="P-1", to="Council"), rep(day, ref="P-2")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "needs_judgement"
    assert rule(a, "qualifying_complaints").reason == (
        "2 qualifying complaints certain and 1 that needs checking; 3 needed "
        "(1 report of the same incident, by agency reference or description, counted once; on 2027-04-01, "
        "3 reports may be 2 separate incidents: not all share an agency reference or description)")


def test_reports_carry_the_reference_and_description_from_every_source() -> None:
    from chalicelib.intake import reports_from
    from chalicelib.openapi import example_application, example_return
    from chalicelib.partner_returns import reports_from_application, reports_from_return
    from chalicelib.schemas import validate_application

    today = date(2026, 12, 21)
    body = example_application(today)
    from_form = reports_from(validate_application(body, today=today, areas={"derbyshire"}))
    assert [(r.agency_reference, r.description) for r in from_form[:2]] == [
        ("PH-20931", "Music and shouting from 1am to 4am."),
        ("DC-4471", "Music again until 3am; banging on my door when I complained.")]
    assert from_form[2].agency_reference is None
    stored = reports_from_application(body)
    assert [(r.agency_reference, r.description) for r in stored] == [(r.agency_reference, r.description) for r in from_form]
    returned = reports_from_return("Derbyshire Constabulary", example_return(today))
    assert (returned[0].agency_reference, returned[0].description) == (
        "DC-5001", "Loud music after midnight; third report this month.")


def test_a_partner_return_of_a_report_the_applicant_listed_counts_once() -> None:
    from chalicelib.partner_returns import reports_from_return

    day = date(2027, 4, 1)
    form = [rep(date(2027, 3, 1)), rep(day, date(2027, 4, 2), ref="DC-5001", desc="Music all night")]
    returned = reports_from_return("Police", {"reports": [{
        "reference": "DC 5001", "date_received": "2027-04-02", "incident_date": "2027-04-01",
        "reporting_party": "Sam Taylor", "overview": "Noise complaint", "how_received": "phone"}]})
    a = assess(form + returned, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.qualifying_occasions == (date(2027, 3, 1), day)


# Bug 4: several complainants: their own qualifying complaints, in the window, truthfully explained.


def test_other_complainants_count_only_with_a_qualifying_complaint_in_the_window(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council")]
    ten_months_ago = date(2026, 8, 15)
    a = assess(reports, APPLIED, rules, other_complainants=[("Carol White", ten_months_ago), ("Dan Ode", None),
                                                            ("Eve Fox", date(2026, 12, 15))])
    assert a.result == "not_met"
    assert rule(a, "separate_complainants") == RuleResult(
        "separate_complainants", "fail",
        "2 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed")
    met = assess(reports, APPLIED, rules, other_complainants=[("Carol White", date(2026, 12, 16))])
    assert rule(met, "separate_complainants") == RuleResult(
        "separate_complainants", "pass",
        "3 people separately made qualifying complaints about this behaviour between 2026-12-16 and 2027-06-15; 3 needed")


def test_other_complainants_before_the_last_outcome_letter_do_not_count(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 5, 1), by="Bob Jones")]
    others = [("Carol White", date(2027, 2, 1))]
    assert assess(reports, APPLIED, rules, other_complainants=others).result == "met"
    after = assess(reports, APPLIED, rules, other_complainants=others, counts_after=date(2027, 3, 1))
    assert after.result == "not_met"
    assert "2 people" in rule(after, "separate_complainants").reason


def test_complainant_entries_carry_each_persons_latest_qualifying_complaint() -> None:
    from chalicelib.partner_returns import complainant_ids, person_id
    from chalicelib.partner_returns import MatterHistory

    matter = "m1"
    application = {"victim": {"name": "Sam Taylor"}, "incidents": [
        {"happened_on": "2027-03-01", "reported_on": "2027-03-02", "reported_by": "Sam Taylor", "reported_to": "Police",
         "how_reported": "phone", "description": "a"},
        {"happened_on": "2027-04-01", "reported_on": "2027-04-09", "reported_by": "sam  TAYLOR", "reported_to": "Police",
         "how_reported": "phone", "description": "b"},
        {"happened_on": "2027-04-01", "reported_on": "2027-06-01", "reported_by": "Sam Taylor", "reported_to": "Council",
         "how_reported": "phone", "description": "late: not a qualifying complaint"},
        {"happened_on": "2027-03-01", "reported_on": "2027-05-01", "reported_by": "Kim Lo", "reported_to": "Council",
         "how_reported": "phone", "description": "late: Kim made no qualifying complaint"},
    ]}
    from chalicelib.partner_returns import reports_from_application

    a = assess(reports_from_application(application), APPLIED, DEFAULT)
    ids = complainant_ids(application, matter, a)
    assert ids == {f"{person_id(matter, 'Sam Taylor')}|2027-04-09"}
    history = MatterHistory([f"{person_id(matter, 'Sam Taylor')}|2027-04-09", person_id(matter, "Old Entry") or ""],
                            None, matter)
    assert history.complainants_for([rep(date(2027, 5, 1), by="SAM taylor")]) == [
        ("SAM taylor", date(2027, 4, 9)), (person_id(matter, "Old Entry"), None)]


# Bug 5: a hate-incident route that needs more than one incident.


def test_an_area_can_need_two_hate_incidents() -> None:
    rules = Threshold(hate_incidents_needed=2)
    one = assess([rep(date(2027, 3, 1), hate=True)], APPLIED, rules)
    assert one.result == "not_met"
    assert rule(one, "hate_incident") == RuleResult(
        "hate_incident", "fail",
        "only 1 qualifying complaint about a hate incident or hate crime on separate occasions; 2 needed in this area")
    two = assess([rep(date(2027, 3, 1), hate=True), rep(date(2027, 4, 1), hate=True)], APPLIED, rules)
    assert two.result == "met"
    assert rule(two, "hate_incident") == RuleResult(
        "hate_incident", "pass",
        "2 qualifying complaints about a hate incident or hate crime on separate occasions "
        "(reported on 2027-03-02 and 2027-04-02); 2 needed in this area")


def test_two_reports_of_one_hate_incident_are_one() -> None:
    rules = Threshold(hate_incidents_needed=2)
    day = date(2027, 3, 1)
    a = assess([rep(day, hate=True, desc="Abuse in the street"), rep(day, to="Council", hate=True, desc="Abuse in the street")],
               APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "hate_incident").outcome == "fail"


def test_a_second_hate_incident_needing_checking_needs_judgement() -> None:
    rules = Threshold(hate_incidents_needed=2)
    a = assess([rep(date(2027, 3, 1), hate=True), rep(date(2027, 4, 1), hate=True, how="officer_on_site")], APPLIED, rules)
    assert a.result == "needs_judgement"
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "judgement",
        "1 qualifying complaint about a hate incident or hate crime certain and 1 that needs checking; 2 needed in this area")


@pytest.mark.parametrize("needed", [0, 4])
def test_the_hate_count_is_one_to_three(needed: int) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Threshold(hate_incidents_needed=needed)


@pytest.mark.parametrize("needed, says", [(1, "One hate incident or hate crime reported"),
                                           (2, "2 hate incidents or hate crimes reported"),
                                           (3, "3 hate incidents or hate crimes reported")])
def test_letters_say_how_many_hate_incidents_the_route_needs(area_policies, needed, says) -> None:
    from datetime import date as _date
    from pathlib import Path

    from chalicelib.letters import LetterRenderer

    policy = area_policies["hart"].model_copy(update={"threshold": Threshold(hate_incidents_needed=needed)})
    renderer = LetterRenderer(Path(__file__).resolve().parents[2] / "templates")
    text = renderer.render_email("partner_request", {
        "ref": "CT-7K3M-9QXR", "area": policy.area, "contacts": policy.contacts, "partner_name": "Police",
        "due_on": _date(2027, 1, 8), "expires_on": _date(2027, 1, 22), "period_start": _date(2026, 6, 22),
        "period_end": _date(2026, 12, 21), "link": "https://x.invalid/p", "threshold": policy.threshold,
        "timescales": policy.timescales}).text
    assert says in text
    assert ("One hate incident" in text) == (needed == 1)
