"""Staff case work through the API: authentication, roles and areas on every staff route, the
whole process with its letters, appeals, illegal steps and concurrent edits."""
from __future__ import annotations

import json
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app import app
from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord
from chalicelib.openapi import example_application, example_on_behalf

TODAY = date(2026, 12, 21)
PUBLIC = {("/applications", "POST"), ("/applications", "OPTIONS"), ("/openapi.json", "GET"), ("/partner/{token}", "GET"),
          ("/partner/{token}", "POST"), ("/assets/partner.css", "GET"), ("/stats", "GET"), ("/stats.csv", "GET"),
          ("/stats/fragment.html", "GET"), ("/stats/widget.js", "GET"), ("/stats/data-return.csv", "GET"),
          # The staff console: its own session cookie, checked by the pages (tests/api/test_console_auth.py).
          ("/console", "GET"), ("/console/sign-in", "GET"), ("/console/callback", "GET"),
          ("/console/sign-out", "POST"), ("/console/signed-out", "GET")}
# The console's assets: no personal data.
PUBLIC |= {("/console/assets/{kind}/{name}", "GET")}
# Every other console page is behind the console's own session (no bearer token): which role and
# area opens each is walked by tests/api/test_console_access.py.
PUBLIC |= {(path, method) for path, methods in app.routes.items() for method in methods if path.startswith("/console/")}


def call(client, method, path, auth=None, body=None, headers=None):
    h = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {}), **(headers or {})}
    return getattr(client.http, method.lower())(path, headers=h, body=json.dumps(body) if body is not None else None)


def apply(client, body) -> str:
    response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def letters(ref: str) -> list[tuple[str, str, str]]:
    return [(l.recipient_role, l.step, l.template) for l in LetterRecord.query(ref)
            if l.recipient_role in ("applicant", "victim")]


MEETING = {"date": "2027-01-20", "time": "14:00", "place": "Matlock Town Hall", "online": False,
           "chair": "Head of Community Safety, High Peak", "agencies": ["Derbyshire Constabulary", "District council",
                                                                         "Peak Homes Housing Association"],
           "victim_invited": True}
# A meeting held on the day the tests start (an outcome cannot be recorded as held before its meeting).
MEETING_TODAY = {**MEETING, "date": "2026-12-21"}


# ---------------------------------------------------------------- every staff route: 401 and 403


def staff_routes():
    return [(path, method) for path, methods in app.routes.items() for method in methods
            if (path, method) not in PUBLIC]


def test_every_route_is_either_public_or_behind_the_authorizer():
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if (path, method) in PUBLIC:
                assert entry.authorizer is None, f"{method} {path} should be public"
            else:
                assert entry.authorizer is not None and entry.authorizer.name == "staff_auth", f"{method} {path}"


def test_no_token_or_a_bad_one_is_401_on_every_staff_route(client, token, key):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = [None, "Bearer not-a-jwt", token(expired=True), token(audience="someone-else"), token(signer=other_key),
           token().replace("Bearer ", "Basic ")]
    for path, method in staff_routes():
        url = path.replace("{ref}", "CT-7K3M-9QXR").replace("{action_id}", "A1").replace(
            "{letter_id}", "01").replace("{request_id}", "P01")
        for auth in bad:
            response = call(client, method, url, auth, {} if method == "POST" else None)
            assert response.status_code == 401, (method, path, auth and auth[:20], response.status_code)


