"""The console's step forms, in-process: every step as a form that renders, the staff API's own
validation (the same fields named for the same input), a preview of the letters that stores and
sends nothing, the step taken on Send with the version the form was loaded at, and the refusals
(role, area, state, a stale form, a missing CSRF token) as pages."""
from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest

from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord
from chalicelib.console_forms import STEP_FORMS, element_id, to_payload
from chalicelib.letters import date_posted
from chalicelib.openapi import example_application, example_on_behalf

TODAY = date(2026, 12, 21)


def apply(client, body=None) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(body or example_application(TODAY)))
    assert r.status_code == 201, r.body
    return r.json_body["reference"]


def api(client, auth, path, body=None):
    return client.http.post(path, headers={"Content-Type": "application/json", "Authorization": auth},
                            body=json.dumps(body) if body is not None else None)


def stored(ref):
    case = CaseRecord.get(ref)
    return (case.version, case.status, len(list(LetterRecord.query(ref))), len(list(AuditEvent.query(ref))),
            sorted((p.request_id, p.status) for p in PartnerRequestRecord.query(ref)))


def html(r) -> str:
    return r.body.decode() if isinstance(r.body, bytes) else r.body


def version_of(ref) -> str:
    return str(CaseRecord.get(ref).version)


def summary_links(r) -> list[str]:
    """The error summary's links (#ids), in order."""
    body = html(r)
    summary = body.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="#([^"]+)"', summary)


def title(r) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html(r), re.S).group(1))


MEETING = {"meeting.date.day": "11", "meeting.date.month": "1", "meeting.date.year": "2027", "meeting.time": "10:00",
           "meeting.online": "no", "meeting.place": "Matlock Town Hall", "meeting.chair": "Alex Chair",
           "meeting.agencies[0]": "Derbyshire Constabulary", "meeting.agencies[1]": "Peak Homes",
           "meeting.agencies[2]": "District council", "meeting.agencies[3]": "", "meeting.victim_invited": "yes"}
ACTION = {"description": "Fit a door entry system", "agency": "Peak Homes", "lead_officer": "Jo Ward",
          "due_on.day": "1", "due_on.month": "2", "due_on.year": "2027", "victim_agreed": "yes"}
HELD_TODAY = {"held_on.day": "21", "held_on.month": "12", "held_on.year": "2026"}


def row(n: int, values: dict, prefix: str = "actions") -> dict:
    return {f"{prefix}[{n}].{k}": v for k, v in values.items()}


# A valid form for each step, as a person fills it in (blank optional answers included).
FILLED = {
    "consent": {"received_on.day": "18", "received_on.month": "12", "received_on.year": "2026",
                "evidence": "written_consent", "note": ""},
    "acknowledgement": {"acknowledged_on.day": "21", "acknowledged_on.month": "12", "acknowledged_on.year": "2026",
                        "how": "phone", "note": "Called back the same day"},
    "threshold-decision": {"decision": "met", "senior_officer": "", "reasons": "Three reports <b>in</b> six months.",
                           "meeting_arranged": "yes", **MEETING},
    "meeting": {k.removeprefix("meeting."): v for k, v in MEETING.items()},
    "draft-plan": {**HELD_TODAY, "findings": "Found.", "recommendations[0]": "Mediation", "recommendations[1]": "",
                   **row(0, ACTION), **row(1, {k: "" for k in ACTION})},
    "outcome": {**HELD_TODAY, "findings": "Found.", "recommendations[0]": "Mediation", **row(0, ACTION)},
    "close": {"reason": "The noise stopped.", "open_actions": "hand_to_agencies", "handover_reason": "Routine repairs"},
    "withdraw": {"reason": "applicant_request", "note": ""},
    "reject": {"reason": "vexatious", "note": "Ten applications this month"},
    "appeal": {"against": "threshold_decision", "lodged_on.day": "21", "lodged_on.month": "12", "lodged_on.year": "2026",
               "grounds": "The police reports were missed."},
    "appeal-acknowledgement": {},
    "appeal-decision": {"upheld": "no", "reasons": "The reports were counted."},
}
# The status each step leaves the case in (API-made cases; see `case_for`).
AFTER = {"consent": "acknowledged", "acknowledgement": "acknowledged", "threshold-decision": "meeting_scheduled",
         "meeting": "meeting_scheduled", "draft-plan": "draft_plan_sent", "outcome": "monitoring", "close": "closed",
         "withdraw": "withdrawn", "reject": "rejected", "appeal": "threshold_not_met",
         "appeal-acknowledgement": "threshold_not_met", "appeal-decision": "threshold_not_met"}
