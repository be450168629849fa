"""The case's states, the steps between them, and what intake decides. Pure Python.

A step is allowed only from the states listed for it; anything else is an IllegalStep,
which the API turns into 409 with the current state.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal, Mapping

from .calendar import WorkingCalendar, add_months
from .policy import AssessmentMeeting, Period, Policy


class Status(StrEnum):
    AWAITING_CONSENT = "awaiting_consent"  # third party applied; the victim's consent has not arrived
    ACKNOWLEDGED = "acknowledged"  # completed application acknowledged; threshold being assessed
    THRESHOLD_NOT_MET = "threshold_not_met"  # decision letter sent; open to appeal within the window
    REVIEW_PENDING = "review_pending"  # threshold met (or accepted): a case review meeting is due
    MEETING_SCHEDULED = "meeting_scheduled"
    # The meeting was held and the draft action plan sent to the applicant/victim for their views
    # (2025 statutory guidance: victims are consulted on the plan before it is final).
    DRAFT_PLAN_SENT = "draft_plan_sent"
    MONITORING = "monitoring"  # outcome sent; the action plan is being carried out
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


S = Status
OPEN = frozenset({S.AWAITING_CONSENT, S.ACKNOWLEDGED, S.REVIEW_PENDING, S.MEETING_SCHEDULED, S.DRAFT_PLAN_SENT,
                  S.MONITORING})
ENDED = frozenset({S.CLOSED, S.WITHDRAWN, S.REJECTED})
# Where an appeal can be lodged: against a threshold-not-met decision, a rejection, or a review's outcome.
APPEALABLE = frozenset({S.THRESHOLD_NOT_MET, S.REJECTED, S.MONITORING, S.CLOSED})
HELD = frozenset({S.MEETING_SCHEDULED, S.DRAFT_PLAN_SENT})  # the meeting may have been held

# step -> (states it may start from, state it leads to; None = the state does not change).
STEPS: dict[str, tuple[frozenset[Status | None], Status | None]] = {
    "submit_complete": (frozenset({None}), S.ACKNOWLEDGED),
    "submit_awaiting_consent": (frozenset({None}), S.AWAITING_CONSENT),
    # An agency starts a review itself, seeing the threshold is met, with no application (2025 guidance).
    "open_agency_review": (frozenset({None}), S.REVIEW_PENDING),
    # A paper or phone application acknowledged by staff outside the system: the fact is recorded.
    "record_acknowledgement": (frozenset({S.ACKNOWLEDGED}), None),
    "record_consent": (frozenset({S.AWAITING_CONSENT}), S.ACKNOWLEDGED),
    "decide_met": (frozenset({S.ACKNOWLEDGED}), S.REVIEW_PENDING),
    "decide_accepted_below_threshold": (frozenset({S.ACKNOWLEDGED}), S.REVIEW_PENDING),
    "decide_not_met": (frozenset({S.ACKNOWLEDGED}), S.THRESHOLD_NOT_MET),
    "schedule_meeting": (frozenset({S.REVIEW_PENDING, S.MEETING_SCHEDULED}), S.MEETING_SCHEDULED),
    "send_draft_plan": (HELD, S.DRAFT_PLAN_SENT),
    "record_outcome_actions": (HELD, S.MONITORING),
    "record_outcome_no_further_action": (HELD, S.CLOSED),
    "update_action": (frozenset({S.MONITORING}), None),
    "close": (frozenset({S.MONITORING}), S.CLOSED),
    "withdraw": (OPEN, S.WITHDRAWN),
    "reject": (frozenset({S.AWAITING_CONSENT, S.ACKNOWLEDGED}), S.REJECTED),
    # Partner requests are worked while the threshold is assessed: send again, a new link, an address.
    "resend_partner_request": (frozenset({S.ACKNOWLEDGED}), None),
    "reissue_partner_link": (frozenset({S.ACKNOWLEDGED}), None),
    "add_partner_address": (frozenset({S.ACKNOWLEDGED}), None),
    # A staff note, in the case's audit trail, at any stage (partners never see notes).
    "add_note": (frozenset(Status), None),
    # Retention (chalicelib/domain/retention.py): a legal hold keeps the case past its deletion date.
    "place_legal_hold": (frozenset(Status), None),
    "lift_legal_hold": (frozenset(Status), None),
    # A link sent to the wrong person must be stoppable whatever the case's state.
    "revoke_partner_link": (frozenset(Status), None),
    "lodge_appeal": (APPEALABLE, None),
    "acknowledge_appeal": (APPEALABLE, None),
    "decide_appeal_not_upheld": (APPEALABLE, None),
    # An upheld appeal sends the case back: to a fresh threshold assessment, or to a new review.
    "uphold_appeal_threshold": (frozenset({S.THRESHOLD_NOT_MET}), S.ACKNOWLEDGED),
    # A rejection overturned: the application is considered after all (awaiting consent if it still needs it).
    "uphold_appeal_rejection": (frozenset({S.REJECTED}), S.ACKNOWLEDGED),
    "uphold_appeal_rejection_awaiting_consent": (frozenset({S.REJECTED}), S.AWAITING_CONSENT),
    "uphold_appeal_outcome": (frozenset({S.MONITORING, S.CLOSED}), S.REVIEW_PENDING),
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
    if target is None:
        assert current is not None
        return current
    return target


def allowed_steps(current: Status) -> list[str]:
    """What staff can do next from this state (shown with the case)."""
    return [step for step, (allowed, _) in STEPS.items()
            if current in allowed and not step.startswith("submit") and step != "open_agency_review"]


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


def findings_by(completed_on: date, policy: Policy, calendar: WorkingCalendar) -> date | None:
    """The latest date for the findings (the outcome letter) under the area's overall maximum,
    counted from the completed application; None when the area states no maximum."""
    limit = policy.timescales.findings_max
    return due_after(completed_on, limit, calendar) if limit is not None else None


def stage_due(name: str, start: date, policy: Policy, calendar: WorkingCalendar, completed_on: date) -> date:
    """When a stage is due: its own timescale from `start`, capped at the overall findings date.

    Once that date has passed before the stage starts (a fresh review after an upheld appeal, or
    a case already late) the cap cannot be met and would only give a due date before the stage's
    start, so the stage keeps its own timescale.
    """
    due = due_after(start, getattr(policy.timescales, name), calendar)
    cap = findings_by(completed_on, policy, calendar)
    if cap is None or cap < start:
        return due
    return min(due, cap)


def completed_on(received_on: str, consent: Mapping[str, Any] | None, deadlines: Mapping[str, Any] | None) -> date:
    """The day the application became complete, from which the findings maximum runs: the day it
    was received, or, for a third party's application that waited for the victim's consent, the
    day the consent was recorded (when the acknowledgement went out and its clock started)."""
    acknowledged = ((deadlines or {}).get("acknowledge") or {}).get("met_on")
    if consent and acknowledged:
        return date.fromisoformat(acknowledged)
    return date.fromisoformat(received_on)


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
    if on_behalf and not consent_given:
        # Nothing is due yet: the application is complete, and its clock starts, when consent is recorded.
        return IntakePlan(
            step="submit_awaiting_consent",
            status=next_status("submit_awaiting_consent", None),
            deadlines={},
            letters=(LetterPlan("consent_required", "applicant"),),
            assessment_meeting=None,
        )
    deadlines = {"acknowledge": due_after(received_on, t.acknowledge, calendar)}
    meeting = None
    if policy.assessment_meeting:
        # Areas that assess at a standing meeting (Dacorum's monthly CSAG) decide there and write
        # within the outcome-letter timescale of it.
        meeting = next_meeting(received_on, policy.assessment_meeting, calendar)
        deadlines["threshold_decision"] = stage_due("outcome_letter", meeting, policy, calendar, received_on)
    else:
        deadlines["threshold_decision"] = stage_due("threshold_decision", received_on, policy, calendar, received_on)
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
