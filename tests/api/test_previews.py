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


# ---------------------------------------------------------------- partner requests, notes, the print queue


def test_a_partner_is_sent_the_request_again_or_a_new_link_and_the_old_link_stops(client, token, outbox, clock):
    import re

    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    police = next(p for p in PartnerRequestRecord.query(ref) if p.partner_kind == "police")
    link = re.compile(r"/partner/([A-Za-z0-9_.\-]+)")

    def links_to(email):
        return [link.search(m.body).group(1) for m in outbox(email) if ref in m.subject and link.search(m.body)]

    [first] = links_to(police.email)
    r = call(client, f"/cases/{ref}/partner-requests/{police.request_id}/resend", spoc)
    assert r.status_code == 200, r.body
    assert links_to(police.email) == [first, first]  # the same link again

    clock.set("2027-01-11T10:00:00+00:00")  # after the original due date (7 January)
    r = call(client, f"/cases/{ref}/partner-requests/{police.request_id}/reissue", spoc, {})
    assert r.status_code == 200, r.body
    new = links_to(police.email)[-1]
    assert new != first
    assert client.http.get(f"/partner/{first}").status_code == 404  # the old link no longer opens the form
    assert client.http.get(f"/partner/{new}").status_code == 200
    reissued = PartnerRequestRecord.get(ref, police.request_id)
    assert reissued.due_on == "2027-01-25"  # a fresh 10 working days, the old date having passed
    actions = [e.action for e in AuditEvent.query(ref)]
    assert actions[-2:] == ["resend_partner_request", "reissue_partner_link"]


def test_a_partner_without_an_address_is_given_one_and_asked(client, token, outbox):
    spoc = token("spoc", "derbyshire")
    body = example_application(TODAY)
    body["incidents"][0]["reported_to"] = "Matlock Civic Trust"  # not in the area's policy
    ref = apply(client, body)
    unknown = next(p for p in PartnerRequestRecord.query(ref) if p.status == "no_address")
    assert call(client, f"/cases/{ref}/partner-requests/{unknown.request_id}/resend", spoc).status_code == 409
    bad = call(client, f"/cases/{ref}/partner-requests/{unknown.request_id}/address", spoc, {"email": "not an address"})
    assert bad.status_code == 422 and bad.json_body["errors"][0]["field"] == "email"
    r = call(client, f"/cases/{ref}/partner-requests/{unknown.request_id}/address", spoc,
             {"email": "secretary@matlock-residents.example"})
    assert r.status_code == 200, r.body
    assert PartnerRequestRecord.get(ref, unknown.request_id).status == "requested"
    assert [m for m in outbox("secretary@matlock-residents.example") if ref in m.subject]


def test_staff_notes_are_in_the_audit_trail_and_never_reach_a_partner(client, token, outbox):
    spoc, appeals = token("spoc", "derbyshire"), token("appeals", "derbyshire", name="Opcc Officer")
    ref = apply(client)
    note = "Victim prefers calls after 6pm; do not leave voicemail."
    assert call(client, f"/cases/{ref}/notes", spoc, {"text": note}).status_code == 200
    assert call(client, f"/cases/{ref}/notes", token("spoc", "hart"), {"text": "x"}).status_code == 403
    assert call(client, f"/cases/{ref}/notes", spoc, {"text": ""}).status_code == 422
    detail = client.http.get(f"/cases/{ref}", headers={"Authorization": appeals}).json_body
    assert [n["text"] for n in detail["notes"]] == [note] and detail["notes"][0]["by"].startswith("Pat SPOC")
    assert all(note not in m.body for m in outbox())


def test_several_letters_are_marked_printed_at_once(client, token):
    spoc = token("spoc", "derbyshire")
    refs = []
    for _ in range(2):
        body = example_application(TODAY)
        body["victim"]["preferred_contact"] = "post"
        refs.append(apply(client, body))
    queue = client.http.get("/print-queue", headers={"Authorization": spoc}).json_body["letters"]
    chosen = [{"reference": q["reference"], "letter_id": q["letter_id"]} for q in queue if q["reference"] in refs]
    r = call(client, "/print-queue/printed", spoc, {"letters": chosen + [{"reference": "CT-0000-0000", "letter_id": "01"}]})
    assert r.status_code == 200, r.body
    assert [x["status"] for x in r.json_body["letters"]] == ["printed", "printed", "not_in_your_queue"]
    assert [q for q in client.http.get("/print-queue", headers={"Authorization": spoc}).json_body["letters"]
            if q["reference"] in refs] == []
    assert call(client, "/print-queue/printed", token("appeals", "derbyshire"), {"letters": chosen}).status_code == 403


def test_staff_read_each_letter_as_its_recipient_saw_it_without_the_partner_link(client, token, outbox):
    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    letters = {l.step: l for l in LetterRecord.query(ref)}
    ack = client.http.get(f"/cases/{ref}/letters/{letters['acknowledgement'].letter_id}", headers={"Authorization": spoc})
    assert ack.status_code == 200
    [sent] = [m for m in outbox("sam.taylor@example.com") if ref in m.subject]
    assert ack.json_body["subject"] == sent.subject and ack.json_body["status"] == "sent"
    partner = client.http.get(f"/cases/{ref}/letters/{letters['partner_request'].letter_id}",
                              headers={"Authorization": spoc}).json_body
    assert "/partner/" not in partner["html"] + partner["text"]  # no usable link is stored or shown
    assert client.http.get(f"/cases/{ref}/letters/99", headers={"Authorization": spoc}).status_code == 404
    assert client.http.get(f"/cases/{ref}/letters/01", headers={"Authorization": token("spoc", "hart")}).status_code == 403
