"""The applicant waits for nothing: the letters a request stores are sent afterwards, from the
letters table's stream (tests/api/aws_stand_in.py plays Lambda's part), once each, with the retry
schedule as the safety net for a stream that is late, a sender that dies and an SES that refuses."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from chalicelib.adapters.mailer import MailError
from chalicelib.adapters.tables import LetterRecord
from chalicelib.openapi import example_application
from chalicelib.outbox import SEND_LEASE, STREAM_GRACE
from chalicelib.routes.letters import letter_sender

TODAY = date(2026, 12, 21)
SAM = "sam.taylor@example.com"


def post(client, body=None, key=None):
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return client.http.post("/applications", headers=headers, body=json.dumps(body or example_application(TODAY)))


def aws_calls(monkeypatch) -> list[str]:
    """Every AWS operation made from now on, by name (boto3's and PynamoDB's clients alike)."""
    import botocore.client

    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def counted(self, operation, params):
        calls.append(operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return calls


def stream_records(stream) -> list[dict]:
    """The letters table's stream as Lambda would deliver it (every record, from the start)."""
    return [stream._event_record(r.to_json()) for r in stream._shard().items]


def test_the_applicant_is_answered_with_nothing_sent_and_the_stream_then_sends_each_letter(client, letter_stream, outbox):
    with letter_stream.paused():
        answer = post(client)
        assert answer.status_code == 201
        ref = answer.json_body["reference"]
        assert outbox() == []  # the answer came before any email
        stored = list(LetterRecord.query(ref))
        assert stored and {l.status for l in stored if l.channel == "email"} == {"pending"}
        assert {l["status"] for l in answer.json_body["letters"]} == {"pending"}
    letter_stream.deliver()
    assert [m.subject for m in outbox(SAM)] == [l.subject for l in stored if l.to_email == SAM]
    emails = [l for l in LetterRecord.query(ref) if l.channel == "email"]
    assert {l.status for l in emails} <= {"sent", "cancelled"} and any(l.status == "sent" for l in emails)
    assert all(l.retry_at is None for l in emails if l.status == "sent")  # out of the retry index


def test_an_application_costs_at_most_four_aws_calls_and_sends_no_email(client, letter_stream, monkeypatch):
    post(client, key="warm-up")  # the partner-link secret is read once, then cached
    calls = aws_calls(monkeypatch)
    with letter_stream.paused():
        assert post(client, example_application(TODAY, area="hart"), key="second-one").status_code == 201
    assert len(calls) <= 4, calls
    assert calls.count("TransactWriteItems") == 1
    assert "SendEmail" not in calls and "UpdateItem" not in calls


def test_a_record_delivered_twice_sends_its_letter_once(client, letter_stream, outbox):
    ref = post(client).json_body["reference"]
    assert len(outbox(SAM)) == 1
    again = letter_sender({"Records": stream_records(letter_stream)}, None)  # Lambda may deliver twice
    assert again == {"batchItemFailures": []}
    assert len(outbox(SAM)) == 1
    assert [l.status for l in LetterRecord.query(ref) if l.to_email == SAM] == ["sent"]


def test_changes_to_letters_are_not_sends(client, letter_stream, outbox):
    post(client)
    modified = [r for r in stream_records(letter_stream) if r["eventName"] == "MODIFY"]
    assert modified  # the claims and the sends are themselves changes on the stream
    before = len(outbox())
    report = letter_sender({"Records": modified}, None)
    assert report == {"batchItemFailures": []} and len(outbox()) == before


def test_ses_refusing_leaves_the_letter_to_the_retry_which_sends_it_later(client, letter_stream, wired, clock, outbox):
    real = wired.sender().mailer

    class Refusing:
        def send(self, **_):
            raise MailError("Throttling")

    wired.sender().mailer = Refusing()
    ref = post(client).json_body["reference"]
    [letter] = [l for l in LetterRecord.query(ref) if l.to_email == SAM]
    assert letter.status == "pending" and letter.attempts == 1 and letter.last_error == "Throttling"
    wired.sender().mailer = real
    assert wired.sweep().retry_all(clock.now + timedelta(minutes=1)).letters_retried == 0  # not due yet
    report = wired.sweep().retry_all(clock.now + timedelta(minutes=6))
    assert report.letters_retried >= 1
    assert [m.subject for m in outbox(SAM)] == [letter.subject]
    assert LetterRecord.get(ref, letter.letter_id).status == "sent"


