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
ONE_MONTH = Period(months=1)
THIRTY_DAYS = Period(calendar_days=30)


def rep(happened: date, reported: date | None = None, *, by: str = "Sam Taylor", to: str = "Police",
        how: str = "phone", hate: bool = False, officer: str | None = None) -> Report:
    """One report; by default made the day after the incident."""
    return Report(happened_on=happened, reported_on=reported or happened + timedelta(days=1), reported_by=by,
                  reported_to=to, how_reported=how, hate_motivated=hate, officer_type=officer)


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
def test_a_report_exactly_six_months_before_the_application_counts(applied: date, boundary: date) -> None:
    assert boundary == add_months(applied, -6)
    rules = Threshold(complaints_needed=1)
    on_boundary = assess([rep(boundary - timedelta(days=1), boundary)], applied, rules)
    assert on_boundary.result == "met"

    before = boundary - timedelta(days=1)
    too_old = assess([rep(before - timedelta(days=1), before)], applied, rules)
    assert too_old.result == "not_met"
    assert too_old.reports[0].counts is False
    assert too_old.reports[0].reasons == (
        f"reported on {before.isoformat()}, outside the 6 months before the application",)


def test_an_old_report_does_not_count_towards_three() -> None:
    reports = [rep(date(2026, 12, 10), date(2026, 12, 14))] + TWO
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.reports[0].reasons == ("reported on 2026-12-14, outside the 6 months before the application",)


def test_a_report_dated_after_the_application_does_not_count() -> None:
    a = assess([rep(date(2027, 6, 15), date(2027, 6, 16))], APPLIED, Threshold(complaints_needed=1))
    assert a.result == "not_met"
    assert a.reports[0].counts is False


def test_an_old_and_late_report_gives_both_reasons() -> None:
    a = assess([rep(date(2026, 10, 1), date(2026, 12, 1))], APPLIED, DEFAULT)
    assert a.reports[0].reasons == (
        "reported on 2026-12-01, outside the 6 months before the application",
        "reported 61 days after it happened; it had to be reported by 2026-10-31 (1 month)",
    )


def test_a_shorter_local_look_back() -> None:
    rules = Threshold(lookback_months=3, complaints_needed=1)
    assert assess([rep(date(2027, 3, 14), date(2027, 3, 15))], APPLIED, rules).result == "met"
    a = assess([rep(date(2027, 3, 13), date(2027, 3, 14))], APPLIED, rules)
    assert a.result == "not_met"
    assert a.reports[0].reasons == ("reported on 2027-03-14, outside the 3 months before the application",)


# ----- the same incident reported to several agencies counts once ---------------------------


def test_one_incident_reported_to_three_agencies_counts_once() -> None:
    same_night = date(2027, 4, 1)
    reports = [rep(same_night, to="Police"), rep(same_night, date(2027, 4, 3), to="Council"),
               rep(same_night, date(2027, 4, 5), to="Housing association")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "not_met"
    assert a.qualifying_occasions == (same_night,)
    assert rule(a, "qualifying_complaints").reason == (
        "only 1 qualifying complaint on separate occasions; 3 needed "
        "(2 reports of the same incident to another agency counted once)")
    assert all(f.counts for f in a.reports)  # each report qualifies; the occasion counts once


def test_a_duplicate_report_alongside_three_occasions_is_met_and_says_so() -> None:
    reports = THREE + [rep(date(2027, 4, 1), date(2027, 4, 2), to="Council")]
    a = assess(reports, APPLIED, DEFAULT)
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").reason == (
        "3 qualifying complaints on separate occasions; 3 needed "
        "(1 report of the same incident to another agency counted once)")


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
    assert rules.single_hate_incident
    a = assess([rep(date(2027, 3, 1), date(2027, 3, 2), hate=True)], APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "pass", "a hate incident reported on 2027-03-02 is a qualifying complaint; one is enough in this area")
    assert rule(a, "qualifying_complaints").outcome == "fail"  # the other route is not met, and says so


