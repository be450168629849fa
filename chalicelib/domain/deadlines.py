"""Every timed effect a case can need: reminders before deadlines, alerts after missed ones,
partner chasers, action-plan escalations and the appeal window closing. Pure Python.

Each effect has a key that is unique within its case: the scheduled sweep claims that key with
a conditional write before acting, so each effect happens once however many sweeps run. Times
are Europe/London working days at CHECK_HOUR, converted to UTC instants.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from .calendar import WorkingCalendar
from .case import APPEALABLE, Status, due_after
from .policy import Policy

LONDON = ZoneInfo("Europe/London")
CHECK_HOUR = 8  # effects fall due at 08:00 London time on a working day

# Deadlines the SPOC is reminded of and alerted about (action deadlines are escalated instead).
REMINDED = ("acknowledge", "partner_return", "threshold_decision", "review_meeting", "outcome_letter",
            "draft_plan_response", "appeal_acknowledge", "appeal_decision")
S = Status
# The states in which each stage's deadline is still the case's business. Everything is re-checked
# against the case as it is when an effect falls due: a reminder about a stage the case has left
# (closed, withdrawn, rejected, or simply moved on) is never sent. Appeal deadlines follow the appeal.
STAGE_STATES: dict[str, frozenset[Status]] = {
    "acknowledge": frozenset({S.ACKNOWLEDGED}),
    "partner_return": frozenset({S.ACKNOWLEDGED}),
    "threshold_decision": frozenset({S.ACKNOWLEDGED}),
    "review_meeting": frozenset({S.REVIEW_PENDING, S.MEETING_SCHEDULED}),
    "outcome_letter": frozenset({S.MEETING_SCHEDULED, S.DRAFT_PLAN_SENT}),
    "draft_plan_response": frozenset({S.DRAFT_PLAN_SENT}),
}
APPEAL_DEADLINES = ("appeal_acknowledge", "appeal_decision")


def deadline_current(name: str, status: Status, appeal_open: bool) -> bool:
    """Is this deadline still something the case is waiting for, in its present state?"""
    if name in APPEAL_DEADLINES:
        return appeal_open
    if name.startswith("action_"):
        return status == S.MONITORING
    return status in STAGE_STATES.get(name, frozenset())


@dataclass(frozen=True)
class Effect:
    key: str
    kind: str  # remind | missed | chase | escalate | appeal_window_closed
    at: datetime  # UTC
    deadline: str | None = None
    due_on: date | None = None
    request_id: str | None = None
    stage: str | None = None  # chase: due_tomorrow | overdue
    action_id: str | None = None
    level: str | None = None  # escalate: line_manager | head_of_service


@dataclass(frozen=True)
class OpenRequest:
    request_id: str
    partner_name: str
    due_on: date


@dataclass(frozen=True)
class OpenAction:
    action_id: str
    due_on: date


def at_check_time(day: date) -> datetime:
    """08:00 in London on that day, as a UTC instant (GMT or BST as the date requires)."""
    return datetime.combine(day, time(CHECK_HOUR), tzinfo=LONDON).astimezone(timezone.utc)


def working_day_before(day: date, calendar: WorkingCalendar) -> date:
    previous = day - timedelta(days=1)
    while not calendar.is_working_day(previous):
        previous -= timedelta(days=1)
    return previous


def first_working_day_after(day: date, calendar: WorkingCalendar) -> date:
    return calendar.next_working_day_on_or_after(day + timedelta(days=1))


def case_effects(*, status: Status | str, deadlines: dict[str, dict[str, str | None]] | None,
                 requests: Iterable[OpenRequest], actions: Iterable[OpenAction], appeal_window_closes: date | None,
                 appeal_open: bool, policy: Policy, calendar: WorkingCalendar) -> list[Effect]:
    """All effects the case will need while it stays as it is, past and future. The sweep acts on
    those due and not yet claimed; the earliest unclaimed one is when it looks again. Only what the
    case's present state still waits for is included: partners are chased only while the threshold
    is being assessed, actions escalated only while the plan is monitored."""
    status = Status(status)
    effects: list[Effect] = []
    open_deadlines = {name: date.fromisoformat(d["due"]) for name, d in (deadlines or {}).items()
                      if name in REMINDED and d.get("due") and not d.get("met_on")
                      and deadline_current(name, status, appeal_open)}
    open_deadlines.pop("partner_return", None)  # derived from the open requests below
    requests = list(requests) if deadline_current("partner_return", status, appeal_open) else []
    actions = list(actions) if status == S.MONITORING else []
    if requests:
        # Partner returns: the SPOC is reminded of the earliest one still outstanding.
        open_deadlines["partner_return"] = min(r.due_on for r in requests)
    for name, due in sorted(open_deadlines.items()):
        effects.append(Effect(f"remind#{name}#{due}", "remind", at_check_time(working_day_before(due, calendar)), name, due))
        effects.append(Effect(f"missed#{name}#{due}", "missed", at_check_time(first_working_day_after(due, calendar)), name, due))
    for request in requests:
        effects.append(Effect(f"chase#{request.request_id}#{request.due_on}#due_tomorrow", "chase",
                              at_check_time(working_day_before(request.due_on, calendar)), "partner_return",
                              request.due_on, request_id=request.request_id, stage="due_tomorrow"))
        effects.append(Effect(f"chase#{request.request_id}#{request.due_on}#overdue", "chase",
                              at_check_time(first_working_day_after(request.due_on, calendar)), "partner_return",
                              request.due_on, request_id=request.request_id, stage="overdue"))
    t = policy.timescales
    for action in actions:
        for level, period in (("line_manager", t.action_escalate_line_manager),
                              ("head_of_service", t.action_escalate_head_of_service)):
            # "Overdue by more than" the period: escalated on the first working day after it.
            late_from = due_after(action.due_on, period, calendar)
            effects.append(Effect(f"escalate#{action.action_id}#{action.due_on}#{level}", "escalate",
                                  at_check_time(first_working_day_after(late_from, calendar)), f"action_{action.action_id}",
                                  action.due_on, action_id=action.action_id, level=level))
    if appeal_window_closes and not appeal_open and status in APPEALABLE:
        effects.append(Effect(f"appeal_window_closed#{appeal_window_closes}", "appeal_window_closed",
                              at_check_time(first_working_day_after(appeal_window_closes, calendar)),
                              "appeal_window", appeal_window_closes))
    return sorted(effects, key=lambda e: (e.at, e.key))


def due_now(effects: Iterable[Effect], done: set[str], now: datetime) -> list[Effect]:
    return [e for e in effects if e.at <= now and e.key not in done]


def next_check(effects: Iterable[Effect], done: set[str]) -> datetime | None:
    pending = [e.at for e in effects if e.key not in done]
    return min(pending) if pending else None


def in_working_hours(now: datetime) -> bool:
    """The sweep acts Monday to Friday, 07:00-19:59 London time, whatever the UTC schedule
    (EventBridge cron is UTC, so it fires 06-19 UTC to cover both GMT and BST). Bank holidays
    need no check here: every effect already falls on its own area's working day."""
    local = now.astimezone(LONDON)
    return local.weekday() < 5 and 7 <= local.hour <= 19
