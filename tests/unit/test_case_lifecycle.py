"""The case's state machine and the timed effects it allows, state by state. Pure: no AWS.

Every reminder, chaser and escalation is worked out from the case as it is when it falls due, so a
closed, withdrawn or rejected case (or one that has simply moved on) is never chased; deadlines that
wait on the victim's consent do not exist until consent is recorded."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.case import (
    APPEALABLE,
    ENDED,
    STEPS,
    IllegalStep,
    Status,
    allowed_steps,
    calendar_for,
    next_status,
    plan_intake,
)
from chalicelib.domain.deadlines import OpenAction, OpenRequest, case_effects

S = Status
DEADLINES = {name: {"due": "2027-01-15", "met_on": None} for name in (
    "acknowledge", "threshold_decision", "review_meeting", "outcome_letter", "draft_plan_response",
    "appeal_acknowledge", "appeal_decision")}
REQUESTS = [OpenRequest("P01", "Police", date(2027, 1, 8))]
ACTIONS = [OpenAction("A1", date(2027, 1, 4))]


def effects(policy, status, *, appeal_open=False, window=date(2027, 1, 18)):
    return case_effects(status=status, deadlines=DEADLINES, requests=REQUESTS, actions=ACTIONS,
                        appeal_window_closes=window, appeal_open=appeal_open, policy=policy,
                        calendar=calendar_for(policy))


@pytest.fixture
def derbyshire(area_policies):
    return area_policies["derbyshire"]


@pytest.mark.parametrize("status", sorted(ENDED))
def test_an_ended_case_is_never_chased_nor_reminded(derbyshire, status):
    kinds = {e.kind for e in effects(derbyshire, status)}
    assert not kinds & {"remind", "missed", "chase", "escalate"}


@pytest.mark.parametrize("status", sorted(ENDED | {S.THRESHOLD_NOT_MET}))
def test_an_ended_case_with_an_open_appeal_is_reminded_only_of_the_appeal(derbyshire, status):
    found = effects(derbyshire, status, appeal_open=True)
    assert {e.deadline for e in found if e.kind in ("remind", "missed")} == {"appeal_acknowledge", "appeal_decision"}
    assert not {e.kind for e in found} & {"chase", "escalate"}


def test_consent_pending_has_no_acknowledgement_or_decision_reminders(derbyshire):
    assert [e for e in effects(derbyshire, S.AWAITING_CONSENT) if e.kind != "appeal_window_closed"] == []


@pytest.mark.parametrize("status, deadlines", [
    (S.ACKNOWLEDGED, {"acknowledge", "threshold_decision", "partner_return"}),
    (S.REVIEW_PENDING, {"review_meeting"}),
    (S.MEETING_SCHEDULED, {"review_meeting", "outcome_letter"}),
    (S.DRAFT_PLAN_SENT, {"outcome_letter", "draft_plan_response"}),
    (S.MONITORING, set()),
])
def test_each_stage_is_reminded_only_of_its_own_deadlines(derbyshire, status, deadlines):
    found = effects(derbyshire, status)
    assert {e.deadline for e in found if e.kind == "remind"} == deadlines
    assert bool([e for e in found if e.kind == "chase"]) == (status == S.ACKNOWLEDGED)
    assert bool([e for e in found if e.kind == "escalate"]) == (status == S.MONITORING)


@pytest.mark.parametrize("status", list(Status))
def test_the_appeal_window_is_recorded_only_where_an_appeal_can_be_made(derbyshire, status):
    closing = [e for e in effects(derbyshire, status) if e.kind == "appeal_window_closed"]
    assert bool(closing) == (status in APPEALABLE)


def test_consent_pending_intake_plans_no_deadline(derbyshire):
    plan = plan_intake(on_behalf=True, consent_given=False, received_on=date(2026, 12, 23), policy=derbyshire,
                       calendar=calendar_for(derbyshire))
    assert plan.status == S.AWAITING_CONSENT and plan.deadlines == {}
    assert [l.step for l in plan.letters] == ["consent_required"]


@pytest.mark.parametrize("received_on, due", [
    (date(2026, 12, 23), date(2027, 1, 4)),  # 5 working days across Christmas, Boxing Day (28th) and New Year
    (date(2027, 3, 25), date(2027, 4, 5)),  # across Good Friday and Easter Monday
    (date(2027, 8, 27), date(2027, 9, 6)),  # across the August bank holiday (30 August 2027)
])
def test_a_complete_application_is_acknowledged_within_five_working_days(derbyshire, received_on, due):
    plan = plan_intake(on_behalf=False, consent_given=False, received_on=received_on, policy=derbyshire,
                       calendar=calendar_for(derbyshire))
    assert plan.deadlines["acknowledge"] == due


def test_a_rejection_can_be_appealed_and_an_upheld_one_reopens_the_assessment():
    assert "lodge_appeal" in allowed_steps(S.REJECTED)
    assert next_status("uphold_appeal_rejection", S.REJECTED) == S.ACKNOWLEDGED
    assert next_status("uphold_appeal_rejection_awaiting_consent", S.REJECTED) == S.AWAITING_CONSENT


def test_the_draft_plan_comes_after_the_meeting_and_before_the_final_outcome():
    assert next_status("send_draft_plan", S.MEETING_SCHEDULED) == S.DRAFT_PLAN_SENT
    assert next_status("send_draft_plan", S.DRAFT_PLAN_SENT) == S.DRAFT_PLAN_SENT  # a revised draft
    assert next_status("record_outcome_actions", S.DRAFT_PLAN_SENT) == S.MONITORING
    with pytest.raises(IllegalStep):
        next_status("send_draft_plan", S.REVIEW_PENDING)  # no meeting yet


def test_an_agency_review_starts_at_the_review_stage_and_is_not_a_step_staff_take_on_a_case():
    assert next_status("open_agency_review", None) == S.REVIEW_PENDING
    assert all("open_agency_review" not in allowed_steps(s) for s in Status)


def test_acknowledgement_is_recorded_only_while_the_application_is_being_assessed():
    assert [s for s in Status if "record_acknowledgement" in allowed_steps(s)] == [S.ACKNOWLEDGED]


@pytest.mark.parametrize("status", sorted(ENDED))
def test_nothing_but_appeals_notes_and_revoking_a_link_can_happen_to_an_ended_case(status):
    assert all(step.startswith(("lodge_appeal", "acknowledge_appeal", "decide_appeal", "uphold_appeal", "add_note",
                                "revoke_partner_link", "place_legal_hold", "lift_legal_hold"))
               for step in allowed_steps(status))
    assert "add_note" in allowed_steps(status) and "revoke_partner_link" in allowed_steps(status)


def test_every_step_names_real_states():
    for step, (allowed, target) in STEPS.items():
        assert all(s is None or isinstance(s, Status) for s in allowed), step
        assert target is None or isinstance(target, Status), step


@pytest.mark.parametrize("sent_on, respond_by", [
    (date(2026, 12, 21), date(2026, 12, 30)),  # Christmas Day and the Boxing Day holiday (Monday 28th)
    (date(2027, 3, 24), date(2027, 4, 2)),  # Good Friday 26 March and Easter Monday 29 March 2027
    (date(2027, 1, 29), date(2027, 2, 5)),  # across the end of January
    (date(2028, 2, 25), date(2028, 3, 3)),  # across 29 February 2028
    (date(2027, 8, 27), date(2027, 9, 6)),  # the August bank holiday, Monday 30 August 2027
])
def test_the_views_on_a_draft_plan_are_due_five_working_days_after_it_is_sent(derbyshire, sent_on, respond_by):
    from chalicelib.domain.case import due_after

    assert due_after(sent_on, derbyshire.timescales.draft_plan_response, calendar_for(derbyshire)) == respond_by


@pytest.mark.parametrize("rejected_on, last_day", [
    (date(2026, 12, 21), date(2027, 1, 18)),  # 28 calendar days: holidays do not move it
    (date(2027, 1, 31), date(2027, 2, 28)),
    (date(2028, 2, 1), date(2028, 2, 29)),  # a leap year
    (date(2027, 3, 26), date(2027, 4, 23)),  # rejected on Good Friday
])
def test_a_rejection_can_be_appealed_for_28_days(derbyshire, rejected_on, last_day):
    from chalicelib.domain.case import due_after

    assert due_after(rejected_on, derbyshire.appeals.window, calendar_for(derbyshire)) == last_day