APPEALS = ("appeal", "appeal-acknowledgement", "appeal-decision")
API_MEETING = {"date": "2026-12-21", "time": "10:00", "online": True, "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}


def case_for(step: str, client, token) -> str:
    """A case (made through the staff API) in a state where `step` can be taken."""
    spoc, appeals = token("spoc", ["derbyshire", "hart"]), token("appeals", "derbyshire")
    if step == "consent":
        return apply(client, example_on_behalf(TODAY))
    if step == "acknowledgement":
        r = client.http.post("/cases", headers={"Content-Type": "application/json", "Authorization": spoc}, body=json.dumps(
            {"channel": "paper", "application": example_application(TODAY), "acknowledgement": "by_staff"}))
        assert r.status_code == 201, r.body
        return r.json_body["reference"]
    ref = apply(client)
    if step in ("threshold-decision", "withdraw", "reject"):
        return ref
    if step in APPEALS:
        assert api(client, spoc, f"/cases/{ref}/threshold-decision", {"decision": "not_met", "reasons": "r"}).status_code == 200
        if step != "appeal":
            assert api(client, appeals, f"/cases/{ref}/appeal", {"against": "threshold_decision",
                                                                 "lodged_on": "2026-12-21", "grounds": "g"}).status_code == 200
        return ref
    meeting = {"meeting": API_MEETING} if step != "meeting" else {}
    assert api(client, spoc, f"/cases/{ref}/threshold-decision", {"decision": "met", "reasons": "r", **meeting}).status_code == 200
    if step == "close":
        r = api(client, spoc, f"/cases/{ref}/outcome", {"held_on": "2026-12-21", "findings": "f", "actions": [{
            "description": "Fit a door entry system", "agency": "Peak Homes", "lead_officer": "Jo Ward",
            "due_on": "2027-02-01", "victim_agreed": True}]})
        assert r.status_code == 200, r.body
    return ref


def area_for(step: str) -> str:
    return "hart" if step == "consent" else "derbyshire"  # the on-behalf example applies in Hart


def who_for(step: str, console_as):
    if step in APPEALS:
        return console_as("appeals", "derbyshire", name="Robin Appeals")
    return console_as("spoc", area_for(step))


def invalid_form(step: str) -> dict:
    """The form sent with nothing typed, but for a date that cannot be (31 February)."""
    form = STEP_FORMS[step]
    dates = [f.name for f in form.fields if f.kind == "date"]
    return {f"{dates[0]}.day": "31", f"{dates[0]}.month": "2", f"{dates[0]}.year": "2027"} if dates else {}


STEPS_WITH_FIELDS = [s for s in FILLED if STEP_FORMS[s].model]


@pytest.mark.parametrize("step", sorted(FILLED))
def test_every_step_is_a_form_for_its_case(step, client, token, console_as):
    ref = case_for(step, client, token)
    r = who_for(step, console_as).get(f"/console/cases/{ref}/steps/{step}")
    assert r.status_code == 200, html(r)
    body = html(r)
    assert f'<h1 class="govuk-heading-l">{STEP_FORMS[step].title}</h1>' in unescape(body)
    assert f'/console/cases/{ref}" class="govuk-back-link"' in body
    assert f'name="version" value="{version_of(ref)}"' in body and 'name="csrf_token"' in body
    assert "Sam Taylor" in body and ("Derbyshire" in body or "Hart" in body)  # the victim, the area
    assert r.headers["Cache-Control"] == "no-store"
    for f in STEP_FORMS[step].fields:
        anchor = element_id(f.name) + ("-day" if f.kind == "date" else "-0" if f.kind == "texts" else "")
        if f.kind == "rows":
            anchor = f"{f.name}-0-{f.fields[0].name}"
        if f.kind == "group":
            anchor = f.switch
        assert f'id="{anchor}"' in body, (step, anchor)


@pytest.mark.parametrize("step", sorted(STEPS_WITH_FIELDS))
def test_invalid_input_names_the_same_fields_as_the_staff_api(step, client, token, console_as):
    ref = case_for(step, client, token)
    user = who_for(step, console_as)
    before = stored(ref)
    values = invalid_form(step)
    r = user.post(f"/console/cases/{ref}/steps/{step}", {"version": version_of(ref), "action": "preview", **values})
    assert r.status_code == 422, html(r)
    assert title(r).startswith("Error: ")
    # The staff API, sent the payload the same answers make, refuses the same fields.
    auth = token("appeals" if step in APPEALS else "spoc", area_for(step))
    from chalicelib.console_forms import form_errors

    posted = to_payload(STEP_FORMS[step], values)
    answer = api(client, auth, f"/cases/{ref}/{step}/preview", posted.payload)
    assert answer.status_code == 422
    expected = [e["anchor"] for e in form_errors(STEP_FORMS[step], answer.json_body["errors"], posted)]
    assert summary_links(r) == expected and len(expected) >= 1
    assert {e["field"] for e in answer.json_body["errors"]} == {
        e["field"] for e in form_errors(STEP_FORMS[step], answer.json_body["errors"], posted)}
    for anchor in expected:  # each link goes to an input on the page, and its message is by the field
        assert f'id="{anchor}"' in html(r)
    assert html(r).count('class="govuk-error-message"') >= len(expected)
    if values:
        assert 'value="31"' in html(r)  # what was typed is kept
    assert stored(ref) == before


@pytest.mark.parametrize("step", sorted(FILLED))
def test_preview_shows_the_letters_and_stores_and_sends_nothing_then_send_takes_the_step(
        step, client, token, console_as, outbox):
    ref = case_for(step, client, token)
    user = who_for(step, console_as)
    version, before, sent = version_of(ref), stored(ref), len(outbox())
    r = user.post(f"/console/cases/{ref}/steps/{step}", {"version": version, "action": "preview", **FILLED[step]})
    assert r.status_code == 200, html(r)
    body = html(r)
    assert "Check the letters before you send" in body
    assert stored(ref) == before and len(outbox()) == sent  # no letter stored, no email sent
    auth = token("appeals" if step in APPEALS else "spoc", area_for(step))
    previewed = api(client, auth, f"/cases/{ref}/{step}/preview", to_payload(STEP_FORMS[step], FILLED[step]).payload)
    assert previewed.status_code == 200
    letters = previewed.json_body["letters"]
    if letters:
        for letter in letters:
            assert unescape(f">{letter['subject']}<") in unescape(body)
        assert body.count('class="app-letter"') == sum(1 for l in letters if l["html"])
        assert "<style" not in body and "<h1>" not in body  # the letter's own head and heading stay out
    else:
        assert "This step sends no letter." in body
    # The values ride along as hidden fields; Send takes the step with them.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
    assert hidden["version"] == version
    fields = {k: unescape(v) for k, v in hidden.items() if k != "csrf_token"}
    r = user.post(f"/console/cases/{ref}/steps/{step}", {**fields, "action": "confirm"})
    assert r.status_code == 303, html(r)
    assert r.headers["Location"].endswith(f"/console/cases/{ref}?done={step}")
    case = CaseRecord.get(ref)
    assert case.status == AFTER[step] and case.version > int(version)
    if letters:
        stored_letters = list(LetterRecord.query(ref))
        for letter in letters:  # the letters sent are those previewed (a posted one dated when it is printed)
            assert any(l.subject == letter["subject"] and (date_posted(l.text, TODAY) == letter["text"]
                                                           or letter["to"] == "partner") for l in stored_letters)


def test_the_letter_in_the_preview_escapes_what_was_typed(client, token, console_as):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/steps/threshold-decision", {
        "version": version_of(ref), "action": "preview", "decision": "not_met",
        "reasons": '<script>alert("x")</script> & <b>bold</b>'})
    assert r.status_code == 200
    body = html(r)
    assert "<script>alert" not in body and "<b>bold" not in body
    assert "&lt;script&gt;alert" in body and "Monday 18 January 2027" in body  # the last day to appeal