def test_a_stream_that_never_came_is_covered_by_the_retry_after_the_grace(client, letter_stream, wired, clock, outbox):
    with letter_stream.paused():
        ref = post(client).json_body["reference"]
        sweep = wired.sweep()
        early = sweep.retry_all(clock.now + STREAM_GRACE - timedelta(seconds=1))
        assert early.letters_retried == 0 and outbox() == []  # the stream's moment, not a race with it
        late = sweep.retry_all(clock.now + STREAM_GRACE)
        assert late.letters_retried >= 1
        assert len(outbox(SAM)) == 1
    letter_stream.deliver()  # the stream arrives after all: nothing twice
    assert len(outbox(SAM)) == 1
    assert [l.status for l in LetterRecord.query(ref) if l.to_email == SAM] == ["sent"]


def test_a_sender_that_dies_after_its_claim_leaves_the_letter_to_the_retry_after_the_lease(
        client, letter_stream, wired, clock, outbox, monkeypatch):
    from chalicelib.adapters.repository import CaseRepository

    real_claim = CaseRepository.claim

    def claim_then_die(self, letter, lease_until):
        real_claim(self, letter, lease_until)
        raise ConnectionError("the function was stopped")

    with letter_stream.paused():
        ref = post(client).json_body["reference"]
    monkeypatch.setattr(CaseRepository, "claim", claim_then_die)
    records = [r for r in stream_records(letter_stream) if r["eventName"] == "INSERT"]
    answer = letter_sender({"Records": records}, None)
    # storage failed: this record and every later one are to be delivered again, in order
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == [r["dynamodb"]["SequenceNumber"] for r in records]
    monkeypatch.setattr(CaseRepository, "claim", real_claim)
    letter_sender({"Records": records}, None)  # Lambda tries again: the claimed letter is skipped
    assert outbox(SAM) == []
    lease_end = clock.now + STREAM_GRACE + SEND_LEASE  # a new letter's lease runs from when it was due
    sweep = wired.sweep()
    assert sweep.retry_all(lease_end - timedelta(seconds=1)).letters_retried == 0
    assert outbox(SAM) == []
    sweep.retry_all(lease_end + timedelta(seconds=1))
    assert len(outbox(SAM)) == 1  # once, after the lease
    assert [l.status for l in LetterRecord.query(ref) if l.to_email == SAM] == ["sent"]


@pytest.mark.parametrize("step", ["withdraw"])
def test_a_staff_step_answers_before_its_letters_go(client, letter_stream, token, outbox, step):
    ref = post(client).json_body["reference"]
    before = len(outbox(SAM))
    with letter_stream.paused():
        r = client.http.post(f"/cases/{ref}/{step}", headers={"Authorization": token("spoc"), "Content-Type": "application/json"},
                             body=json.dumps({"reason": "applicant_request"}))
        assert r.status_code == 200, r.body
        assert len(outbox(SAM)) == before
        assert {l["status"] for l in r.json_body["letters"] if l["channel"] == "email"} == {"pending"}
    letter_stream.deliver()
    assert len(outbox(SAM)) == before + 1


def test_a_retry_working_to_a_later_clock_cannot_take_a_letter_being_sent(client, letter_stream, wired, clock, outbox,
                                                                         monkeypatch):
    """A sweep run for a later time (`make sweep AT=...`) stores reminders due by its clock; the
    sender claims them by the real clock. The claim never makes a letter due earlier than it was, so
    the sweep's retry finds nothing to take while the send is under way."""
    from chalicelib.adapters.repository import CaseRepository
    from chalicelib.clock import iso

    with letter_stream.paused():
        ref = post(client).json_body["reference"]
    records = [r for r in stream_records(letter_stream) if r["eventName"] == "INSERT"]
    real_claim = CaseRepository.claim
    taken = {}

    def claim_then_stall(self, letter, lease_until):
        real_claim(self, letter, lease_until)
        taken[letter.letter_id] = lease_until
        raise ConnectionError("still sending")

    monkeypatch.setattr(CaseRepository, "claim", claim_then_stall)
    letter_sender({"Records": records[:1]}, None)  # claimed by the clock now, then mid-send
    monkeypatch.setattr(CaseRepository, "claim", real_claim)
    later = clock.now + STREAM_GRACE  # the letter's own due time: the moment the retry could first take it
    wired.sweep().retry_all(later)  # the letters nobody had claimed yet go; the one being sent does not
    assert outbox(SAM) == []
    assert [l.status for l in LetterRecord.query(ref) if l.to_email == SAM] == ["pending"]
    assert list(taken) == ["01"] and taken["01"] > iso(later)