def test_wrong_role_or_area_is_403_on_every_staff_route(client, token):
    ref = apply(client, example_application(TODAY))  # a Derbyshire case
    spoc_elsewhere = token("spoc", "hart")
    appeals_here = token("appeals", "derbyshire")
    spoc_here = token("spoc", "derbyshire")
    nobody = token([], "derbyshire")
    for path, method in staff_routes():
        url = path.replace("{ref}", ref).replace("{action_id}", "A1").replace("{letter_id}", "01").replace("{request_id}", "P01")
        body = {} if method == "POST" else None
        if path == "/cases" and method == "POST":
            body = {"channel": "phone", "application": example_application(TODAY)}
        if path in ("/cases", "/reports/deadlines") and method == "GET":
            url = f"{path}?area=derbyshire"
        checks = [nobody]
        if "{ref}" in path or path in ("/cases", "/reports/deadlines"):
            checks.append(spoc_elsewhere)  # the wrong area
        appeal_route = path in ("/appeals",) or "appeal" in path
        checks.append(spoc_here if appeal_route else appeals_here)  # the wrong role
        if (path, method) in (("/cases/{ref}", "GET"), ("/reports/deadlines", "GET"), ("/cases/{ref}/notes", "POST"),
                              ("/cases/{ref}/letters/{letter_id}", "GET")):
            checks.remove(appeals_here)  # the appeals body may read these, and write notes, for its areas
        for auth in checks:
            response = call(client, method, url, auth, body)
            assert response.status_code == 403, (method, path, response.status_code, response.body[:200])
            assert response.json_body["status"] == 403


# ---------------------------------------------------------------- the whole process


def test_a_case_goes_from_application_to_closure_with_every_letter(client, token, outbox, clock):
    spoc = token("spoc", "derbyshire")
    body = example_on_behalf(TODAY)
    body["area"] = "derbyshire"
    body["applicant"]["organisation"] = "Derbyshire Dales District Council"
    ref = apply(client, body)
    assert CaseRecord.get(ref).status == "awaiting_consent"

    # Consent arrives: the victim is told (Letter 3), the applicant acknowledged (Letter 1), partners asked.
    clock.set("2026-12-22T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/consent", spoc, {"received_on": "2026-12-22", "evidence": "written_consent"})
    assert r.status_code == 200, r.body
    assert r.json_body["status"] == "acknowledged"
    assert PartnerRequestRecord.count(ref) >= 4
    detail = call(client, "GET", f"/cases/{ref}", spoc).json_body
    # 15 working days from Tuesday 22 December 2026 (Christmas, Boxing Day observed, New Year's Day).
    assert detail["deadlines"]["threshold_decision"]["due"] == "2027-01-15"
    assert "decide_met" in detail["next_steps"]

    # Threshold met, with the meeting arranged: Letter 5 gives the date.
    clock.set("2027-01-08T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc,
             {"decision": "met", "reasons": "Four qualifying complaints confirmed by police and housing.", "meeting": MEETING},
             headers={"If-Match": str(detail["version"])})
    assert r.status_code == 200, r.body
    assert r.json_body["status"] == "meeting_scheduled"

    # The meeting is held; the outcome has an action plan (Letter 6).
    clock.set("2027-01-22T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {
        "held_on": "2027-01-20", "findings": "Reports were handled by each agency alone.",
        "recommendations": ["Joint visit by police and housing"],
        "actions": [{"description": "Joint warning visit", "agency": "Peak Homes Housing Association",
                     "lead_officer": "Jamie Ward", "due_on": "2027-02-05", "victim_agreed": True}],
        "not_recommended": [{"description": "Injunction now", "reason": "Evidence not yet sufficient"}]})
    assert r.status_code == 200, r.body
    assert r.json_body["status"] == "monitoring"

    r = call(client, "POST", f"/cases/{ref}/actions/A1", spoc, {"status": "done", "note": "Visit made on 3 February"})
    assert r.status_code == 200 and r.json_body["status"] == "monitoring"
    r = call(client, "POST", f"/cases/{ref}/close", spoc, {"reason": "All actions completed; the noise has stopped."})
    assert r.status_code == 200 and r.json_body["status"] == "closed"

    assert letters(ref) == [
        ("applicant", "consent_required", "derbyshire/letter2"),
        ("victim", "victim_confirmation", "derbyshire/letter3"),
        ("applicant", "acknowledgement", "derbyshire/letter1"),
        ("applicant", "threshold_met", "derbyshire/letter5"),
        ("victim", "threshold_met", "derbyshire/letter5"),
        ("applicant", "outcome_actions", "derbyshire/letter6"),
        ("victim", "outcome_actions", "derbyshire/letter6"),
        # Kept informed between decisions (2025 guidance): the action was done.
        ("applicant", "update", "common/update"),
        ("victim", "update", "common/update"),
        ("applicant", "closed", "common/closed"),
        ("victim", "closed", "common/closed"),
    ]
    by_step = {l.step: l for l in LetterRecord.query(ref) if l.recipient_role == "applicant"}
    assert "Wednesday 20 January 2027" in by_step["threshold_met"].text  # the meeting date
    assert "Jamie Ward" in by_step["outcome_actions"].text and "Friday 5 February 2027" in by_step["outcome_actions"].text
    timeline = [(e.action, e.from_status, e.to_status) for e in AuditEvent.query(ref)]
    assert timeline[0] == ("submit_awaiting_consent", None, "awaiting_consent")
    assert ("decide_met", "acknowledged", "review_pending") in timeline
    assert timeline[-1] == ("close", "monitoring", "closed")
    assert all(e.actor.startswith("Pat SPOC") for e in list(AuditEvent.query(ref))[1:])