def test_change_goes_back_to_the_form_with_the_values(client, console_as):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/steps/threshold-decision", {
        "version": version_of(ref), "action": "change", **FILLED["threshold-decision"]})
    assert r.status_code == 200
    body = html(r)
    assert 'value="Matlock Town Hall"' in body and 'value="met" checked' in body
    assert "Three reports &lt;b&gt;in&lt;/b&gt; six months." in body


def test_a_stale_form_is_refused_and_nothing_changes(client, token, console_as, outbox):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    loaded = version_of(ref)
    api(client, token("spoc", "derbyshire"), f"/cases/{ref}/notes", {"text": "Phoned the victim."})  # someone else
    before, sent = stored(ref), len(outbox())
    for action in ("confirm", "preview"):
        r = user.post(f"/console/cases/{ref}/steps/reject", {"version": loaded, "action": action, **FILLED["reject"]})
        assert r.status_code == 409, html(r)
        assert "Nothing was saved" in html(r) and f'/console/cases/{ref}"' in html(r)
    assert stored(ref) == before and len(outbox()) == sent


def test_wrong_role_or_area_is_refused(client, token, console_as):
    ref = apply(client)
    hart, appeals, spoc = console_as("spoc", "hart"), console_as("appeals", "derbyshire"), console_as("spoc", "derbyshire")
    before = stored(ref)
    assert hart.get(f"/console/cases/{ref}/steps/threshold-decision").status_code == 403
    assert appeals.get(f"/console/cases/{ref}/steps/threshold-decision").status_code == 403
    assert spoc.get(f"/console/cases/{ref}/steps/appeal").status_code == 403
    r = hart.post(f"/console/cases/{ref}/steps/threshold-decision", {
        "version": version_of(ref), "action": "confirm", **FILLED["threshold-decision"]})
    assert r.status_code == 403 and "Sam Taylor" not in html(r)
    r = spoc.post(f"/console/cases/{ref}/steps/appeal", {"version": version_of(ref), "action": "confirm", **FILLED["appeal"]})
    assert r.status_code == 403
    assert stored(ref) == before


