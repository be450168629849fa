"""The case's states, the steps between them, and what intake decides. Pure Python.

A step is allowed only from the states listed for it; anything else is an IllegalStep,
which the API turns into 409 with the current state.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from .calendar import WorkingCalendar, add_months
from .policy import AssessmentMeeting, Period, Policy


class Status(StrEnum):
    AWAITING_CONSENT = "awaiting_consent"  # third party applied; the victim's consent has not arrived
    ACKNOWLEDGED = "acknowledged"  # completed application acknowledged; threshold being assessed


# step -> (states it may start from, state it leads to). None means "no case yet".
STEPS: dict[str, tuple[frozenset[Status | None], Status]] = {
    "submit_complete": (frozenset({None}), Status.ACKNOWLEDGED),
    "submit_awaiting_consent": (frozenset({None}), Status.AWAITING_CONSENT),
    "record_consent": (frozenset({Status.AWAITING_CONSENT}), Status.ACKNOWLEDGED),
}


class IllegalStep(Exception):
    def __init__(self, step: str, current: Status | None):
        self.step = step
        self.current = current
        super().__init__(f"cannot {step.replace('_', ' ')} when the case is {current or 'new'}")


def next_status(step: str, current: Status | None) -> Status:
    allowed, target = STEPS[step]
    if current not in allowed:
        raise IllegalStep(step, current)
    return target


Recipient = Literal["applicant", "victim"]


@dataclass(frozen=True)
class LetterPlan:
    step: str  # the policy's letter step, e.g. "acknowledgement"
    to: Recipient


@dataclass(frozen=True)
class IntakePlan:
    step: str
    status: Status
    deadlines: dict[str, date]
    letters: tuple[LetterPlan, ...]
    assessment_meeting: date | None


def calendar_for(policy: Policy) -> WorkingCalendar:
    return WorkingCalendar(policy.area.nation, policy.area.closure_days)


def due_after(start: date, period: Period, calendar: WorkingCalendar) -> date:
    """The due date of `period` counted from `start` (working days exclude `start` itself)."""
    if period.working_days is not None:
        return calendar.working_days_after(start, period.working_days)
    if period.calendar_days is not None:
        return start + timedelta(days=period.calendar_days)
    return add_months(start, period.months or 0)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def next_meeting(after: date, meeting: AssessmentMeeting, calendar: WorkingCalendar) -> date:
    """The first standing meeting (e.g. 'second Tuesday of the month') strictly after `after`."""
    weekday = _WEEKDAYS.index(meeting.weekday)
    month_start = after.replace(day=1)
    for offset in range(0, 3):
        first = add_months(month_start, offset)
        shift = (weekday - first.weekday()) % 7
        day = first + timedelta(days=shift + 7 * (meeting.week_of_month - 1))
        # Compare the day the meeting is actually held: one moved off a bank holiday may still
        # fall after an application received on that holiday.
        held = calendar.next_working_day_on_or_after(day)
        if held > after:
            return held
    raise AssertionError("a monthly meeting always falls within three months")  # pragma: no cover


def plan_intake(*, on_behalf: bool, consent_given: bool, received_on: date, policy: Policy,
                calendar: WorkingCalendar) -> IntakePlan:
    """What happens when an application arrives: its state, its deadlines, and its letters.

    A third party without the victim's consent gets the consent-required letter and the review
    waits; otherwise the application is complete and is acknowledged (and the victim told).
    """
    t = policy.timescales
    deadlines = {"acknowledge": due_after(received_on, t.acknowledge, calendar)}
    if on_behalf and not consent_given:
        return IntakePlan(
            step="submit_awaiting_consent",
            status=next_status("submit_awaiting_consent", None),
            deadlines=deadlines,
            letters=(LetterPlan("consent_required", "applicant"),),
            assessment_meeting=None,
        )
    meeting = None
    if policy.assessment_meeting:
        # Areas that assess at a standing meeting (Dacorum's monthly CSAG) decide there and write
        # within the outcome-letter timescale of it.
        meeting = next_meeting(received_on, policy.assessment_meeting, calendar)
        deadlines["threshold_decision"] = due_after(meeting, t.outcome_letter, calendar)
    else:
        deadlines["threshold_decision"] = due_after(received_on, t.threshold_decision, calendar)
    letters = [LetterPlan("acknowledgement", "applicant")]
    if on_behalf:
        letters.append(LetterPlan("victim_confirmation", "victim"))
    return IntakePlan(
        step="submit_complete",
        status=next_status("submit_complete", None),
        deadlines=deadlines,
        letters=tuple(letters),
        assessment_meeting=meeting,
    )