def test_not_met_then_an_appeal_is_lodged_acknowledged_and_upheld(client, token, clock):
    spoc, appeals = token("spoc", "derbyshire"), token("appeals", ["derbyshire"], name="Opcc Officer")
    ref = apply(client, example_application(TODAY))
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc,
             {"decision": "not_met", "reasons": "Only two of the reports were made within a month."})
    assert r.json_body["status"] == "threshold_not_met"
    case = CaseRecord.get(ref)
    assert case.appeal_window_closes == "2027-01-18"  # 28 days after the decision letter
    [letter4] = [l for l in LetterRecord.query(ref) if l.step == "threshold_not_met"]
    assert "Monday 18 January 2027" in letter4.text and "two of the reports" in letter4.text

    clock.set("2027-01-11T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals,
             {"against": "threshold_decision", "lodged_on": "2027-01-11", "grounds": "Two more reports were missed."})
    assert r.status_code == 200, r.body
    assert call(client, "GET", "/appeals", appeals).json_body["appeals"][0]["reference"] == ref
    r = call(client, "POST", f"/cases/{ref}/appeal-acknowledgement", appeals)
    assert r.status_code == 200
    r = call(client, "POST", f"/cases/{ref}/appeal-decision", appeals,
             {"upheld": True, "reasons": "The police return shows two further qualifying reports."})
    assert r.json_body["status"] == "acknowledged"  # back for a fresh threshold decision
    case = CaseRecord.get(ref)
    assert case.assessment_closed is False and case.appeal["upheld"] is True
    steps = [l.step for l in LetterRecord.query(ref) if l.recipient_role == "applicant"]
    assert steps[-2:] == ["appeal_acknowledgement", "appeal_decision"]
    assert case.deadlines["appeal_decision"]["due"] == "2027-02-08"  # 20 working days from 11 January


def test_a_decision_appealed_and_not_upheld_cannot_be_appealed_again(client, token, clock):
    spoc, appeals = token("spoc", "derbyshire"), token("appeals", "derbyshire")
    ref = apply(client, example_application(TODAY))
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few reports."})
    appeal = {"against": "threshold_decision", "lodged_on": "2026-12-21", "grounds": "Reports were missed."}
    assert call(client, "POST", f"/cases/{ref}/appeal", appeals, appeal).status_code == 200
    assert call(client, "POST", f"/cases/{ref}/appeal-decision", appeals,
                {"upheld": False, "reasons": "All the reports were counted."}).status_code == 200
    # Still inside the 28 days, but that decision has had its appeal: the appeals body's word is the last.
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals, {**appeal, "grounds": "Trying again."})
    assert r.status_code == 409 and "not upheld" in r.json_body["title"]
    from chalicelib import wiring
    from chalicelib.auth import Principal

    body = Principal(subject="u", name="Opcc", roles=frozenset({"appeals"}), areas=frozenset({"derbyshire"}))
    assert ref not in [c["reference"] for c in wiring.casework().appealable(body)]


