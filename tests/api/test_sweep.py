"""The scheduled deadline sweep, driven through the app's EventBridge handler at chosen times."""
from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import date

import pytest

from chalicelib.adapters.tables import CaseRecord, LetterRecord, NoticeRecord, PartnerRequestRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)  # Monday; Derbyshire: partner returns due Thu 7 Jan, decision due Thu 14 Jan 2027
SPOC = "communitytrigger@derbyshire.example"
LINK = re.compile(r"/partner/([A-Za-z0-9_.\-]+)")


def sweep_at(client, when: str) -> dict:
    event = {"version": "0", "id": "test", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": when, "region": "eu-west-2", "resources": [], "detail": {}}
    response = client.lambda_.invoke("deadline_sweep", event)
    return response.payload


def apply(client, body=None) -> str:
    response = client.http.post("/applications", headers={"Content-Type": "application/json"},
                                body=json.dumps(body or example_application(TODAY)))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def mails(outbox, ref: str, to: str | None = None) -> list:
    return [m for m in outbox(to) if ref in m.subject or ref in m.body]


def spoc_subjects(outbox, ref):
    return [m.subject for m in mails(outbox, ref, SPOC)]


def test_reminders_chasers_and_alerts_each_arrive_once(client, outbox):
    ref = apply(client)
    requests = [r for r in PartnerRequestRecord.query(ref) if r.email]
    original_links = {m.destinations["ToAddresses"][0]: LINK.search(m.body).group(1)
                      for m in mails(outbox, ref) if LINK.search(m.body)}
    before = len(outbox())

    # Wednesday 6 January, the working day before partner returns are due.
    report = sweep_at(client, "2027-01-06T09:00:00Z")
    assert report["effects"] == {"remind": 1, "chase": len(requests)}
    chasers = [m for m in outbox()[before:] if m.destinations["ToAddresses"][0] != SPOC]
    assert len(chasers) == len(requests)
    for chaser in chasers:  # the same link as the request
        assert LINK.search(chaser.body).group(1) == original_links[chaser.destinations["ToAddresses"][0]]
    assert sweep_at(client, "2027-01-06T10:00:00Z")["effects"] == {}  # nothing twice

    # Friday 8 January: returns overdue. Thursday 14 January: the decision is due tomorrow... then missed.
    assert sweep_at(client, "2027-01-08T09:00:00Z")["effects"] == {"missed": 1, "chase": len(requests)}
    assert sweep_at(client, "2027-01-13T09:00:00Z")["effects"] == {"remind": 1}
    assert sweep_at(client, "2027-01-15T09:00:00Z")["effects"] == {"missed": 1}
    assert sweep_at(client, "2027-01-15T11:00:00Z")["effects"] == {}
    kinds = Counter(n.kind for n in NoticeRecord.query(ref))
    assert kinds == {"remind": 2, "missed": 2, "chase": 2 * len(requests)}
    assert len(spoc_subjects(outbox, ref)) == 1 + 4  # the new-application email, then 2 reminders and 2 alerts


def test_a_return_stops_the_chasing_for_that_partner(client, outbox):
    ref = apply(client)
    police = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    token = next(LINK.search(m.body).group(1) for m in mails(outbox, ref, police.email))
    body = {"responder_name": "PC Lee", "reports_held": "no", "under_investigation": "no",
            "vulnerability_markers": "no", "risk_assessments": "no", "reports": []}
    assert client.http.post(f"/partner/{token}", headers={"Content-Type": "application/json"},
                            body=json.dumps(body)).status_code == 201
    sweep_at(client, "2027-01-06T09:00:00Z")
    assert len(mails(outbox, ref, police.email)) == 1  # the request only


@pytest.mark.parametrize("when, runs", [
    ("2027-01-05T06:30:00Z", False),  # 06:30 GMT in January: before working hours
    ("2027-06-01T06:30:00Z", True),  # 07:30 BST in June
    ("2027-06-01T19:30:00Z", False),  # 20:30 BST
    ("2027-01-09T10:00:00Z", False),  # a Saturday
])
def test_the_sweep_decides_by_london_time(client, when, runs):
    assert sweep_at(client, when)["skipped"] is (not runs)


def test_two_sweeps_at_once_send_each_email_once(client, outbox, wired, clock):
    ref = apply(client)
    from datetime import datetime

    now = datetime.fromisoformat("2027-01-08T09:00:00+00:00")
    # The letter sender (behind the stream) reads the time too: the same "now" as the sweeps, as in
    # AWS. (Left at the application's time, its claims' leases would already have run out by the
    # sweeps' time, and the other sweep's retry would rightly take a letter whose lease had ended.)
    clock.set(now.isoformat())
    before = len(outbox())
    barrier = threading.Barrier(2)
    errors = []

    def one():
        try:
            barrier.wait()
            wired.sweep().run(now)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sent = outbox()[before:]
    # Due by then: the chasers (due tomorrow and overdue) for each partner and the SPOC's reminder and alert.
    partners = len([r for r in PartnerRequestRecord.query(ref) if r.email])
    assert len(sent) == 2 * partners + 2
    assert len({(m.destinations["ToAddresses"][0], m.subject) for m in sent}) == len(sent)


def test_a_sweep_that_dies_midway_is_finished_by_the_next_without_repeats(client, outbox, wired, monkeypatch):
    ref = apply(client)
    from datetime import datetime

    from chalicelib.adapters.repository import CaseRepository

    now = datetime.fromisoformat("2027-01-06T09:00:00+00:00")
    real_claim = CaseRepository.claim_notice
    calls = {"n": 0}

    def dies_after_the_third(self, *args, **kwargs):
        calls["n"] += 1
        claimed = real_claim(self, *args, **kwargs)  # stored, with its email (the stream sends it)
        if calls["n"] == 3:
            raise RuntimeError("Lambda timed out")
        return claimed

    monkeypatch.setattr(CaseRepository, "claim_notice", dies_after_the_third)
    before = len(outbox())
    with pytest.raises(RuntimeError):
        wired.sweep().run(now)
    monkeypatch.setattr(CaseRepository, "claim_notice", real_claim)
    wired.sweep().run(now)  # finds the effects already claimed and does the rest
    wired.sweep().run(now)
    partners = len([r for r in PartnerRequestRecord.query(ref) if r.email])
    sent = outbox()[before:]
    assert len(sent) == partners + 1
    assert len({(m.destinations["ToAddresses"][0], m.subject) for m in sent}) == len(sent)


def test_failed_letters_are_retried_with_backoff_then_flagged_to_the_spoc(intake, aws, outbox, clock):
    """No verified sender: SES refuses every attempt. After the last, the SPOC is told once."""
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib.sweep import MAX_LETTER_ATTEMPTS

    with Client(app) as client:
        ref = apply(client)
        [letter] = [l for l in LetterRecord.query(ref) if l.recipient_role == "applicant"]
        assert letter.attempts == 1
        times = ["2026-12-21T10:06:00Z", "2026-12-21T10:07:00Z", "2026-12-21T10:20:00Z", "2026-12-21T12:00:00Z",
                 "2026-12-22T09:00:00Z", "2026-12-23T09:00:00Z", "2026-12-24T09:00:00Z", "2026-12-29T09:00:00Z",
                 "2026-12-30T09:00:00Z"]
        attempts = []
        for when in times:
            sweep_at(client, when)
            attempts.append(LetterRecord.get(ref, letter.letter_id).attempts)
        assert attempts[0] == 2 and attempts[1] == 2  # 10:07 is before the 10-minute backoff ends
        assert max(attempts) == MAX_LETTER_ATTEMPTS
        assert LetterRecord.get(ref, letter.letter_id).status == "failed"
        ses = boto3.client("ses", region_name="eu-west-2")
        ses.verify_email_identity(EmailAddress="communitytrigger@derbyshire.example")
        sweep_at(client, "2026-12-31T09:00:00Z")
        # SES refused the whole area, so every email of the case failed; each is flagged once.
        failed = sorted(l.letter_id for l in LetterRecord.query(ref) if l.status == "failed")
        flags = sorted(n.detail["letter"] for n in NoticeRecord.query(ref) if n.kind == "letter_failed")
        assert letter.letter_id in failed and flags == failed
        assert any("could not" in m.subject.lower() or "not sent" in m.subject.lower() or "failed" in m.subject.lower()
                   for m in outbox(SPOC))


def test_overdue_actions_are_escalated_at_three_weeks_then_two_months(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    headers = {"Content-Type": "application/json", "Authorization": spoc}
    meeting = {"date": "2026-12-21", "time": "10:00", "online": True, "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}
    client.http.post(f"/cases/{ref}/threshold-decision", headers=headers,
                     body=json.dumps({"decision": "met", "reasons": "Met", "meeting": meeting}))
    client.http.post(f"/cases/{ref}/outcome", headers=headers, body=json.dumps({
        "held_on": "2026-12-21", "findings": "f", "actions": [{"description": "Install CCTV <now>", "agency": "Council",
                                                               "lead_officer": "Jo Ward", "due_on": "2027-01-04",
                                                               "victim_agreed": True}]}))
    assert sweep_at(client, "2027-01-25T09:00:00Z")["effects"].get("escalate") is None  # 21 days late, not more
    assert sweep_at(client, "2027-01-26T09:00:00Z")["effects"]["escalate"] == 1
    assert sweep_at(client, "2027-03-05T09:00:00Z")["effects"]["escalate"] == 1
    levels = sorted(n.detail["level"] for n in NoticeRecord.query(ref) if n.kind == "escalate")
    assert levels == ["head_of_service", "line_manager"]


def test_the_appeal_window_closing_is_recorded(client, token):
    spoc = token("spoc", "derbyshire")
    ref = apply(client)
    client.http.post(f"/cases/{ref}/threshold-decision", headers={"Content-Type": "application/json", "Authorization": spoc},
                     body=json.dumps({"decision": "not_met", "reasons": "Too few"}))
    assert CaseRecord.get(ref).appeal_window_closes == "2027-01-18"
    sweep_at(client, "2027-01-18T09:00:00Z")
    assert not [n for n in NoticeRecord.query(ref) if n.kind == "appeal_window_closed"]
    sweep_at(client, "2027-01-19T09:00:00Z")
    assert [n.key for n in NoticeRecord.query(ref) if n.kind == "appeal_window_closed"] == ["appeal_window_closed#2027-01-18"]


def test_an_ended_case_leaves_the_due_index(client, wired):
    """A case with nothing pending carries no due_area: the index holds only live work."""
    ref = apply(client)
    assert CaseRecord.get(ref).due_area == "derbyshire"
    from chalicelib.adapters.tables import CaseRecord as C

    case = C.get(ref)
    case.update(actions=[C.status.set("withdrawn")])
    sweep_at(client, "2026-12-21T11:00:00Z")
    stored = CaseRecord.get(ref)
    assert stored.due_area is None and stored.next_check_at is None


def test_deadline_report_counts_met_late_missed_and_lists_overdue(client, token, clock):
    spoc = token("spoc", "derbyshire")
    on_time, late, waiting = apply(client), apply(client), apply(client)
    headers = {"Content-Type": "application/json", "Authorization": spoc}
    decide = json.dumps({"decision": "not_met", "reasons": "Too few complaints."})
    client.http.post(f"/cases/{on_time}/threshold-decision", headers=headers, body=decide)
    clock.set("2027-01-20T10:00:00+00:00")  # past the 14 January decision deadline
    client.http.post(f"/cases/{late}/threshold-decision", headers=headers, body=decide)
    report = client.http.get("/reports/deadlines?area=derbyshire&year=2026", headers=headers).json_body
    assert report["reporting_year"] == {"basis": "financial", "from": "2026-04-01", "to": "2027-03-31"}
    assert report["deadlines"]["threshold_decision"] == {"met": 1, "met_late": 1, "missed": 1, "pending": 0, "ended": 0}
    assert report["deadlines"]["acknowledge"]["met"] == 3
    assert [c["reference"] for c in report["overdue_now"]] == [waiting]
    assert client.http.get("/reports/deadlines?area=derbyshire&year=26", headers=headers).status_code == 422
    other = token("spoc", "hart")
    assert client.http.get("/reports/deadlines?area=derbyshire", headers={"Authorization": other}).status_code == 403
