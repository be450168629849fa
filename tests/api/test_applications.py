"""POST /applications through Chalice's test client, against moto's DynamoDB and SES."""
from __future__ import annotations

import copy
import json
import logging
from datetime import date

import pytest

from chalicelib.adapters.tables import AuditEvent, CaseRecord, EqualitiesRecord, IdempotencyRecord, LetterRecord
from chalicelib.domain.reference import PATTERN
from chalicelib.openapi import example_application, example_on_behalf

TODAY = date(2026, 12, 21)  # the clock fixture's London date (a Monday before Christmas)


def post(client, body, key=None, raw=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return client.http.post("/applications", headers=headers, body=raw if raw is not None else json.dumps(body))


def count(model) -> int:
    return sum(1 for _ in model.scan())  # a test-only look at the whole (tiny) table


def letters_to_people(ref: str) -> list[LetterRecord]:
    """Letters to the applicant or victim (not the partner requests and SPOC emails)."""
    return [l for l in LetterRecord.query(ref) if l.recipient_role in ("applicant", "victim")]


SAM = "sam.taylor@example.com"
ALEX = "alex.morgan@example.org"


def test_example_application_is_stored_and_acknowledged_by_email(client, outbox):
    response = post(client, example_application(TODAY))

    assert response.status_code == 201
    receipt = response.json_body
    ref = receipt["reference"]
    assert PATTERN.match(ref)
    assert receipt["status"] == "acknowledged"
    # Derbyshire: 5 working days, skipping 25 and 28 December (Boxing Day observed) and weekends.
    assert receipt["acknowledgement_due"] == "2026-12-30"
    # 15 working days, also skipping New Year's Day.
    assert receipt["decision_due"] == "2027-01-14"

    case = CaseRecord.get(ref)
    assert case.area == "derbyshire" and case.status == "acknowledged" and case.received_on == "2026-12-21"
    assert case.application["victim"]["name"] == "Sam Taylor"
    [event] = AuditEvent.query(ref)
    assert (event.actor, event.action, event.from_status, event.to_status) == (
        "applicant (online form)", "submit_complete", None, "acknowledged")

    [letter] = letters_to_people(ref)
    assert (letter.step, letter.template, letter.status, letter.channel) == (
        "acknowledgement", "derbyshire/letter1", "sent", "email")
    assert letter.retry_at is None and letter.retry_area is None  # nothing left for the sweep

    [email] = outbox(SAM)
    assert ref in email.subject or ref in email.body
    assert "Thursday 14 January 2027" in email.body  # when they will hear about the threshold


def test_reference_has_no_personal_data(client):
    body = example_application(TODAY)
    ref = post(client, body).json_body["reference"]
    assert "TAYLOR" not in ref and "SAM" not in ref and "DE4" not in ref


def test_pre_assessment_is_stored_rule_by_rule(client):
    ref = post(client, example_application(TODAY)).json_body["reference"]
    assessment = CaseRecord.get(ref).pre_assessment
    assert assessment["result"] == "met"
    rules = {r["rule"]: r for r in assessment["rules"]}
    # Four reports, but two are the same night: three separate occasions.
    assert rules["qualifying_complaints"]["outcome"] == "pass"
    assert "3 qualifying complaints" in rules["qualifying_complaints"]["reason"]
    assert "counted once" in rules["qualifying_complaints"]["reason"]


def test_dacorum_acknowledges_in_two_working_days_with_its_own_letter(client, outbox):
    body = example_application(TODAY, area="dacorum")
    receipt = post(client, body).json_body
    assert receipt["acknowledgement_due"] == "2026-12-23"
    [letter] = letters_to_people(receipt["reference"])
    assert letter.template == "dacorum/ct1"
    [email] = outbox(SAM)
    assert receipt["reference"] in email.body


def test_third_party_without_consent_gets_the_consent_letter_and_review_waits(client, outbox):
    body = example_on_behalf(TODAY)  # Hart, consent to follow
    receipt = post(client, body).json_body
    assert receipt["status"] == "awaiting_consent"
    assert receipt["decision_due"] is None
    letters = letters_to_people(receipt["reference"])
    assert [(l.step, l.recipient_role, l.channel, l.status) for l in letters] == [
        ("consent_required", "applicant", "email", "sent")]
    [email] = outbox(ALEX)
    assert "consent" in email.body.lower()


def test_third_party_with_consent_acknowledges_applicant_and_writes_to_the_victim_by_post(client, outbox):
    body = example_on_behalf(TODAY)
    body["victim_consent"] = "given"
    receipt = post(client, body).json_body
    assert receipt["status"] == "acknowledged"
    letters = {l.recipient_role: l for l in letters_to_people(receipt["reference"])}
    assert letters["applicant"].step == "acknowledgement" and letters["applicant"].status == "sent"
    victim_letter = letters["victim"]
    assert (victim_letter.step, victim_letter.channel, victim_letter.status) == ("victim_confirmation", "post", "print_queued")
    assert victim_letter.print_area == "hart"
    assert victim_letter.html.lstrip().lower().startswith("<!doctype html>")
    assert "3 Mill Lane" in victim_letter.html
    assert len(outbox(ALEX)) == 1 and outbox(SAM) == []  # the victim's letter is in the print queue


def test_post_preference_puts_the_letter_in_the_print_queue_not_email(client, outbox):
    body = example_application(TODAY)
    body["victim"]["preferred_contact"] = "post"
    ref = post(client, body).json_body["reference"]
    [letter] = letters_to_people(ref)
    assert letter.status == "print_queued" and letter.to_email is None
    queued = list(LetterRecord.print_queue.query("derbyshire"))
    assert [(q.ref, q.letter_id) for q in queued] == [(ref, letter.letter_id)]
    assert outbox(SAM) == []


def test_five_mistakes_are_all_reported_at_once_and_nothing_is_stored(client, outbox):
    body = example_application(TODAY)
    body["victim"]["email"] = "sam.taylor.example.com"  # 1 bad email
    body["victim"]["address"]["postcode"] = "DE4"  # 2 bad postcode
    body["incidents"][0]["happened_on"] = "2026-02-30"  # 3 not a real date
    body["incidents"][1]["reported_on"] = "2027-01-05"  # 4 in the future
    del body["summary"]  # 5 missing
    response = post(client, body)

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.json_body["errors"]}
    assert set(fields) == {"victim.email", "victim.address.postcode", "incidents[0].happened_on",
                           "incidents[1].reported_on", "summary"}
    assert "name@example.com" in fields["victim.email"]
    assert "real date" in fields["incidents[0].happened_on"]
    assert "in the past" in fields["incidents[1].reported_on"]
    assert count(CaseRecord) == 0 and outbox() == []