def test_a_step_not_allowed_now_says_so(client, console_as):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.get(f"/console/cases/{ref}/steps/outcome")
    assert r.status_code == 409
    assert "acknowledged" in html(r) and f'/console/cases/{ref}"' in html(r)
    before = stored(ref)
    r = user.post(f"/console/cases/{ref}/steps/outcome", {"version": version_of(ref), "action": "confirm", **FILLED["outcome"]})
    assert r.status_code == 409 and "Nothing was saved" in html(r)
    assert stored(ref) == before
    assert user.get(f"/console/cases/{ref}/steps/acknowledgement").status_code == 409  # acknowledged on arrival
    assert user.get(f"/console/cases/{ref}/steps/no-such-step").status_code == 404
    assert user.get("/console/cases/CT-NONE-XXXX/steps/reject").status_code == 404


def test_without_the_csrf_token_nothing_is_done(client, console_as, outbox):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    before, sent = stored(ref), len(outbox())
    r = user.post(f"/console/cases/{ref}/steps/reject", {"version": version_of(ref), "action": "confirm",
                                                          **FILLED["reject"]}, csrf=False)
    assert r.status_code == 403
    assert stored(ref) == before and len(outbox()) == sent


def test_signed_out_a_step_form_goes_to_sign_in(client):
    ref = apply(client)
    r = client.http.get(f"/console/cases/{ref}/steps/reject")
    assert r.status_code == 303 and "/console/sign-in" in r.headers["Location"]


def test_a_field_the_form_does_not_have_is_refused(client, console_as):
    ref = apply(client)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/steps/reject", {"version": version_of(ref), "action": "confirm",
                                                          "reason": "vexatious", "note": "n", "status": "closed"})
    assert r.status_code == 400
    r = user.post(f"/console/cases/{ref}/steps/reject", {"action": "confirm", **FILLED["reject"]})
    assert r.status_code == 400 and "version" in html(r)