def test_an_appeal_outside_the_window_is_refused(client, token, clock):
    spoc, appeals = token("spoc", "derbyshire"), token("appeals", "derbyshire")
    ref = apply(client, example_application(TODAY))
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few reports."})
    clock.set("2027-01-25T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals,
             {"against": "threshold_decision", "lodged_on": "2027-01-19", "grounds": "Late."})
    assert r.status_code == 409
    assert "2027-01-18" in r.json_body["title"]


def test_dacorum_sends_its_own_letters(client, token):
    spoc = token("spoc", "dacorum")
    ref = apply(client, example_application(TODAY, area="dacorum"))
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "CSAG agreed.", "meeting": MEETING_TODAY})
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc,
             {"held_on": "2026-12-21", "findings": "All possible action already taken.", "recommendations": []})
    assert r.json_body["status"] == "closed"
    assert [t for _, _, t in letters(ref)][-1] == "dacorum/ct3"
    ref2 = apply(client, example_application(TODAY, area="dacorum"))
    call(client, "POST", f"/cases/{ref2}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Criteria not met."})
    assert [t for _, _, t in letters(ref2)][-1] == "dacorum/ct2"


# ---------------------------------------------------------------- illegal steps and concurrent edits


def test_an_illegal_step_is_409_with_the_current_state_and_changes_nothing(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client, example_application(TODAY))
    before = CaseRecord.get(ref).version
    r = call(client, "POST", f"/cases/{ref}/close", spoc, {"reason": "Trying to skip the review"})
    assert r.status_code == 409
    assert r.json_body["current_status"] == "acknowledged"
    assert CaseRecord.get(ref).version == before
    assert [e.action for e in AuditEvent.query(ref)] == ["submit_complete"]


def test_a_stale_edit_is_409_and_changes_nothing(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client, example_application(TODAY))
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "not_met", "reasons": "x"},
             headers={"If-Match": "0"})
    assert r.status_code == 409 and r.json_body["version"] == 1
    assert CaseRecord.get(ref).status == "acknowledged"


def test_two_people_editing_at_once_the_second_gets_409_and_no_update_is_lost(client, token, wired, monkeypatch):
    spoc, colleague = token("spoc", "derbyshire"), token("spoc", "derbyshire", name="Sam Colleague")
    ref = apply(client, example_application(TODAY))
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY})
    call(client, "POST", f"/cases/{ref}/outcome", spoc, {
        "held_on": "2026-12-21", "findings": "f", "actions": [
            {"description": "Visit", "agency": "Police", "lead_officer": "PC Lee", "due_on": "2027-02-01", "victim_agreed": True}]})
    repo = wired.casework().repo
    real_save = repo.save_step
    raced = {"done": False}

    def save_after_a_colleague(**kwargs):
        if not raced["done"]:
            raced["done"] = True  # the colleague's update lands between our read and our write
            assert call(client, "POST", f"/cases/{ref}/actions/A1", colleague,
                        {"status": "open", "note": "Colleague: visit booked"}).status_code == 200
        return real_save(**kwargs)

    monkeypatch.setattr(repo, "save_step", save_after_a_colleague)
    r = call(client, "POST", f"/cases/{ref}/actions/A1", spoc, {"status": "done", "note": "Me: visit made"})
    assert r.status_code == 409
    notes = [p["note"] for p in CaseRecord.get(ref).outcome["actions"][0]["progress"]]
    assert notes == ["Colleague: visit booked"]  # the colleague's update is kept, ours was refused whole


# ---------------------------------------------------------------- the rest of the SPOC's work


def test_withdrawal_sends_a_letter_and_stops_partner_links(client, token, outbox):
    spoc = token("spoc", "derbyshire")
    ref = apply(client, example_application(TODAY))
    r = call(client, "POST", f"/cases/{ref}/withdraw", spoc,
             {"reason": "victim_unreachable", "note": "Three calls, two letters and a visit"})
    assert r.json_body["status"] == "withdrawn"
    assert letters(ref)[-1] == ("applicant", "withdrawn", "common/withdrawn")
    # Every request still open ends with the case: nobody is chased, and the links say the case is closed.
    assert {r.status for r in PartnerRequestRecord.query(ref)} == {"closed"}


