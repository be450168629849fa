"""The step forms as data (chalicelib.console_forms): every step's form becomes the staff API's JSON
payload for its model, a payload goes back to the same form values, and the API's error paths land
on the inputs the error summary links to (rows at their place on the page, dates at the box that is
wrong)."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib import staff_schemas
from chalicelib.console_forms import (CONSOLE_STEPS, STEP_FORMS, date_parts_problem, element_id, field_allowed,
                                      form_errors, to_payload, to_values, views)
from chalicelib.domain.case import STEPS
from chalicelib.routes.staff import STEP_METHODS, STEP_MODELS
from chalicelib.staff_schemas import StaffInvalid, validate_staff

TODAY = date(2026, 12, 21)


def validate(step: str, payload: dict):
    return validate_staff(getattr(staff_schemas, STEP_FORMS[step].model), payload, today=TODAY)


def errors_of(step: str, values: dict) -> tuple[list[dict], list[dict]]:
    """(the API's errors for the payload the form makes, the same errors on the form)."""
    posted = to_payload(STEP_FORMS[step], values)
    with pytest.raises(StaffInvalid) as caught:
        validate(step, posted.payload)
    return caught.value.errors, form_errors(STEP_FORMS[step], caught.value.errors, posted)


MEETING = {"date.day": "11", "date.month": "1", "date.year": "2027", "time": "10:00", "online": "no",
           "place": "Matlock Town Hall", "chair": "Alex Chair", "agencies[0]": "Police", "agencies[1]": "",
           "agencies[2]": "Peak Homes", "agencies[3]": "Council", "victim_invited": "no",
           "victim_not_invited_reason": "The victim asked not to attend"}
MEETING_JSON = {"date": "2027-01-11", "time": "10:00", "online": False, "place": "Matlock Town Hall",
                "chair": "Alex Chair", "agencies": ["Police", "Peak Homes", "Council"], "victim_invited": False,
                "victim_not_invited_reason": "The victim asked not to attend"}
ACTION = {"description": "Fit a door entry system", "agency": "Peak Homes", "lead_officer": "Jo Ward",
          "due_on.day": "1", "due_on.month": "2", "due_on.year": "2027", "victim_agreed": "yes"}
ACTION_JSON = {"description": "Fit a door entry system", "agency": "Peak Homes", "lead_officer": "Jo Ward",
               "due_on": "2027-02-01", "victim_agreed": True}


def prefixed(prefix: str, values: dict) -> dict:
    return {f"{prefix}{k}": v for k, v in values.items()}


# Every step's form, filled in as a person would (blank rows and blank optional answers included),
# and the JSON body an API client would send for the same answers.
FILLED = {
    "consent": ({"received_on.day": "18", "received_on.month": "12", "received_on.year": "2026",
                 "evidence": "written_consent", "note": ""},
                {"received_on": "2026-12-18", "evidence": "written_consent"}),
    "acknowledgement": ({"acknowledged_on.day": "21", "acknowledged_on.month": "12", "acknowledged_on.year": "2026",
                         "how": "phone", "note": "Called back the same day"},
                        {"acknowledged_on": "2026-12-21", "how": "phone", "note": "Called back the same day"}),
    "threshold-decision": ({"decision": "met", "senior_officer": "", "reasons": "Three reports in six months.",
                            "meeting_arranged": "yes", **prefixed("meeting.", MEETING)},
                           {"decision": "met", "reasons": "Three reports in six months.", "meeting": MEETING_JSON}),
    "meeting": (MEETING, MEETING_JSON),
    "draft-plan": ({"held_on.day": "21", "held_on.month": "12", "held_on.year": "2026", "findings": "Found.",
                    "recommendations[0]": "Mediation", "recommendations[1]": "", **prefixed("actions[0].", ACTION),
                    **prefixed("actions[1].", {k: "" for k in ACTION}), "respond_by.day": "", "respond_by.month": "",
                    "respond_by.year": ""},
                   {"held_on": "2026-12-21", "findings": "Found.", "recommendations": ["Mediation"],
                    "actions": [ACTION_JSON]}),
    "outcome": ({"held_on.day": "21", "held_on.month": "12", "held_on.year": "2026", "findings": "Found.",
                 "recommendations[0]": "", "recommendations[1]": "Mediation", **prefixed("actions[0].", {k: "" for k in ACTION}),
                 **prefixed("actions[1].", ACTION), "not_recommended[0].description": "An injunction",
                 "not_recommended[0].reason": "Not enough evidence yet", "views_on_draft": ""},
                {"held_on": "2026-12-21", "findings": "Found.", "recommendations": ["Mediation"], "actions": [ACTION_JSON],
                 "not_recommended": [{"description": "An injunction", "reason": "Not enough evidence yet"}]}),
    "close": ({"reason": "The noise stopped.", "open_actions": "hand_to_agencies", "handover_reason": "Routine work"},
              {"reason": "The noise stopped.", "open_actions": "hand_to_agencies", "handover_reason": "Routine work"}),
    "withdraw": ({"reason": "applicant_request", "note": ""}, {"reason": "applicant_request"}),
    "reject": ({"reason": "vexatious", "note": "Ten applications this month"},
               {"reason": "vexatious", "note": "Ten applications this month"}),
    "appeal": ({"against": "threshold_decision", "lodged_on.day": "21", "lodged_on.month": "12", "lodged_on.year": "2026",
                "grounds": "The police reports were missed."},
               {"against": "threshold_decision", "lodged_on": "2026-12-21", "grounds": "The police reports were missed."}),
    "appeal-decision": ({"upheld": "no", "reasons": "The reports were counted."},
                        {"upheld": False, "reasons": "The reports were counted."}),
    "action-update": ({"status": "done", "note": "Fitted on 5 January"}, {"status": "done", "note": "Fitted on 5 January"}),
    "agency-review": ({"area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "PC Lee", "reasons": "r",
                       "summary": "s", "victim.name": "Sam Taylor", "victim.address.line1": "12 Elm Road",
                       "victim.address.line2": "", "victim.address.town": "Matlock", "victim.address.postcode": "DE4 3AG",
                       "victim.email": "", "victim.daytime_phone": "", "victim.mobile_phone": "",
                       "victim.preferred_contact": "post", "asb_location.description": "", "asb_location.postcode": ""},
                      {"area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "PC Lee", "reasons": "r",
                       "summary": "s", "victim": {"name": "Sam Taylor", "address": {
                           "line1": "12 Elm Road", "town": "Matlock", "postcode": "DE4 3AG"}, "preferred_contact": "post"}}),
}


def test_every_step_of_the_staff_api_has_a_form_with_its_model_and_method():
    assert set(CONSOLE_STEPS) == set(STEP_MODELS)
    for step in CONSOLE_STEPS:
        form = STEP_FORMS[step]
        assert form.model == STEP_MODELS[step] and form.method == STEP_METHODS[step]
        assert form.steps and set(form.steps) <= set(STEPS)
    assert set(FILLED) | {"appeal-acknowledgement"} == set(STEP_FORMS)


@pytest.mark.parametrize("step", sorted(FILLED))
def test_each_form_makes_the_payload_an_api_client_would_send_and_it_is_valid(step):
    values, expected = FILLED[step]
    posted = to_payload(STEP_FORMS[step], values)
    assert posted.payload == expected
    validate(step, posted.payload)  # accepted as it is


@pytest.mark.parametrize("step", sorted(FILLED))
def test_a_payload_goes_back_to_the_form_values_that_make_it(step):
    _, payload = FILLED[step]
    values = to_values(STEP_FORMS[step], payload)
    assert to_payload(STEP_FORMS[step], values).payload == payload


def test_every_form_field_name_is_allowed_and_nothing_else():
    for step, (values, _) in FILLED.items():
        assert all(field_allowed(STEP_FORMS[step], name) for name in values), step
    outcome = STEP_FORMS["outcome"]
    for name in ("actions[30].agency", "actions[01].agency", "actions[0].colour", "findings.day", "actions",
                 "held_on", "meeting_arranged", "recommendations", "status"):
        assert not field_allowed(outcome, name), name
    assert field_allowed(outcome, "actions[29].due_on.year") and field_allowed(outcome, "action")


def test_yes_and_no_are_true_and_false_and_a_blank_answer_is_no_answer():
    form = STEP_FORMS["appeal-decision"]
    assert to_payload(form, {"upheld": "yes"}).payload == {"upheld": True}
    assert to_payload(form, {"upheld": "", "reasons": "  "}).payload == {}
    assert to_payload(form, {"upheld": "maybe"}).payload == {"upheld": "maybe"}  # the model refuses it


def test_the_meeting_is_sent_only_when_the_decision_says_it_is_arranged():
    form = STEP_FORMS["threshold-decision"]
    values = {"decision": "met", "reasons": "r", **prefixed("meeting.", MEETING)}
    assert "meeting" not in to_payload(form, {**values, "meeting_arranged": "no"}).payload
    assert "meeting" not in to_payload(form, values).payload
    assert to_payload(form, {**values, "meeting_arranged": "yes"}).payload["meeting"] == MEETING_JSON


def test_the_api_errors_land_on_the_form_fields_rows_at_their_place_on_the_page():
    values = {"held_on.day": "21", "held_on.month": "12", "held_on.year": "2026", "findings": "Found.",
              **prefixed("actions[0].", {k: "" for k in ACTION}), **prefixed("actions[1].", ACTION),
              **prefixed("actions[2].", {**ACTION, "agency": "", "due_on.day": "31", "due_on.month": "2"}),
              "recommendations[0]": "", "recommendations[1]": "", "recommendations[2]": "x" * 2001}
    api, form = errors_of("outcome", values)
    # The payload's second action is the page's third row; its second recommendation... the third box.
    assert {e["field"] for e in api} == {"actions[1].agency", "actions[1].due_on", "recommendations[0]"}
    assert [(e["field"], e["id"], e["anchor"]) for e in form] == [
        ("recommendations[0]", "recommendations-2", "recommendations-2"),
        ("actions[1].agency", "actions-2-agency", "actions-2-agency"),
        ("actions[1].due_on", "actions-2-due_on", "actions-2-due_on-day"),
    ]
    assert form[2]["message"] == "The date the action is due must be a real date"


def test_list_and_group_errors_link_to_their_first_input_and_the_meeting_to_its_question():
    api, form = errors_of("threshold-decision", {"decision": "not_met", "reasons": "r", "meeting_arranged": "yes",
                                                 **prefixed("meeting.", {**MEETING, "agencies[2]": "", "agencies[3]": ""})})
    by_field = {e["field"]: e for e in form}
    assert by_field["meeting.agencies"]["anchor"] == "meeting-agencies-0"
    assert by_field["meeting"]["anchor"] == "meeting_arranged"
    assert {e["field"] for e in api} == set(by_field)
    api, form = errors_of("outcome", {"findings": "f"})
    assert [(e["field"], e["anchor"]) for e in form] == [("held_on", "held_on-day")]


@pytest.mark.parametrize("parts, message, marked", [
    (("", "", ""), "Enter the date the meeting was held", None),
    (("21", "", "2026"), "The date the meeting was held must include a month", ["month"]),
    (("", "12", ""), "The date the meeting was held must include a day and year", ["day", "year"]),
    (("3rd", "12", "2026"), "The date the meeting was held must be a real date, written in numbers", ["day"]),
    (("21", "12", "26"), "The date the meeting was held year must include 4 numbers", ["year"]),
    (("29", "2", "2026"), "The date the meeting was held must be a real date", None),  # 2026 is no leap year
    (("31", "12", "2026"), "The date the meeting was held must be today or in the past", None),
    (("٢١", "12", "2026"), "The date the meeting was held must be a real date, written in numbers", ["day"]),
])
def test_a_date_with_bad_parts_says_which_box_is_wrong(parts, message, marked):
    day, month, year = parts
    values = {"held_on.day": day, "held_on.month": month, "held_on.year": year, "findings": "f"}
    api, form = errors_of("outcome", values)
    assert [e["field"] for e in api] == ["held_on"]  # the API's own check refuses it
    [error] = form
    assert (error["message"], error["parts"], error["anchor"]) == (message, marked, "held_on-day")


def test_dates_around_the_year_end_and_leap_days_are_read_as_typed():
    form = STEP_FORMS["draft-plan"]
    for (d, m, y), iso in ((("31", "12", "2026"), "2026-12-31"), (("1", "1", "2027"), "2027-01-01"),
                           (("29", "2", "2028"), "2028-02-29"), (("31", "8", "2027"), "2027-08-31"),
                           (("26", "3", "2027"), "2027-03-26")):
        assert to_payload(form, {"respond_by.day": d, "respond_by.month": m, "respond_by.year": y}
                          ).payload["respond_by"] == iso
    assert date_parts_problem("01", "01", "2027") is None
    assert date_parts_problem("1", "13", "2027") is None  # a month 13 is the model's to refuse
    with pytest.raises(StaffInvalid) as caught:
        validate("draft-plan", {"held_on": "2026-12-21", "findings": "f", "respond_by": "2027-13-01"})
    assert caught.value.errors[0]["field"] == "respond_by"


def test_a_missing_choice_says_select():
    _, form = errors_of("withdraw", {"note": "n"})
    assert form == [{"field": "reason", "name": "reason", "id": "reason", "anchor": "reason", "parts": None,
                     "message": "Select why the application is withdrawn"}]


def test_the_form_views_keep_what_was_typed_and_add_a_row_when_asked():
    form = STEP_FORMS["outcome"]
    values = {**prefixed("actions[0].", ACTION), **prefixed("actions[1].", ACTION), **prefixed("actions[2].", ACTION)}
    shown = views(form, values)
    assert len(shown["actions"]["rows"]) == 3
    assert shown["actions"]["rows"][2]["fields"]["due_on"]["value"] == {"day": "1", "month": "2", "year": "2027"}
    assert len(views(form, values, add_to="actions")["actions"]["rows"]) == 4
    assert len(views(form, {})["actions"]["rows"]) == 2  # a new form's blank rows
    assert len(views(form, {}, add_to="recommendations")["recommendations"]["items"]) == 3
    assert element_id("actions[2].due_on") == "actions-2-due_on"
