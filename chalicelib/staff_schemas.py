"""What staff send for each step of a case, validated into plain-words errors naming each field
(the same machinery as applications: every problem at once, 422)."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from .schemas import (
    LONG,
    MEDIUM,
    SHORT,
    AsbLocation,
    Email,
    InvalidInput,
    PastDate,
    Victim,
    _blank_to_none,
    _LABELS,
    _MISSING,
    _Model,
    _optional_text,
    _text,
    _validate,
)


def _any_date(value: Any, info: ValidationInfo) -> date:
    """A real date, past or future (meetings and action deadlines are ahead)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise PydanticCustomError("date_format", "must be a date written as year-month-day, for example 2027-01-14")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("date_real", "must be a real date, for example 2027-01-14") from None


def _clock_time(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise PydanticCustomError("time", "must be a 24-hour time, for example 14:00")
    return value.strip()


AnyDate = Annotated[date, BeforeValidator(_any_date)]
ClockTime = Annotated[str, BeforeValidator(_clock_time)]


class StaffInvalid(InvalidInput):
    pass


class ConsentIn(_Model):
    received_on: PastDate
    evidence: Literal["written_consent", "power_of_attorney", "other_authority"]
    note: _optional_text(MEDIUM)


class MeetingIn(_Model):
    date: AnyDate
    time: ClockTime
    place: _optional_text(SHORT)
    online: bool = False
    chair: _text(SHORT)
    agencies: Annotated[list[_text(SHORT)], Field(min_length=3, max_length=20)]
    victim_invited: bool
    victim_not_invited_reason: _optional_text(MEDIUM)


class DecisionIn(_Model):
    decision: Literal["met", "not_met", "accepted_below_threshold"]
    reasons: _text(LONG)
    senior_officer: _optional_text(SHORT)
    meeting: MeetingIn | None = None


class ActionIn(_Model):
    description: _text(MEDIUM)
    agency: _text(SHORT)
    lead_officer: _text(SHORT)
    due_on: AnyDate
    victim_agreed: bool


class NotRecommendedIn(_Model):
    description: _text(MEDIUM)
    reason: _text(MEDIUM)


# All the text of an outcome together: the letter repeats it (escaped for HTML, and as plain
# text), and a letter must fit in one stored item.
OUTCOME_TEXT_BUDGET = 40_000


class OutcomeIn(_Model):
    held_on: PastDate
    findings: _text(LONG)
    recommendations: Annotated[list[_text(MEDIUM)], Field(max_length=30)] = []
    actions: Annotated[list[ActionIn], Field(max_length=30)] = []
    not_recommended: Annotated[list[NotRecommendedIn], Field(max_length=30)] = []
    # What the applicant or victim said about the draft plan, when one was sent (2025 guidance).
    views_on_draft: _optional_text(LONG)


class DraftPlanIn(_Model):
    """The draft action plan after the meeting, sent for the applicant's and victim's views."""

    held_on: PastDate
    findings: _text(LONG)
    recommendations: Annotated[list[_text(MEDIUM)], Field(max_length=30)] = []
    actions: Annotated[list[ActionIn], Field(max_length=30)] = []
    respond_by: AnyDate | None = None  # default: the area's draft_plan_response timescale


class AcknowledgementIn(_Model):
    """Staff acknowledged a paper or phone application themselves."""

    acknowledged_on: PastDate
    how: Literal["letter_by_post", "letter_by_hand", "email", "phone", "in_person"]
    note: _optional_text(MEDIUM)


class AgencyReviewIn(_Model):
    """An agency starts a case review itself, seeing the threshold is met (2025 guidance)."""

    area: _text(SHORT)
    agency: _text(SHORT)
    officer: _text(SHORT)
    reasons: _text(LONG)
    summary: _text(MEDIUM)
    victim: Victim
    asb_location: AsbLocation | None = None


class ActionUpdateIn(_Model):
    status: Literal["open", "done", "not_viable"]
    note: _text(MEDIUM)


class CloseIn(_Model):
    reason: _text(MEDIUM)
    # Closing while actions are still open is an explicit choice: they pass to the agencies' normal
    # work, with the reason, and the closure letter says so.
    open_actions: Annotated[Literal["hand_to_agencies"] | None, BeforeValidator(_blank_to_none)] = None
    handover_reason: _optional_text(MEDIUM)


class WithdrawIn(_Model):
    reason: Literal["applicant_request", "victim_unreachable"]
    note: _optional_text(MEDIUM)


class RejectIn(_Model):
    reason: Literal["anonymous", "vexatious", "service_complaint"]
    note: _text(MEDIUM)


class AppealIn(_Model):
    against: Literal["threshold_decision", "rejection", "review_outcome"]
    lodged_on: PastDate
    grounds: _text(LONG)


class AppealDecisionIn(_Model):
    upheld: bool
    reasons: _text(LONG)


class StaffApplicationIn(_Model):
    channel: Literal["phone", "paper"]
    application: dict[str, Any]
    # "send": the system sends the acknowledgement letter now (the default); "by_staff": staff
    # acknowledge it themselves and record that later (POST /cases/{ref}/acknowledgement).
    acknowledgement: Literal["send", "by_staff"] = "send"


class PartnerAddressIn(_Model):
    """An address for a partner the area's policy does not know (or a corrected one)."""

    email: Email


class PartnerReissueIn(_Model):
    """A new link for a partner request (the old one stops working), optionally with a new due date."""

    due_on: AnyDate | None = None


class NoteIn(_Model):
    text: _text(LONG)


class LegalHoldIn(_Model):
    """Why the case must be kept past its retention date (a claim, a complaint, the Ombudsman)."""
    reason: _text(MEDIUM)


class LegalHoldLiftIn(_Model):
    reason: _text(MEDIUM)


class PrintedLetter(_Model):
    reference: _text(20)
    letter_id: _text(40)


class PrintedIn(_Model):
    letters: Annotated[list[PrintedLetter], Field(min_length=1, max_length=100)]


_MISSING.update({
    "reasons": "Give the reasons; they are sent to the applicant",
    "decision": "Choose the decision: met, not_met or accepted_below_threshold",
    "meeting.chair": "Enter who will chair the meeting",
    "meeting.agencies": "Name the agencies attending (at least three)",
    "agencies": "Name the agencies attending (at least three)",
    "findings": "Enter the meeting's findings",
    "held_on": "Enter the date the meeting was held",
    "note": "Add a note saying what happened",
    "grounds": "Enter the grounds of the appeal",
    "lodged_on": "Enter the date the appeal was received",
    "received_on": "Enter the date the consent arrived",
    "acknowledged_on": "Enter the date the application was acknowledged",
    "how": "Say how the application was acknowledged",
    "agency": "Name the agency starting the review",
    "officer": "Name the officer starting the review",
    "email": "Enter the partner's email address",
    "text": "Enter the note",
    "letters": "Choose at least one letter",
})
_LABELS.update({"agencies": "The agencies attending", "due_on": "The date the action is due", "time": "The time",
                "date": "The meeting date"})


def _cross(model: type, data: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if model is DecisionIn:
        if data.get("decision") == "accepted_below_threshold" and not str(data.get("senior_officer") or "").strip():
            problems.append(("senior_officer", "Name the senior officer who accepted the application below the threshold"))
        if data.get("decision") == "not_met" and data.get("meeting"):
            problems.append(("meeting", "A meeting is only arranged when the threshold is met"))
    meeting = data.get("meeting") if model is DecisionIn else data if model is MeetingIn else None
    if isinstance(meeting, dict):
        prefix = "meeting." if model is DecisionIn else ""
        if meeting.get("victim_invited") is False and not str(meeting.get("victim_not_invited_reason") or "").strip():
            problems.append((f"{prefix}victim_not_invited_reason", "Say why the victim is not invited"))
        if not meeting.get("online") and not str(meeting.get("place") or "").strip():
            problems.append((f"{prefix}place", "Enter where the meeting is, or say it is online"))
    if model in (OutcomeIn, DraftPlanIn):
        problems.extend(_outcome_budget(data))
    if model is PartnerAddressIn and not str(data.get("email") or "").strip():
        problems.append(("email", "Enter the partner's email address"))
    if model is CloseIn and data.get("open_actions") == "hand_to_agencies" and not str(data.get("handover_reason") or "").strip():
        problems.append(("handover_reason", "Say why the open actions are handed to the agencies' normal work"))
    if model is WithdrawIn and data.get("reason") == "victim_unreachable" and not str(data.get("note") or "").strip():
        problems.append(("note", "Say what was done to reach the victim"))
    return problems


def _outcome_budget(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each part of the outcome's size, read defensively (the model reports wrong types itself)."""

    def size(node: Any) -> int:
        if isinstance(node, str):
            return len(node)
        if isinstance(node, list):
            return sum(size(v) for v in node)
        if isinstance(node, dict):
            return sum(size(v) for v in node.values())
        return 0

    parts = {name: size(data.get(name)) for name in ("findings", "recommendations", "actions", "not_recommended")}
    total = sum(parts.values())
    if total <= OUTCOME_TEXT_BUDGET:
        return []
    message = (f"The outcome's text is {total:,} characters altogether; it can be at most {OUTCOME_TEXT_BUDGET:,}. "
               "Shorten this part, or attach the full report to the case file")
    return [(name, message) for name, length in sorted(parts.items(), key=lambda p: -p[1]) if length]


def validate_staff(model: type, data: Any, *, today: date) -> Any:
    cross = _cross(model, data) if isinstance(data, dict) else []
    return _validate(model, data, today, cross, StaffInvalid)