def test_rejection_needs_a_reason_and_sends_a_letter(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client, example_application(TODAY))
    r = call(client, "POST", f"/cases/{ref}/reject", spoc, {"reason": "service_complaint"})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "note"
    r = call(client, "POST", f"/cases/{ref}/reject", spoc,
             {"reason": "service_complaint", "note": "About bin collections only"})
    assert r.json_body["status"] == "rejected"
    assert letters(ref)[-1] == ("applicant", "rejected", "common/rejected")


def test_staff_enter_a_phone_application_with_the_same_validation(client, token):
    spoc = token("spoc", "derbyshire")
    bad = example_application(TODAY)
    del bad["summary"]
    r = call(client, "POST", "/cases", spoc, {"channel": "phone", "application": bad})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "summary"
    r = call(client, "POST", "/cases", spoc, {"channel": "phone", "application": example_application(TODAY)})
    assert r.status_code == 201
    case = CaseRecord.get(r.json_body["reference"])
    assert case.channel == "phone"
    assert list(AuditEvent.query(case.ref))[0].actor.startswith("Pat SPOC")


def test_case_list_filters_by_status_and_overdue(client, token, clock):
    spoc = token("spoc", ["derbyshire", "hart"])
    first = apply(client, example_application(TODAY))
    second = apply(client, example_application(TODAY, area="hart"))
    page = call(client, "GET", "/cases", spoc).json_body
    listed = page["cases"]
    assert {c["reference"] for c in listed} == {first, second} and page["next_cursor"] is None
    assert call(client, "GET", "/cases?status=closed", spoc).json_body["cases"] == []
    assert call(client, "GET", "/cases?due=overdue", spoc).json_body["cases"] == []
    clock.set("2027-01-20T10:00:00+00:00")  # past the 15-working-day decision deadline
    overdue = call(client, "GET", "/cases?due=overdue", spoc).json_body["cases"]
    assert {c["reference"] for c in overdue} == {first, second}
    assert "threshold_decision" in overdue[0]["overdue"]


def test_case_detail_never_shows_the_equalities_answers(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client, example_application(TODAY))
    text = call(client, "GET", f"/cases/{ref}", spoc).body.decode()
    assert "35-44" not in text and "equalities" not in text


def test_print_queue_and_marking_a_letter_printed(client, token):
    spoc = token("spoc", "derbyshire")
    body = example_application(TODAY)
    body["victim"]["preferred_contact"] = "post"
    ref = apply(client, body)
    queue = call(client, "GET", "/print-queue", spoc).json_body["letters"]
    assert [(q["reference"], q["letter_id"]) for q in queue] == [(ref, "01")]
    assert queue[0]["html"].lstrip().lower().startswith("<!doctype html>")
    assert call(client, "POST", f"/cases/{ref}/letters/01/printed", spoc).status_code == 200
    assert call(client, "GET", "/print-queue", spoc).json_body["letters"] == []


def test_a_new_application_after_a_review_counts_only_later_complaints(client, token, clock):
    """The outcome letter restarts the qualifying period for the same matter (same place)."""
    spoc = token("spoc", "derbyshire")
    first = apply(client, example_application(TODAY))
    call(client, "POST", f"/cases/{first}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY})
    call(client, "POST", f"/cases/{first}/outcome", spoc, {"held_on": "2026-12-21", "findings": "No further action."})
    clock.set("2027-01-25T10:00:00+00:00")
    again = example_application(TODAY)  # the same complaints, all made before the outcome letter
    second = apply(client, again)
    assessment = CaseRecord.get(second).pre_assessment
    assert assessment["result"] == "not_met"
    assert any("previous case review" in reason for r in assessment["reports"] for reason in r["reasons"])