@pytest.mark.parametrize("area", ["hart", "gloucestershire"])
def test_a_hate_incident_reported_late_does_not_meet_the_threshold(area_policies, area: str) -> None:
    rules = area_policies[area].threshold
    a = assess([rep(date(2027, 3, 1), date(2027, 4, 5), hate=True)], APPLIED, rules)
    assert a.result == "not_met"
    assert a.reports[0].counts is False
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "fail",
        "a hate incident was reported, but it is not a qualifying complaint (see the reasons given for each report)")
    assert a.reports[0].reasons[0].startswith("reported 35 days after it happened; it had to be reported by 2027-03-31")


def test_without_hate_incidents_the_hate_route_says_none_is_marked(area_policies) -> None:
    a = assess(TWO, APPLIED, area_policies["hart"].threshold)
    assert a.result == "not_met"
    assert rule(a, "hate_incident").reason == "no qualifying complaint is marked as a hate incident or hate crime"


def test_a_hate_incident_needing_checking_needs_judgement(area_policies) -> None:
    a = assess([rep(date(2027, 3, 1), how="officer_on_site", hate=True)], APPLIED, area_policies["hart"].threshold)
    assert a.result == "needs_judgement"
    assert rule(a, "hate_incident") == RuleResult(
        "hate_incident", "judgement", "a hate incident was reported, but whether it is a qualifying complaint needs checking")


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
        "recent_report", "fail", "no qualifying complaint was reported in the last 1 month (since 2027-05-15)")


def test_gloucestershire_one_report_within_the_month_meets_it(area_policies) -> None:
    rules = area_policies["gloucestershire"].threshold
    reports = [rep(date(2027, 3, 1)), rep(date(2027, 4, 1)), rep(date(2027, 5, 10), date(2027, 5, 15))]  # on the boundary
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "recent_report") == RuleResult(
        "recent_report", "pass", "at least one qualifying complaint was reported in the last 1 month (since 2027-05-15)")


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
        "at least one qualifying complaint was reported in the last 2 months (since 2027-04-15)")


# ----- several complainants (Dacorum: three people) ---------------------------------------


def test_dacorum_three_different_people_meet_it_even_on_two_occasions(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    assert rules.separate_complainants_needed == 3
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council"),
               rep(date(2027, 5, 2), by="Carol White")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "qualifying_complaints").outcome == "fail"
    assert rule(a, "separate_complainants") == RuleResult(
        "separate_complainants", "pass", "3 people separately reported this ASB within 6 months; 3 needed")


def test_dacorum_each_of_three_people_reporting_once_is_met(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 3, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones"),
               rep(date(2027, 5, 2), by="Carol White")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "met"
    assert rule(a, "separate_complainants").outcome == "pass"


def test_the_same_person_written_differently_counts_once(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="  alice   SMITH ", to="Council"),
               rep(date(2027, 5, 2), by="ALICE\tSmith")]
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "separate_complainants") == RuleResult(
        "separate_complainants", "fail", "1 person separately reported this ASB within 6 months; 3 needed")


def test_complainants_from_other_applications_about_the_same_matter_count(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council")]
    alone = assess(reports, APPLIED, rules)
    assert alone.result == "not_met"
    assert rule(alone, "separate_complainants").reason == "2 people separately reported this ASB within 6 months; 3 needed"

    with_others = assess(reports, APPLIED, rules, other_complainants=["Carol White"])
    assert with_others.result == "met"
    assert rule(with_others, "separate_complainants").reason == (
        "3 people separately reported this ASB within 6 months; 3 needed")


def test_other_complainants_already_counted_or_blank_add_nobody(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council")]
    a = assess(reports, APPLIED, rules, other_complainants=["ALICE  SMITH", " bob jones ", "", "   "])
    assert a.result == "not_met"
    assert rule(a, "separate_complainants").reason == "2 people separately reported this ASB within 6 months; 3 needed"


def test_people_whose_reports_do_not_qualify_are_not_counted(area_policies) -> None:
    rules = area_policies["dacorum"].threshold
    reports = [rep(date(2027, 4, 1), by="Alice Smith"), rep(date(2027, 4, 1), by="Bob Jones", to="Council"),
               rep(date(2027, 4, 1), date(2027, 5, 10), by="Carol White")]  # late
    a = assess(reports, APPLIED, rules)
    assert a.result == "not_met"
    assert rule(a, "separate_complainants").reason == "2 people separately reported this ASB within 6 months; 3 needed"


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
    a = assess(reports, APPLIED, Threshold(single_hate_incident=True, recent_report_months=1,
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