def test_anonymous_applications_are_refused(client):
    body = example_application(TODAY)
    body["victim"]["name"] = "Anonymous"
    response = post(client, body)
    assert response.status_code == 422
    assert response.json_body["errors"] == [
        {"field": "victim.name", "message": "We cannot accept anonymous applications: enter a real name"}]


def test_reported_before_it_happened_is_refused(client):
    body = example_application(TODAY)
    body["incidents"][0]["reported_on"] = "2026-01-01"
    errors = post(client, body).json_body["errors"]
    assert errors == [{"field": "incidents[0].reported_on",
                       "message": "The date reported must be on or after the date the incident happened"}]


def test_text_length_limit_names_the_field(client):
    body = example_application(TODAY)
    body["incidents"][2]["description"] = "x" * 2001
    errors = post(client, body).json_body["errors"]
    assert errors == [{"field": "incidents[2].description",
                       "message": "Description must be 2000 characters or fewer"}]


def test_same_idempotency_key_twice_gives_one_case_and_one_letter(client, outbox):
    body = example_application(TODAY)
    first = post(client, body, key="3f1c9a2e-retry-me")
    second = post(client, copy.deepcopy(body), key="3f1c9a2e-retry-me")
    assert first.status_code == second.status_code == 201
    assert second.json_body["reference"] == first.json_body["reference"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert count(CaseRecord) == 1 and count(AuditEvent) == 1
    assert len(letters_to_people(first.json_body["reference"])) == 1
    assert len(outbox(SAM)) == 1
    # The key itself is never stored, only its hash.
    [record] = IdempotencyRecord.scan()
    assert "3f1c9a2e" not in record.key_hash


def test_reusing_a_key_for_a_different_application_is_refused(client):
    body = example_application(TODAY)
    post(client, body, key="k-1")
    body["summary"] = "Something else entirely"
    response = post(client, body, key="k-1")
    assert response.status_code == 422
    assert response.json_body["errors"][0]["field"] == "Idempotency-Key"
    assert count(CaseRecord) == 1


def test_not_json_is_a_400_naming_the_body(client):
    response = post(client, None, raw="{not json")
    assert response.status_code == 400
    assert response.json_body["errors"][0]["field"] == "body"


def test_an_empty_body_is_a_400(client):
    response = post(client, None, raw="")
    assert response.status_code == 400
    assert response.json_body["errors"] == [{"field": "body", "message": "Send the application as a JSON object"}]


def test_a_form_post_is_refused_with_the_same_problem_shape(client):
    response = client.http.post("/applications", headers={"Content-Type": "text/plain"}, body="{}")
    assert response.status_code == 415
    assert response.json_body["errors"][0]["field"] == "Content-Type"


def test_json_with_a_charset_is_accepted(client):
    response = client.http.post("/applications", headers={"Content-Type": "application/json; charset=utf-8"},
                                body=json.dumps(example_application(TODAY)))
    assert response.status_code == 201


def test_a_json_array_is_a_422(client):
    response = post(client, None, raw="[1, 2]")
    assert response.status_code == 422
    assert response.json_body["errors"] == [{"field": "body", "message": "Send the application as a JSON object"}]


def test_body_size_limit(client):
    body = example_application(TODAY)
    body["other_information"] = "y" * 250_000
    response = post(client, body)
    assert response.status_code == 413
    assert response.json_body["errors"][0]["field"] == "body"
    assert count(CaseRecord) == 0


def test_ses_failure_still_accepts_and_keeps_the_letter_pending_for_retry(intake, aws, outbox):
    """No verified sender identity: SES refuses. The applicant still gets a reference."""
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        response = post(client, example_application(TODAY))
    assert response.status_code == 201
    ref = response.json_body["reference"]
    assert CaseRecord.get(ref).status == "acknowledged"
    [letter] = letters_to_people(ref)
    assert letter.status == "pending" and letter.attempts == 1
    assert letter.last_error == "MessageRejected"
    assert letter.retry_area == "derbyshire" and letter.retry_at > "2026-12-21T10:00"
    # Every email of the case (letter, partner requests, SPOC notice) is waiting for the retry.
    due = list(LetterRecord.retry_due.query("derbyshire", LetterRecord.retry_at <= "2026-12-21T10:06"))
    assert {(d.ref, d.letter_id) for d in due} == {(l.ref, l.letter_id) for l in LetterRecord.query(ref)}
    assert outbox() == []


def test_reference_collision_is_detected_and_a_new_one_issued(client, intake):
    refs = iter(["CT-7K3M-9QXR", "CT-7K3M-9QXR", "CT-4CDF-GHJK"])
    intake.make_reference = lambda: next(refs)
    first = post(client, example_application(TODAY)).json_body["reference"]
    second = post(client, example_application(TODAY)).json_body["reference"]
    assert (first, second) == ("CT-7K3M-9QXR", "CT-4CDF-GHJK")
    assert CaseRecord.get(first).version == 1  # the first case was not overwritten


def test_equalities_are_stored_apart_from_the_case(client):
    ref = post(client, example_application(TODAY)).json_body["reference"]
    assert "equalities" not in CaseRecord.get(ref).application
    assert EqualitiesRecord.get(ref).answers == {"age_band": "35-44", "disability": "Prefer not to say"}


def test_no_personal_data_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    body = example_application(TODAY)
    post(client, body)
    body["victim"]["email"] = "broken"
    post(client, body)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("Sam Taylor", "sam.taylor@example.com", "Elm Road", "DE4 3AG", "07700"):
        assert secret not in logged


def test_a_failure_inside_answers_500_problem_and_stores_nothing(client, intake, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire: Sam Taylor")

    monkeypatch.setattr(intake.repo, "create_case", broken)
    response = post(client, example_application(TODAY))
    assert response.status_code == 500
    assert response.json_body["status"] == 500
    assert "Sam Taylor" not in response.body.decode()
    assert count(CaseRecord) == 0


@pytest.mark.parametrize("area", ["dacorum", "derbyshire", "hart", "folkestone-hythe", "gloucestershire"])
def test_every_area_accepts_the_example(client, outbox, area):
    receipt = post(client, example_application(TODAY, area=area)).json_body
    assert receipt["area"] == area and receipt["status"] == "acknowledged"
    assert len(outbox(SAM)) == 1