def test_an_outcome_with_three_actions_added_row_by_row(client, token, console_as):
    ref = case_for("outcome", client, token)
    user = console_as("spoc", "derbyshire")
    path = f"/console/cases/{ref}/steps/outcome"
    body = html(user.get(path))
    assert 'id="actions-1-description"' in body and 'id="actions-2-description"' not in body
    assert 'name="action" class="govuk-button govuk-button--secondary"' in body.replace('value="add_row" ', "")
    values = {"version": version_of(ref), **HELD_TODAY, "findings": "Found.", **row(0, ACTION),
              **row(1, {**ACTION, "description": "Mediation sessions", "agency": "Council"})}
    r = user.post(path, {**values, "action": "add_row"})
    assert r.status_code == 200 and 'id="actions-2-description"' in html(r)
    assert ">Mediation sessions</textarea>" in html(r)
    values.update(row(2, {**ACTION, "description": "Weekly patrols", "agency": "Derbyshire Constabulary"}))
    r = user.post(path, {**values, "action": "add_row"})
    assert 'id="actions-3-description"' in html(r)
    values.update(row(3, {k: "" for k in ACTION}))  # the fourth row left blank
    r = user.post(path, {**values, "action": "preview"})
    assert r.status_code == 200, html(r)
    for text in ("Fit a door entry system", "Mediation sessions", "Weekly patrols"):
        assert text in html(r)
    r = user.post(path, {**values, "action": "confirm"})
    assert r.status_code == 303
    outcome = CaseRecord.get(ref).outcome
    assert [a["description"] for a in outcome["actions"]] == ["Fit a door entry system", "Mediation sessions",
                                                               "Weekly patrols"]


def test_an_error_in_the_third_action_links_to_its_row(client, token, console_as):
    ref = case_for("outcome", client, token)
    user = console_as("spoc", "derbyshire")
    r = user.post(f"/console/cases/{ref}/steps/outcome", {
        "version": version_of(ref), "action": "preview", **HELD_TODAY, "findings": "f", **row(0, ACTION),
        **row(1, {k: "" for k in ACTION}), **row(2, {**ACTION, "due_on.month": "13"})})
    assert r.status_code == 422
    assert summary_links(r) == ["actions-2-due_on-day"]


def test_a_meeting_held_before_it_was_arranged_is_refused_on_the_form(client, token, console_as):
    """A refusal from the step itself (not the model) shows on the form too."""
    ref = case_for("outcome", client, token)
    r = console_as("spoc", "derbyshire").post(f"/console/cases/{ref}/steps/outcome", {
        "version": version_of(ref), "action": "preview", "held_on.day": "20", "held_on.month": "12",
        "held_on.year": "2026", "findings": "f"})
    assert r.status_code == 422 and summary_links(r) == ["held_on-day"]
    assert "must first be rescheduled" in html(r)


def test_one_case_from_application_to_closure_through_the_console(client, console_as, outbox):
    ref = apply(client)  # a self application: no consent needed
    user = console_as("spoc", "derbyshire")

    def take(path, values, done):
        form = html(user.get(path))
        version = re.search(r'name="version" value="(\d+)"', form).group(1)
        r = user.post(path, {"version": version, "action": "preview", **values})
        assert r.status_code == 200, html(r)
        assert "Check the letters before you send" in html(r)
        r = user.post(path, {"version": version, "action": "confirm", **values})
        assert r.status_code == 303, html(r)
        assert r.headers["Location"].endswith(f"/console/cases/{ref}?done={done}")

    meeting = {**MEETING, "meeting.date.day": "21", "meeting.date.month": "12", "meeting.date.year": "2026"}
    take(f"/console/cases/{ref}/steps/threshold-decision", {**FILLED["threshold-decision"], **meeting}, "threshold-decision")
    assert CaseRecord.get(ref).status == "meeting_scheduled"
    take(f"/console/cases/{ref}/steps/draft-plan", FILLED["draft-plan"], "draft-plan")
    assert CaseRecord.get(ref).status == "draft_plan_sent"
    # The outcome's form starts from the draft plan sent.
    form = html(user.get(f"/console/cases/{ref}/steps/outcome"))
    assert 'value="Fit a door entry system"' not in form and ">Fit a door entry system</textarea>" in form
    take(f"/console/cases/{ref}/steps/outcome", {**FILLED["outcome"], "views_on_draft": "Happy with it."}, "outcome")
    assert CaseRecord.get(ref).status == "monitoring"
    take(f"/console/cases/{ref}/actions/A1", {"status": "done", "note": "Fitted on 5 January"}, "action-update")
    assert CaseRecord.get(ref).outcome["actions"][0]["status"] == "done"
    take(f"/console/cases/{ref}/steps/close", {"reason": "The actions are done and the noise stopped."}, "close")
    case = CaseRecord.get(ref)
    assert case.status == "closed"
    steps = [l.step for l in LetterRecord.query(ref)]
    assert {"threshold_met", "draft_plan", "outcome_actions", "update", "closed"} <= set(steps)
    assert [m for m in outbox("sam.taylor@example.com") if "closed" in m.subject.lower() or ref in m.subject]


