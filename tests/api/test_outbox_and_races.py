"""The outbox and the storage edges: races, time zones, channels."""
from __future__ import annotations

import json
from datetime import date

from chalicelib.adapters.mailer import MailError, SesMailer
from chalicelib.adapters.repository import CaseRepository
from chalicelib.adapters.tables import CaseRecord, LetterRecord
from chalicelib.openapi import example_application
from chalicelib.outbox import Person, deliver, retry_delay

TODAY = date(2026, 12, 21)


class SesDown:
    def send(self, **_: object) -> str:
        raise MailError("Throttling")


def post(client, body, key=None):
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return client.http.post("/applications", headers=headers, body=json.dumps(body))


def test_a_retry_that_loses_the_race_to_its_twin_answers_with_the_same_reference(client, intake, monkeypatch):
    """Both requests pass the first look-up before either has written; the loser's transaction is
    cancelled by the idempotency condition and it answers with the winner's case."""
    body = example_application(TODAY)
    first = post(client, body, key="race-1").json_body["reference"]
    real_replay = CaseRepository._replay
    calls = {"n": 0}

    def replay_sees_nothing_the_first_time(self, key):
        calls["n"] += 1
        return None if calls["n"] == 1 else real_replay(self, key)

    monkeypatch.setattr(CaseRepository, "_replay", replay_sees_nothing_the_first_time)
    second = post(client, body, key="race-1")
    assert second.status_code == 201
    assert second.json_body["reference"] == first
    assert sum(1 for _ in CaseRecord.scan()) == 1


def test_a_letter_is_sent_once_when_two_workers_deliver_it(intake, wired, verified_senders, outbox, clock):
    """The stream's sender and the retry both try the same pending letter: the conditional claim lets one win."""
    wired.sender().mailer = SesDown()
    ref = intake.submit(example_application(TODAY), idempotency_header=None).case.ref
    [pending] = [l for l in LetterRecord.query(ref) if l.recipient_role == "applicant"]
    assert pending.status == "pending"

    policy = intake.policies["derbyshire"]
    later = clock.now + retry_delay(1)
    worker_a = LetterRecord.get(ref, pending.letter_id)
    worker_b = LetterRecord.get(ref, pending.letter_id)  # both read the same due time
    deliver([worker_a], policy=policy, mailer=SesMailer(), repo=CaseRepository(), now=later)
    deliver([worker_b], policy=policy, mailer=SesMailer(), repo=CaseRepository(), now=later)

    assert len(outbox("sam.taylor@example.com")) == 1
    stored = LetterRecord.get(ref, pending.letter_id)
    assert stored.status == "sent" and stored.attempts == 2  # one failure, one success
    assert stored.retry_at is None  # gone from the retry index


def test_received_date_is_the_london_date(client, clock):
    clock.set("2026-06-30T23:30:00+00:00")  # 00:30 on 1 July in London (BST)
    receipt = post(client, example_application(date(2026, 6, 30))).json_body
    assert receipt["received_on"] == "2026-07-01"
    assert receipt["acknowledgement_due"] == "2026-07-08"  # 5 working days after Wednesday 1 July


def test_phone_preference_gets_letters_by_email_when_there_is_an_address_for_it():
    with_email = Person("A", ("1 Road", "Town", "AB1 2CD"), "a@example.com", "phone")
    without = Person("B", ("1 Road", "Town", "AB1 2CD"), None, "phone")
    assert with_email.channel == "email"
    assert without.channel == "post"
    assert Person("C", ("x",), "c@example.com", "post").channel == "post"


def test_retry_backoff_grows_and_is_capped():
    delays = [retry_delay(n).total_seconds() / 60 for n in range(1, 10)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == 360
