"""What intake decides for each area: the case's first state, its letters and its deadlines
in the area's working days; Dacorum's standing monthly meeting; and illegal steps."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.case import (
    IllegalStep,
    LetterPlan,
    Status,
    calendar_for,
    due_after,
    next_meeting,
    next_status,
    plan_intake,
)
from chalicelib.domain.policy import AssessmentMeeting, Period

AREAS = ("dacorum", "derbyshire", "folkestone-hythe", "gloucestershire", "hart")
MONDAY_BEFORE_CHRISTMAS = date(2026, 12, 21)  # Christmas Fri 25, Boxing Day substitute Mon 28, New Year Fri 1 Jan

ENG = WorkingCalendar("ENG")


def plan(policy, *, on_behalf=False, consent_given=False, received_on=MONDAY_BEFORE_CHRISTMAS):
    return plan_intake(on_behalf=on_behalf, consent_given=consent_given, received_on=received_on,
                       policy=policy, calendar=calendar_for(policy))


# ----- the victim applying ----------------------------------------------------------------


def test_derbyshire_victim_applying_is_acknowledged_with_deadlines_across_christmas(area_policies) -> None:
    p = plan(area_policies["derbyshire"])
    assert p.step == "submit_complete"
    assert p.status is Status.ACKNOWLEDGED
    assert p.letters == (LetterPlan("acknowledgement", "applicant"),)
    assert p.deadlines == {"acknowledge": date(2026, 12, 30), "threshold_decision": date(2027, 1, 14)}
    assert p.assessment_meeting is None


@pytest.mark.parametrize(
    ("area", "acknowledge", "decision"),
    [
        ("derbyshire", date(2026, 12, 30), date(2027, 1, 14)),  # 5 and 15 working days
        ("hart", date(2026, 12, 30), date(2027, 1, 14)),
        ("gloucestershire", date(2026, 12, 30), date(2027, 1, 14)),
        ("folkestone-hythe", None, None),  # whatever its file says, computed in its working days
        ("dacorum", date(2026, 12, 23), date(2027, 1, 19)),  # 2 working days; CSAG 12 Jan + 5 working days
    ],
)
def test_victim_applying_deadlines_per_area(area_policies, area, acknowledge, decision) -> None:
    policy = area_policies[area]
    p = plan(policy)
    cal = calendar_for(policy)
    assert p.status is Status.ACKNOWLEDGED
    assert set(p.deadlines) == {"acknowledge", "threshold_decision"}
    assert p.deadlines["acknowledge"] == cal.working_days_after(
        MONDAY_BEFORE_CHRISTMAS, policy.timescales.acknowledge.working_days)
    if acknowledge is not None:
        assert p.deadlines["acknowledge"] == acknowledge
        assert p.deadlines["threshold_decision"] == decision
    for due in p.deadlines.values():
        assert cal.is_working_day(due)


def test_consent_given_flag_does_not_matter_when_the_victim_applies(area_policies) -> None:
    policy = area_policies["derbyshire"]
    assert plan(policy, consent_given=True) == plan(policy, consent_given=False)


def test_dacorum_acknowledges_in_two_working_days_and_decides_after_its_csag(area_policies) -> None:
    p = plan(area_policies["dacorum"])
    assert p.deadlines["acknowledge"] == date(2026, 12, 23)
    assert p.assessment_meeting == date(2027, 1, 12)  # second Tuesday of January 2027
    assert p.deadlines["threshold_decision"] == date(2027, 1, 19)  # 5 working days after the meeting


def test_dacorum_threshold_decision_is_the_outcome_letter_timescale_after_the_meeting(area_policies) -> None:
    policy = area_policies["dacorum"]
    cal = calendar_for(policy)
    for received in (date(2027, 1, 12), date(2027, 2, 8), date(2027, 3, 31), date(2027, 12, 1)):
        p = plan(policy, received_on=received)
        meeting = next_meeting(received, policy.assessment_meeting, cal)
        assert p.assessment_meeting == meeting
        assert p.deadlines["threshold_decision"] == due_after(meeting, policy.timescales.outcome_letter, cal)
        assert p.deadlines["threshold_decision"] == cal.working_days_after(meeting, 5)


# ----- someone applying on the victim's behalf -------------------------------------------


@pytest.mark.parametrize("area", AREAS)
def test_on_behalf_with_consent_acknowledges_and_writes_to_the_victim(area_policies, area) -> None:
    p = plan(area_policies[area], on_behalf=True, consent_given=True)
    assert p.step == "submit_complete"
    assert p.status is Status.ACKNOWLEDGED
    assert p.letters == (LetterPlan("acknowledgement", "applicant"), LetterPlan("victim_confirmation", "victim"))
    assert p.deadlines == plan(area_policies[area]).deadlines  # same clock as the victim applying


@pytest.mark.parametrize("area", AREAS)
def test_on_behalf_with_consent_to_follow_waits_for_consent(area_policies, area) -> None:
    p = plan(area_policies[area], on_behalf=True, consent_given=False)
    assert p.step == "submit_awaiting_consent"
    assert p.status is Status.AWAITING_CONSENT
    assert p.letters == (LetterPlan("consent_required", "applicant"),)
    assert "threshold_decision" not in p.deadlines  # the review does not start until consent arrives
    assert p.assessment_meeting is None


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize(("on_behalf", "consent_given"), [(False, False), (True, True), (True, False)])
def test_every_planned_letter_has_a_template_in_the_area_policy(area_policies, area, on_behalf, consent_given) -> None:
    policy = area_policies[area]
    for letter in plan(policy, on_behalf=on_behalf, consent_given=consent_given).letters:
        assert policy.letter_template(letter.step), (area, letter.step)


# ----- the standing monthly meeting --------------------------------------------------------

CSAG = AssessmentMeeting(name="CSAG", weekday="tuesday", week_of_month=2)


@pytest.mark.parametrize(
    ("after", "meeting"),
    [
        (date(2026, 12, 7), date(2026, 12, 8)),  # the day before
        (date(2026, 12, 8), date(2027, 1, 12)),  # strictly after: not the same day
        (date(2026, 12, 21), date(2027, 1, 12)),  # rolls into the next month and year
        (date(2027, 1, 1), date(2027, 1, 12)),
        (date(2027, 1, 12), date(2027, 2, 9)),
        (date(2027, 1, 31), date(2027, 2, 9)),
        (date(2027, 2, 28), date(2027, 3, 9)),
        (date(2027, 6, 1), date(2027, 6, 8)),  # 1 June is a Tuesday: the second is the 8th
    ],
)
def test_next_meeting_second_tuesday(after: date, meeting: date) -> None:
    assert next_meeting(after, CSAG, ENG) == meeting


def test_dacorum_policy_meets_on_the_second_tuesday(area_policies) -> None:
    policy = area_policies["dacorum"]
    assert policy.assessment_meeting.weekday == "tuesday" and policy.assessment_meeting.week_of_month == 2
    assert next_meeting(MONDAY_BEFORE_CHRISTMAS, policy.assessment_meeting, calendar_for(policy)) == date(2027, 1, 12)


@pytest.mark.parametrize(
    ("meeting", "after", "held"),
    [
        # first Monday of May 2027 is the early May bank holiday: moved to Tuesday
        (AssessmentMeeting(name="m", weekday="monday", week_of_month=1), date(2027, 4, 20), date(2027, 5, 4)),
        # fourth Monday of May 2026 is the spring bank holiday
        (AssessmentMeeting(name="m", weekday="monday", week_of_month=4), date(2026, 5, 19), date(2026, 5, 26)),
        # fourth Friday of December 2026 is Christmas Day; Monday 28 is the Boxing Day substitute
        (AssessmentMeeting(name="m", weekday="friday", week_of_month=4), date(2026, 12, 19), date(2026, 12, 29)),
    ],
)
def test_a_meeting_on_a_bank_holiday_moves_to_the_next_working_day(meeting, after, held) -> None:
    assert next_meeting(after, meeting, ENG) == held
    assert ENG.is_working_day(held)


def test_an_application_received_on_the_bank_holiday_goes_to_the_meeting_held_next_day() -> None:
    # The nominal meeting day is the holiday itself; the meeting is held on Tuesday 4 May,
    # which is after the application, so the applicant should not wait until June.
    first_monday = AssessmentMeeting(name="m", weekday="monday", week_of_month=1)
    assert next_meeting(date(2027, 5, 3), first_monday, ENG) == date(2027, 5, 4)
    assert next_meeting(date(2027, 5, 4), first_monday, ENG) == date(2027, 6, 7)


def test_a_meeting_on_a_local_closure_day_moves_too() -> None:
    closed = WorkingCalendar("ENG", [date(2027, 1, 12)])
    assert next_meeting(date(2027, 1, 1), CSAG, closed) == date(2027, 1, 13)


@pytest.mark.parametrize("weekday", ["monday", "tuesday", "wednesday", "thursday", "friday"])
@pytest.mark.parametrize("week", [1, 2, 3, 4])
def test_next_meeting_is_a_working_day_within_six_weeks(weekday: str, week: int) -> None:
    meeting = AssessmentMeeting(name="m", weekday=weekday, week_of_month=week)
    after = date(2027, 1, 1)
    while after < date(2028, 1, 1):
        held = next_meeting(after, meeting, ENG)
        assert after < held <= date.fromordinal(after.toordinal() + 42), (after, held)
        assert ENG.is_working_day(held)
        after = date.fromordinal(after.toordinal() + 3)


# ----- due dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "period", "due"),
    [
        (date(2026, 12, 21), Period(working_days=5), date(2026, 12, 30)),
        (date(2026, 12, 21), Period(working_days=15), date(2027, 1, 14)),
        (date(2026, 12, 24), Period(working_days=1), date(2026, 12, 29)),  # appeal acknowledgement
        (date(2027, 1, 14), Period(calendar_days=28), date(2027, 2, 11)),  # appeal window: plain arithmetic
        (date(2026, 12, 21), Period(calendar_days=21), date(2027, 1, 11)),
        (date(2027, 12, 31), Period(months=2), date(2028, 2, 29)),  # clamped to month end
        (date(2027, 1, 15), Period(months=2), date(2027, 3, 15)),
    ],
)
def test_due_after(start: date, period: Period, due: date) -> None:
    assert due_after(start, period, ENG) == due


# ----- the state machine -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "current", "target"),
    [
        ("submit_complete", None, Status.ACKNOWLEDGED),
        ("submit_awaiting_consent", None, Status.AWAITING_CONSENT),
        ("record_consent", Status.AWAITING_CONSENT, Status.ACKNOWLEDGED),
    ],
)
def test_legal_steps(step, current, target) -> None:
    assert next_status(step, current) is target


@pytest.mark.parametrize(
    ("step", "current", "message"),
    [
        ("record_consent", Status.ACKNOWLEDGED, "cannot record consent when the case is acknowledged"),
        ("record_consent", None, "cannot record consent when the case is new"),
        ("submit_complete", Status.ACKNOWLEDGED, "cannot submit complete when the case is acknowledged"),
        ("submit_complete", Status.AWAITING_CONSENT, "cannot submit complete when the case is awaiting_consent"),
        ("submit_awaiting_consent", Status.AWAITING_CONSENT,
         "cannot submit awaiting consent when the case is awaiting_consent"),
    ],
)
def test_a_step_from_the_wrong_state_is_illegal(step, current, message) -> None:
    with pytest.raises(IllegalStep) as caught:
        next_status(step, current)
    assert caught.value.step == step
    assert caught.value.current == current
    assert str(caught.value) == message
