"""The process right end to end, as a SPOC, an applicant and a partner would notice it: deadlines follow
the case, letters tell the truth, and the 2025 statutory guidance's steps (draft plan, updates, a review
an agency starts itself). Each test is one of the bugs found when the product was tried, or one of the
new steps, driven through the real API and the scheduled sweep."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest

from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, NoticeRecord, PartnerRequestRecord
from chalicelib.openapi import example_application, example_on_behalf

TODAY = date(2026, 12, 21)  # Monday 21 December 2026, the clock fixture's start
LINK = re.compile(r"/partner/([A-Za-z0-9_.\-]+)")
MEETING_TODAY = {"date": "2026-12-21", "time": "10:00", "place": "Matlock Town Hall", "online": True,
                 "chair": "Head of Community Safety", "agencies": ["Police", "Council", "Housing"],
                 "victim_invited": True}


def call(client, method, path, auth=None, body=None, headers=None):
    h = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {}), **(headers or {})}
    return getattr(client.http, method.lower())(path, headers=h, body=json.dumps(body) if body is not None else None)


def apply(client, body=None) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(body or example_application(TODAY)))
    assert r.status_code == 201, r.body
    return r.json_body["reference"]


def sweep_at(client, when: str) -> dict:
    event = {"version": "0", "id": "t", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
             "time": when, "region": "eu-west-2", "resources": [], "detail": {}}
    return client.lambda_.invoke("deadline_sweep", event).payload


def weekly_sweeps(client, *, weeks: int = 10, start: str = "2026-12-22") -> list[dict]:
    """The sweep on every working morning for some weeks (as EventBridge runs it)."""
    from datetime import timedelta

    day, out = date.fromisoformat(start), []
    for _ in range(weeks * 7):
        if day.weekday() < 5:
            out.append(sweep_at(client, f"{day.isoformat()}T09:00:00Z"))
        day += timedelta(days=1)
    return out


def to_people(ref):
    return [l for l in LetterRecord.query(ref) if l.recipient_role in ("applicant", "victim")]


@pytest.fixture
def spoc(token):
    return token("spoc", "derbyshire")


@pytest.fixture
def spoc_email(wired):
    return wired.policies()["derbyshire"].contacts.spoc_email


# ---------------------------------------------------------------- deadlines follow the case


def test_a_case_closed_after_its_review_is_never_chased_and_its_links_say_it_is_closed(client, spoc, outbox,
                                                                                         spoc_email):
    ref = apply(client)
    links = {m.destinations["ToAddresses"][0]: LINK.search(m.body).group(1) for m in outbox() if LINK.search(m.body)}
    assert links, "partners were asked for information"
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc,
         {"decision": "met", "reasons": "Three complaints.", "meeting": MEETING_TODAY})
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "Nothing more to do."})
    assert r.json_body["status"] == "closed"
    # No partner answered: their requests ended with the decision.
    assert {p.status for p in PartnerRequestRecord.query(ref) if p.email} == {"closed"}
    sent_before = len(outbox())

    reports = weekly_sweeps(client)
    kinds = {kind for report in reports for kind in report["effects"]}
    assert kinds <= {"appeal_window_closed"}, kinds
    assert len(outbox()) == sent_before  # not one chaser, reminder or alert
    assert {n.kind for n in NoticeRecord.query(ref)} == {"appeal_window_closed"}

    # The link in the original request: a branded page with the area's contact, not a bare error.
    page = client.http.get(f"/partner/{next(iter(links.values()))}")
    assert page.status_code == 410
    assert "This case is closed" in page.body.decode() and spoc_email in page.body.decode()


@pytest.mark.parametrize("ending, body", [
    ("withdraw", {"reason": "applicant_request", "note": "Letter of 22 December"}),
    ("reject", {"reason": "vexatious", "note": "The reports are about a neighbour's lawful building work."}),
])
def test_withdrawing_or_rejecting_ends_every_pending_notice(client, spoc, outbox, ending, body):
    ref = apply(client)
    r = call(client, "POST", f"/cases/{ref}/{ending}", spoc, body)
    assert r.status_code == 200, r.body
    sent_before = len(outbox())
    kinds = {kind for report in weekly_sweeps(client) for kind in report["effects"]}
    assert not kinds & {"remind", "missed", "chase", "escalate"}
    partner_mails = [m for m in outbox()[sent_before:] if ref in m.body or ref in m.subject]
    assert partner_mails == []


def test_a_partner_email_waiting_to_be_retried_is_cancelled_when_the_case_ends(client, spoc, wired, monkeypatch, outbox):
    from chalicelib.adapters.mailer import MailError

    real_send = wired.sender().mailer.send

    def ses_down(**kwargs):
        raise MailError("Throttling")

    monkeypatch.setattr(wired.sender().mailer, "send", ses_down)
    ref = apply(client)
    pending = [l for l in LetterRecord.query(ref) if l.recipient_role == "partner"]
    assert pending and all(l.status == "pending" for l in pending)
    monkeypatch.setattr(wired.sender().mailer, "send", real_send)
    call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "applicant_request"})
    assert {l.status for l in LetterRecord.query(ref) if l.recipient_role == "partner"} == {"cancelled"}
    sent_before = len(outbox())
    report = sweep_at(client, "2026-12-22T09:00:00Z")  # retries what may still go (the letters to people)
    assert report["letters_failed"] == 0
    assert {l.status for l in LetterRecord.query(ref) if l.recipient_role == "partner"} == {"cancelled"}
    partners = {p.email for p in PartnerRequestRecord.query(ref) if p.email}
    assert [m for m in outbox()[sent_before:] if m.destinations["ToAddresses"][0] in partners] == []


def test_a_consent_pending_case_has_no_deadline_until_consent_then_counts_from_it(client, token, outbox, clock):
    hart = token("spoc", "hart")
    ref = apply(client, example_on_behalf(TODAY))
    case = CaseRecord.get(ref)
    assert case.status == "awaiting_consent" and case.deadlines == {}
    assert PartnerRequestRecord.count(ref) == 0
    kinds = {kind for report in weekly_sweeps(client, weeks=3) for kind in report["effects"]}
    assert not kinds & {"remind", "missed"}  # no "acknowledgement due", no "missed deadline"

    clock.set("2027-01-11T10:00:00+00:00")  # consent recorded on Monday 11 January
    r = call(client, "POST", f"/cases/{ref}/consent", hart, {"received_on": "2027-01-08", "evidence": "written_consent"})
    assert r.status_code == 200, r.body
    case = CaseRecord.get(ref)
    assert case.deadlines["acknowledge"]["met_on"] == "2027-01-11"
    assert case.deadlines["threshold_decision"]["due"] == "2027-02-01"  # 15 working days from 11 January
    assert case.acknowledgement["on"] == "2027-01-11"


def test_staff_who_acknowledge_a_paper_application_record_it_and_the_reminder_stops(client, spoc, spoc_email, outbox,
                                                                                     clock):
    r = call(client, "POST", "/cases", spoc, {"channel": "paper", "application": example_application(TODAY),
                                               "acknowledgement": "by_staff"})
    assert r.status_code == 201, r.body
    ref = r.json_body["reference"]
    assert "acknowledgement" not in [l.step for l in to_people(ref)]  # staff send their own
    case = CaseRecord.get(ref)
    assert case.acknowledgement is None and case.deadlines["acknowledge"]["met_on"] is None

    # 5 working days from Monday 21 December, past Christmas Day and the Boxing Day holiday (Monday 28th):
    # due Wednesday 30th; the SPOC is reminded the working day before.
    assert case.deadlines["acknowledge"]["due"] == "2026-12-30"
    assert sweep_at(client, "2026-12-29T09:00:00Z")["effects"].get("remind") == 1
    subjects = [m.subject for m in outbox(spoc_email) if ref in m.subject]
    assert any("acknowledge" in s.lower() for s in subjects), subjects

    clock.set("2026-12-29T11:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/acknowledgement", spoc,
             {"acknowledged_on": "2026-12-23", "how": "letter_by_post", "note": "Posted second class"})
    assert r.status_code == 200, r.body
    case = CaseRecord.get(ref)
    assert case.deadlines["acknowledge"]["met_on"] == "2026-12-23"
    assert case.acknowledgement["how"] == "letter_by_post"
    shown = call(client, "GET", f"/cases/{ref}", spoc).json_body
    assert shown["acknowledgement"]["on"] == "2026-12-23" and shown["acknowledgement"]["by"].startswith("Pat SPOC")
    assert not sweep_at(client, "2026-12-31T09:00:00Z")["effects"].get("missed")
    again = call(client, "POST", f"/cases/{ref}/acknowledgement", spoc,
                 {"acknowledged_on": "2026-12-23", "how": "phone"})
    assert again.status_code == 409


def test_a_sweep_that_read_the_case_before_it_closed_sends_nothing(client, spoc, wired, outbox, monkeypatch):
    """A chaser decided on the case as it was a moment ago is refused if the case changed since."""
    ref = apply(client)
    sweep = wired.sweep()
    real_claim = sweep.repo.claim_notice
    closed = {"done": False}

    def claim_after_the_case_closes(notice, letters, case_version=None):
        if not closed["done"]:
            closed["done"] = True
            assert call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "applicant_request"}).status_code == 200
        return real_claim(notice, letters, case_version=case_version)

    monkeypatch.setattr(sweep.repo, "claim_notice", claim_after_the_case_closes)
    before = len(outbox())
    report = sweep_at(client, "2027-01-06T09:00:00Z")  # partner returns due tomorrow: chasers would go
    assert report["effects"] == {}
    assert [m for m in outbox()[before:] if "withdrawn" not in m.subject.lower()] == []
    assert list(NoticeRecord.query(ref)) == []


# ---------------------------------------------------------------- letters tell the truth


def test_the_outcome_letter_gives_the_day_the_meeting_was_actually_held(client, spoc, clock):
    ref = apply(client)
    meeting = {**MEETING_TODAY, "date": "2027-01-12"}
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": meeting})
    clock.set("2027-01-15T10:00:00+00:00")
    early = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2027-01-11", "findings": "f"})
    assert early.status_code == 422 and early.json_body["errors"][0]["field"] == "held_on"
    assert CaseRecord.get(ref).status == "meeting_scheduled"

    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2027-01-14", "findings": "Agencies worked alone."})
    assert r.status_code == 200, r.body
    [letter] = [l for l in to_people(ref) if l.step == "outcome_no_further_action"]
    assert "Thursday 14 January 2027" in letter.text and "Tuesday 12 January 2027" not in letter.text


def test_a_meeting_held_earlier_than_arranged_is_rescheduled_first(client, spoc, clock):
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc,
         {"decision": "met", "reasons": "Met.", "meeting": {**MEETING_TODAY, "date": "2027-01-20"}})
    clock.set("2027-01-15T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/meeting", spoc, {**MEETING_TODAY, "date": "2027-01-14"})
    assert r.status_code == 200, r.body
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2027-01-14", "findings": "f"})
    assert r.status_code == 200, r.body
    timeline = [(e.action, (e.detail or {}).get("rescheduled_from")) for e in AuditEvent.query(ref)]
    assert ("schedule_meeting", "2027-01-20") in timeline


def _to_monitoring(client, spoc, ref, n_actions=2):
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY})
    actions = [{"description": f"Action {i}", "agency": "Peak Homes", "lead_officer": "Jo Ward", "due_on": "2027-02-01",
                "victim_agreed": True} for i in range(1, n_actions + 1)]
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "f", "actions": actions})
    assert r.json_body["status"] == "monitoring", r.body


def test_closing_with_open_actions_needs_an_explicit_handover_that_the_letter_states(client, spoc):
    ref = apply(client)
    _to_monitoring(client, spoc, ref)
    call(client, "POST", f"/cases/{ref}/actions/A1", spoc, {"status": "done", "note": "Done"})
    r = call(client, "POST", f"/cases/{ref}/close", spoc, {"reason": "The behaviour has stopped."})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "open_actions"
    assert "A2" in r.json_body["errors"][0]["message"]
    r = call(client, "POST", f"/cases/{ref}/close", spoc, {"reason": "The behaviour has stopped.",
                                                          "open_actions": "hand_to_agencies"})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "handover_reason"
    assert CaseRecord.get(ref).status == "monitoring"

    r = call(client, "POST", f"/cases/{ref}/close", spoc, {
        "reason": "The behaviour has stopped.", "open_actions": "hand_to_agencies",
        "handover_reason": "Peak Homes will finish the tenancy review as routine tenancy management."})
    assert r.status_code == 200 and r.json_body["status"] == "closed"
    case = CaseRecord.get(ref)
    assert [a["status"] for a in case.outcome["actions"]] == ["done", "handed_over"]
    [letter] = [l for l in to_people(ref) if l.step == "closed"]
    assert "Action 2" in letter.text and "handed to the organisation responsible" in letter.text
    assert "routine tenancy management" in letter.text
    assert "No further action will be taken" not in letter.text


def test_closing_with_every_action_finished_needs_no_handover(client, spoc):
    ref = apply(client)
    _to_monitoring(client, spoc, ref, n_actions=1)
    call(client, "POST", f"/cases/{ref}/actions/A1", spoc, {"status": "not_viable", "note": "Tenant moved"})
    r = call(client, "POST", f"/cases/{ref}/close", spoc, {"reason": "The plan is finished."})
    assert r.status_code == 200, r.body
    [letter] = [l for l in to_people(ref) if l.step == "closed"]
    assert "No further action will be taken" in letter.text and "Monday 21 December 2026" in letter.text


def test_a_rejection_gives_the_last_day_to_appeal_and_that_appeal_is_accepted(client, spoc, token, clock):
    appeals = token("appeals", "derbyshire", name="Opcc Officer")
    ref = apply(client)
    r = call(client, "POST", f"/cases/{ref}/reject", spoc,
             {"reason": "service_complaint", "note": "This is about the housing repairs service."})
    assert r.status_code == 200, r.body
    assert CaseRecord.get(ref).appeal_window_closes == "2027-01-18"
    [letter] = [l for l in to_people(ref) if l.step == "rejected"]
    assert "The last day to appeal is Monday 18 January 2027" in letter.text

    clock.set("2027-01-18T15:00:00+00:00")  # the last day
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals,
             {"against": "rejection", "lodged_on": "2027-01-18", "grounds": "It is about ASB, not repairs."})
    assert r.status_code == 200, r.body
    call(client, "POST", f"/cases/{ref}/appeal-acknowledgement", appeals)
    r = call(client, "POST", f"/cases/{ref}/appeal-decision", appeals,
             {"upheld": True, "reasons": "The reports describe anti-social behaviour."})
    assert r.json_body["status"] == "acknowledged"
    case = CaseRecord.get(ref)
    assert case.ending is None and case.assessment_closed is False
    assert case.deadlines["threshold_decision"] == {"due": "2027-02-08", "met_on": None}
    # The partners are asked again, by a new link; their old one stays refused.
    reissued = [p for p in PartnerRequestRecord.query(ref) if p.email]
    assert reissued and {p.status for p in reissued} == {"requested"} and {p.due_on for p in reissued} == {"2027-02-01"}
    [decision] = [l for l in to_people(ref) if l.step == "appeal_decision"]
    assert "the decision not to accept the application" in decision.text


def test_an_appeal_after_the_rejections_window_is_refused(client, spoc, token, clock):
    appeals = token("appeals", "derbyshire")
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/reject", spoc, {"reason": "vexatious", "note": "n"})
    clock.set("2027-01-19T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals,
             {"against": "rejection", "lodged_on": "2027-01-19", "grounds": "Late."})
    assert r.status_code == 409


def test_a_posted_letter_is_dated_the_day_it_is_printed(client, spoc, clock):
    body = example_application(TODAY)
    body["victim"]["preferred_contact"] = "post"
    ref = apply(client, body)
    [queued] = [l for l in to_people(ref) if l.channel == "post"]
    assert "Monday 21 December 2026" not in queued.text.split("Our reference")[0]

    clock.set("2026-12-23T10:00:00+00:00")
    [shown] = [q for q in call(client, "GET", "/print-queue", spoc).json_body["letters"] if q["reference"] == ref]
    assert "Date: Wednesday 23 December 2026" in shown["html"]  # as it will be if printed today

    clock.set("2026-12-24T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/letters/{queued.letter_id}/printed", spoc)
    assert r.status_code == 200 and r.json_body["dated"] == "2026-12-24"
    printed = LetterRecord.get(ref, queued.letter_id)
    assert "Date: Thursday 24 December 2026" in printed.text and "Date: Thursday 24 December 2026" in printed.html
    assert "[[" not in printed.text + printed.html


# ---------------------------------------------------------------- the 2025 statutory guidance


def test_the_victim_sees_the_draft_plan_before_the_final_one(client, spoc, clock, outbox):
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY})
    draft = {"held_on": "2026-12-21", "findings": "Agencies did not share reports.",
             "recommendations": ["Weekly information sharing"],
             "actions": [{"description": "Joint visit", "agency": "Police", "lead_officer": "PC Lee",
                          "due_on": "2027-02-01", "victim_agreed": False}]}
    r = call(client, "POST", f"/cases/{ref}/draft-plan", spoc, draft)
    assert r.status_code == 200 and r.json_body["status"] == "draft_plan_sent", r.body
    case = CaseRecord.get(ref)
    # 5 working days from Monday 21 December: Christmas Day and the Boxing Day holiday (28th) skipped.
    assert case.deadlines["draft_plan_response"]["due"] == "2026-12-30"
    [letter] = [l for l in to_people(ref) if l.step == "draft_plan"]
    assert "Wednesday 30 December 2026" in letter.text and "Joint visit" in letter.text

    # A revised draft: sent again, said to be a revision; the case keeps only the latest in full.
    clock.set("2026-12-22T10:00:00+00:00")
    revised = {**draft, "findings": "Agencies did not share reports; the housing provider had no record."}
    r = call(client, "POST", f"/cases/{ref}/draft-plan", spoc, revised)
    assert r.status_code == 200, r.body
    case = CaseRecord.get(ref)
    assert [d["on"] for d in case.draft_plan["sent"]] == ["2026-12-21", "2026-12-22"]
    assert case.draft_plan["latest"]["findings"] == revised["findings"]
    second = [l for l in to_people(ref) if l.step == "draft_plan"][-1]
    assert "revised draft" in second.text and "Thursday 31 December 2026" in second.text

    clock.set("2027-01-04T10:00:00+00:00")
    final = {**draft, "actions": [{**draft["actions"][0], "victim_agreed": True}],
             "views_on_draft": "Sam asked for the visit to be in the evening."}
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, final)
    assert r.status_code == 200 and r.json_body["status"] == "monitoring", r.body
    case = CaseRecord.get(ref)
    assert case.deadlines["draft_plan_response"]["met_on"] == "2027-01-04"
    assert case.outcome["views_on_draft"].startswith("Sam asked")
    steps = [e.action for e in AuditEvent.query(ref)]
    assert steps[-2:] == ["send_draft_plan", "record_outcome_actions"]


def test_an_agency_starts_a_review_itself_and_it_goes_to_closure_and_into_the_figures(client, spoc, clock):
    before = client.http.get("/stats?area=derbyshire").json_body
    victim = {**example_application(TODAY)["victim"]}
    r = call(client, "POST", "/agency-reviews", spoc, {
        "area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "Insp. R Khan",
        "reasons": "Five reports in eight weeks from the same household; each closed separately.",
        "summary": "Repeated intimidation of a family by a group of youths.", "victim": victim})
    assert r.status_code == 201, r.body
    ref = r.json_body["reference"]
    case = CaseRecord.get(ref)
    assert (case.status, case.basis, case.channel) == ("review_pending", "agency", "agency")
    assert case.decision["outcome"] == "agency_started"
    [letter] = to_people(ref)
    assert (letter.recipient_role, letter.step) == ("victim", "agency_review_started")
    assert "Derbyshire Constabulary" in letter.text and "You do not need to apply" in letter.text

    r = call(client, "POST", f"/cases/{ref}/meeting", spoc, MEETING_TODAY)
    assert r.status_code == 200, r.body
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "Joint working agreed.",
                                                             "recommendations": ["Single lead officer"]})
    assert r.json_body["status"] == "closed", r.body
    after = client.http.get("/stats?area=derbyshire").json_body

    def count(stats, name):
        return sum(y["counts"].get(name, 0) for y in stats["years"])

    assert count(after, "reviews_carried_out") == count(before, "reviews_carried_out") + 1
    assert count(after, "applications") == count(before, "applications")  # not an application
    assert [e.action for e in AuditEvent.query(ref)][0] == "open_agency_review"
    # Nobody applied: no letter thanks the victim for applying.
    for sent in to_people(ref):
        assert "applying" not in sent.text and "you applied" not in sent.text, sent.step
    [outcome] = [l for l in to_people(ref) if l.step == "outcome_no_further_action"]
    assert "Derbyshire Constabulary started an anti-social behaviour case review for you" in outcome.text


def test_only_a_spoc_of_the_area_can_start_an_agency_review(client, token):
    body = {"area": "derbyshire", "agency": "Police", "officer": "Insp", "reasons": "r", "summary": "s",
            "victim": example_application(TODAY)["victim"]}
    assert call(client, "POST", "/agency-reviews", token("spoc", "hart"), body).status_code == 403
    assert call(client, "POST", "/agency-reviews", token("appeals", "derbyshire"), body).status_code == 403
    r = call(client, "POST", "/agency-reviews", token("spoc", "derbyshire"), {**body, "reasons": ""})
    assert r.status_code == 422 and r.json_body["errors"][0]["field"] == "reasons"