def test_an_action_update_is_previewed_and_refused_when_there_is_no_plan(client, token, console_as, outbox):
    ref = case_for("close", client, token)
    user = console_as("spoc", "derbyshire")
    r = user.get(f"/console/cases/{ref}/actions/A1")
    assert r.status_code == 200 and "Fit a door entry system" in html(r)
    before, sent = stored(ref), len(outbox())
    r = user.post(f"/console/cases/{ref}/actions/A1", {"version": version_of(ref), "action": "preview", "status": "done"})
    assert r.status_code == 422 and summary_links(r) == ["note"]
    r = user.post(f"/console/cases/{ref}/actions/A1", {"version": version_of(ref), "action": "preview",
                                                        "status": "done", "note": "Fitted"})
    assert r.status_code == 200 and "Fit a door entry system" in html(r)
    assert stored(ref) == before and len(outbox()) == sent
    assert user.get(f"/console/cases/{ref}/actions/A9").status_code == 404
    fresh = apply(client)
    assert user.get(f"/console/cases/{fresh}/actions/A1").status_code == 404
    assert console_as("spoc", "hart").get(f"/console/cases/{ref}/actions/A1").status_code == 403


AGENCY = {"area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "PC Lee",
          "reasons": "Five reports in three months and a vulnerable victim.", "summary": "Noise and threats.",
          "victim.name": "Sam Taylor", "victim.address.line1": "12 Elm Road", "victim.address.line2": "",
          "victim.address.town": "Matlock", "victim.address.postcode": "DE4 3AG", "victim.email": "",
          "victim.daytime_phone": "", "victim.mobile_phone": "", "victim.preferred_contact": "post",
          "asb_location.description": "", "asb_location.postcode": ""}


def test_an_agency_starts_a_review_with_a_preview_of_the_victims_letter(client, token, console_as, outbox):
    user = console_as("spoc", "derbyshire")
    r = user.get("/console/agency-reviews/new")
    assert r.status_code == 200 and 'value="derbyshire" checked' in html(r)
    cases, sent = len(list(CaseRecord.scan())), len(outbox())
    r = user.post("/console/agency-reviews/new", {"action": "preview", **AGENCY, "victim.address.postcode": "nowhere"})
    assert r.status_code == 422 and summary_links(r) == ["victim-address-postcode"]
    answer = client.http.post("/agency-reviews", headers={"Content-Type": "application/json",
                                                          "Authorization": token("spoc", "derbyshire")},
                              body=json.dumps(to_payload(STEP_FORMS["agency-review"], {
                                  **AGENCY, "victim.address.postcode": "nowhere"}).payload))
    assert [e["field"] for e in answer.json_body["errors"]] == ["victim.address.postcode"]
    r = user.post("/console/agency-reviews/new", {"action": "preview", **AGENCY})
    assert r.status_code == 200, html(r)
    assert "Derbyshire Constabulary" in html(r) and "By post" in html(r)
    assert len(list(CaseRecord.scan())) == cases and len(outbox()) == sent  # nothing made, nothing sent
    r = user.post("/console/agency-reviews/new", {"action": "confirm", **AGENCY})
    assert r.status_code == 303
    new_ref = re.search(r"/console/cases/(CT-[A-Z0-9-]+)\?done=agency-review$", r.headers["Location"]).group(1)
    assert CaseRecord.get(new_ref).status == "review_pending"
    assert console_as("appeals", "derbyshire").get("/console/agency-reviews/new").status_code == 403
    r = console_as("spoc", "hart").post("/console/agency-reviews/new", {"action": "confirm", **AGENCY})
    assert r.status_code == 403
