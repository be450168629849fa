"""Every step can be previewed before it is taken: POST /cases/{ref}/<step>/preview answers with the
letters the step would send, rendered exactly as they will go, after the same access checks, state
checks and validation as the step itself. Nothing is stored and nothing is sent."""
from __future__ import annotations

import json
from datetime import date

from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)


def call(client, path, auth, body=None, headers=None):
    return client.http.post(path, headers={"Content-Type": "application/json", "Authorization": auth, **(headers or {})},
                            body=json.dumps(body) if body is not None else None)


def apply(client, body=None) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(body or example_application(TODAY)))
    assert r.status_code == 201, r.body
    return r.json_body["reference"]


def stored(ref):
    case = CaseRecord.get(ref)
    return (case.version, case.status, len(list(LetterRecord.query(ref))), len(list(AuditEvent.query(ref))),
            sorted((p.request_id, p.status) for p in PartnerRequestRecord.query(ref)))


def test_a_decision_letter_is_read_before_it_is_sent_and_nothing_changes(client, token, outbox):
    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    before, sent_before = stored(ref), len(outbox())
    decision = {"decision": "not_met", "reasons": "Only two of the reports were made within a month <b>."}
    r = call(client, f"/cases/{ref}/threshold-decision/preview", spoc, decision)
    assert r.status_code == 200, r.body
    preview = r.json_body
    assert preview["status"] == "threshold_not_met" and preview["step"] == "decide_not_met"
    [letter] = preview["letters"]
    assert (letter["to"], letter["step"], letter["channel"]) == ("applicant", "threshold_not_met", "email")
    assert "Only two of the reports were made within a month <b>." in letter["text"]
    assert "&lt;b&gt;" in letter["html"] and "<b>." not in letter["html"]  # escaped, as it will be sent
    assert "Monday 18 January 2027" in letter["text"]  # the last day to appeal
    assert stored(ref) == before and len(outbox()) == sent_before

    # Then taken for real: the letter sent is the one previewed.
    r = call(client, f"/cases/{ref}/threshold-decision", spoc, decision)
    assert r.status_code == 200
    [sent] = [l for l in LetterRecord.query(ref) if l.step == "threshold_not_met"]
    assert sent.text == letter["text"] and sent.subject == letter["subject"]


def test_a_preview_is_refused_as_the_step_would_be(client, token):
    spoc, hart = token("spoc", "derbyshire"), token("spoc", "hart")
    ref = apply(client)
    assert call(client, f"/cases/{ref}/threshold-decision/preview", hart,
                {"decision": "met", "reasons": "r"}).status_code == 403
    bad = call(client, f"/cases/{ref}/threshold-decision/preview", spoc, {"decision": "maybe"})
    assert bad.status_code == 422 and {e["field"] for e in bad.json_body["errors"]} >= {"decision", "reasons"}
    wrong_state = call(client, f"/cases/{ref}/outcome/preview", spoc, {"held_on": "2026-12-21", "findings": "f"})
    assert wrong_state.status_code == 409 and wrong_state.json_body["current_status"] == "acknowledged"
    stale = call(client, f"/cases/{ref}/reject/preview", spoc, {"reason": "vexatious", "note": "n"},
                 headers={"If-Match": "99"})
    assert stale.status_code == 409


def test_closing_and_an_action_update_can_be_previewed(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    meeting = {"date": "2026-12-21", "time": "10:00", "online": True, "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}
    call(client, f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": meeting})
    call(client, f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "f", "actions": [
        {"description": "Fit a door entry system", "agency": "Peak Homes", "lead_officer": "Jo Ward",
         "due_on": "2027-02-01", "victim_agreed": True}]})
    before = stored(ref)
    r = call(client, f"/cases/{ref}/actions/A1/preview", spoc, {"status": "done", "note": "Fitted on 5 January"})
    assert r.status_code == 200 and [l["step"] for l in r.json_body["letters"]] == ["update"]
    assert "Fit a door entry system" in r.json_body["letters"][0]["text"]
    r = call(client, f"/cases/{ref}/close/preview", spoc, {"reason": "Stopped."})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "open_actions"
    r = call(client, f"/cases/{ref}/close/preview", spoc, {"reason": "Stopped.", "open_actions": "hand_to_agencies",
                                                         "handover_reason": "Routine repairs work."})
    assert r.status_code == 200 and "Fit a door entry system" in r.json_body["letters"][0]["text"]
    assert stored(ref) == before


def test_a_posted_letter_is_previewed_dated_today(client, token, clock):
    spoc = token("spoc", "derbyshire")
    body = example_application(TODAY)
    body["victim"]["preferred_contact"] = "post"
    ref = apply(client, body)
    clock.set("2026-12-22T10:00:00+00:00")
    r = call(client, f"/cases/{ref}/reject/preview", spoc, {"reason": "service_complaint", "note": "Repairs only."})
    [letter] = r.json_body["letters"]
    assert letter["channel"] == "post" and "Date: Tuesday 22 December 2026" in letter["text"]
    assert "[[" not in letter["text"] + letter["html"]
