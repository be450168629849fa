"""SES's delivery reports, through the app's own SNS handler (chalice's test client): a bounce is no
longer invisible. A hard bounce to the applicant queues the letter for post and tells the SPOC (by
email and in the timeline), once; events arriving late, twice or out of order never move the
letter's state back; a partner's bounced request tells the SPOC who to find another address for."""
from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.adapters.tables import AuditEvent, LetterRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)


def call(client, method, path, auth=None, body=None):
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    return getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(body) if body is not None else None)


def apply(client, body=None) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(body or example_application(TODAY)))
    assert r.status_code == 201, r.body
    return r.json_body["reference"]


def ses_event(letter: LetterRecord, kind: str, at: str, **detail) -> dict:
    """An event as SES's configuration set publishes it (trimmed to what it always carries)."""
    mail = {"timestamp": "2026-12-21T10:00:01.000Z", "messageId": letter.provider_id, "source": "ct@example.gov.uk",
            "destination": [letter.to_email], "tags": {"ref": [letter.ref], "letter": [letter.letter_id],
                                                       "ses:configuration-set": ["ct-letters"]}}
    event = {"eventType": kind, "mail": mail}
    if kind == "Bounce":
        event["bounce"] = {"bounceType": detail.get("bounce_type", "Permanent"),
                           "bounceSubType": detail.get("subtype", "General"), "timestamp": at,
                           "bouncedRecipients": [{"emailAddress": letter.to_email,
                                                  "diagnosticCode": f"smtp; 550 5.1.1 <{letter.to_email}>: no such user"}]}
    elif kind == "Delivery":
        event["delivery"] = {"timestamp": at, "recipients": [letter.to_email], "smtpResponse": "250 ok"}
    elif kind == "Complaint":
        event["complaint"] = {"timestamp": at, "complainedRecipients": [{"emailAddress": letter.to_email}],
                              "complaintFeedbackType": "abuse"}
    return event


@pytest.fixture
def report(client):
    """Hand an SES event to the handler as SNS would."""

    def send(event) -> dict:
        message = event if isinstance(event, str) else json.dumps(event)
        return client.lambda_.invoke("ses_receipts", client.events.generate_sns_event(message=message)).payload

    return send


@pytest.fixture
def spoc(token):
    return token("spoc", "derbyshire")


def applicant_letter(ref: str) -> LetterRecord:
    [letter] = [l for l in LetterRecord.query(ref) if l.recipient_role == "applicant" and l.channel == "email"]
    assert letter.status == "sent" and letter.provider_id
    return letter


def test_a_hard_bounce_queues_the_letter_for_post_and_tells_the_spoc_in_an_email_and_the_timeline(
        client, report, spoc, outbox, caplog, wired):
    ref = apply(client)
    letter = applicant_letter(ref)
    spoc_email = wired.policies()["derbyshire"].contacts.spoc_email
    before = len(outbox())

    assert report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z")) == {"outcome": "recorded"}

    case = call(client, "GET", f"/cases/{ref}", spoc).json_body
    shown = next(l for l in case["letters"] if l["id"] == letter.letter_id)
    assert shown["delivery"]["state"] == "bounced"
    assert shown["delivery"]["at"] == "2026-12-21T10:05:00.000Z"
    assert shown["delivery"]["reason"] == "address does not exist"
    post = next(l for l in case["letters"] if l["replaces_letter"] == letter.letter_id)
    assert (post["channel"], post["status"], post["to"]) == ("post", "print_queued", "applicant")
    assert shown["delivery"]["summary"] == f"Bounced 21 Dec 10:05: address does not exist; queued for post (letter {post['id']})"

    queue = call(client, "GET", "/print-queue", spoc).json_body["letters"]
    assert [q["letter_id"] for q in queue if q["reference"] == ref] == [post["id"]]
    printable = call(client, "GET", f"/cases/{ref}/letters/{post['id']}", spoc).json_body
    assert "Date: Monday 21 December 2026" in printable["text"]  # dated the day it is printed (today)
    assert "12 Elm Road" in printable["text"] and printable["subject"] == letter.subject

    [told] = [m for m in outbox()[before:]]
    assert told.destinations["ToAddresses"] == [spoc_email]
    assert ref in told.subject and "bounced" in told.subject
    assert "sam.taylor@example.com" not in told.body and "Sam Taylor" not in told.body
    assert post["id"] in told.body

    [event] = [e for e in case["timeline"] if e["action"] == "email_bounced"]
    assert event["detail"]["letter"] == letter.letter_id and event["detail"]["post_letter"] == post["id"]
    assert event["from"] == event["to"] == case["status"]
    assert not any("sam.taylor" in r.getMessage() or "sam.taylor" in str(vars(r)) for r in caplog.records)


def test_the_same_bounce_twice_and_a_second_bounce_queue_one_letter_and_tell_the_spoc_once(client, report, spoc, outbox):
    ref = apply(client)
    letter = applicant_letter(ref)
    bounce = ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z")
    report(bounce)
    sent = len(outbox())
    audit = len(list(AuditEvent.query(ref)))

    assert report(bounce) == {"outcome": "duplicate"}
    assert report(ses_event(letter, "Bounce", "2026-12-21T11:00:00.000Z", subtype="NoEmail")) == {"outcome": "recorded"}

    assert len(outbox()) == sent
    assert len(list(AuditEvent.query(ref))) == audit
    copies = [l for l in LetterRecord.query(ref) if l.replaces_letter == letter.letter_id]
    assert len(copies) == 1
    assert LetterRecord.get(ref, letter.letter_id).delivery_at == "2026-12-21T11:00:00.000Z"


def test_a_delivery_older_than_the_bounce_arriving_after_it_changes_nothing(client, report, spoc):
    ref = apply(client)
    letter = applicant_letter(ref)
    report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z"))
    before = call(client, "GET", f"/cases/{ref}", spoc).json_body

    assert report(ses_event(letter, "Delivery", "2026-12-21T10:04:59.000Z")) == {"outcome": "older"}

    after = call(client, "GET", f"/cases/{ref}", spoc).json_body
    assert after["letters"] == before["letters"]
    assert after["version"] == before["version"]


def test_a_delivery_then_a_later_complaint_and_a_soft_bounce_that_arrives_late(client, report, spoc, outbox):
    ref = apply(client)
    letter = applicant_letter(ref)
    sent = len(outbox())
    report(ses_event(letter, "Delivery", "2026-12-21T10:02:00.000Z"))
    shown = lambda: next(l for l in call(client, "GET", f"/cases/{ref}", spoc).json_body["letters"]  # noqa: E731
                         if l["id"] == letter.letter_id)["delivery"]
    assert shown()["summary"] == "Delivered 21 Dec 10:02"
    assert report(ses_event(letter, "Bounce", "2026-12-21T10:01:00.000Z", bounce_type="Transient",
                            subtype="MailboxFull")) == {"outcome": "older"}
    report(ses_event(letter, "Complaint", "2026-12-21T12:30:00.000Z"))
    assert shown()["state"] == "complained"
    assert len(outbox()) == sent  # only a bounce that cannot be delivered tells the SPOC
    assert not [l for l in LetterRecord.query(ref) if l.replaces_letter]


def test_a_bounce_to_an_applicant_with_no_postal_address_tells_the_spoc_to_reach_them_another_way(
        client, report, token, outbox):
    from chalicelib.adapters.tables import CaseRecord
    from chalicelib.openapi import example_on_behalf

    ref = apply(client, example_on_behalf(TODAY))  # a councillor applying for the victim, by email
    # The form insists on an address; the code must not (cases entered otherwise, or stored before).
    case = CaseRecord.get(ref)
    application = dict(case.application)
    application["applicant"] = {k: v for k, v in application["applicant"].items() if k != "address"}
    case.update(actions=[CaseRecord.application.set(application)])
    letter = applicant_letter(ref)
    sent = len(outbox())
    report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z"))
    assert not [l for l in LetterRecord.query(ref) if l.replaces_letter]
    [told] = outbox()[sent:]
    assert "We hold no postal address for the applicant" in told.body
    case = call(client, "GET", f"/cases/{ref}", token("spoc", "hart")).json_body
    shown = next(l for l in case["letters"] if l["id"] == letter.letter_id)["delivery"]
    assert shown["summary"].endswith("; no postal address: the SPOC was told")


def test_a_partner_request_that_bounces_tells_the_spoc_naming_the_partner(client, report, spoc, outbox):
    ref = apply(client)
    partner_letters = [l for l in LetterRecord.query(ref) if l.recipient_role == "partner" and l.status == "sent"]
    assert partner_letters
    letter = partner_letters[0]
    case = call(client, "GET", f"/cases/{ref}", spoc).json_body
    partner = next(r["partner"] for r in case["partner_requests"] if r["id"] == letter.link_request_id)
    sent = len(outbox())

    report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z"))

    [told] = outbox()[sent:]
    assert partner in told.subject and ref in told.subject
    assert "add a correct one" in told.body
    case = call(client, "GET", f"/cases/{ref}", spoc).json_body
    [event] = [e for e in case["timeline"] if e["action"] == "email_bounced"]
    assert event["detail"]["partner"] == partner and event["detail"]["post_letter"] is None
    assert not [l for l in LetterRecord.query(ref) if l.replaces_letter]  # nothing to post to an agency
    shown = next(l for l in case["letters"] if l["id"] == letter.letter_id)["delivery"]
    assert shown["summary"] == "Bounced 21 Dec 10:05: address does not exist; the SPOC was told"


@pytest.mark.parametrize("message", [
    "not json at all", "[]", json.dumps({"eventType": "Open", "mail": {}}),
    json.dumps({"Type": "SubscriptionConfirmation"}),
    json.dumps({"eventType": "Bounce", "mail": {"timestamp": "2026-12-21T10:00:00Z", "tags": {}}}),
    json.dumps({"eventType": "Bounce", "mail": {"timestamp": "2026-12-21T10:00:00Z",
                                                "tags": {"ref": ["CT-XXXX-XXXX"], "letter": ["01"]}},
                "bounce": {"bounceType": "Permanent", "timestamp": "2026-12-21T10:00:00Z"}}),
    json.dumps({"eventType": "Delivery", "mail": {"tags": {"ref": ["CT-7K3M-9QXR"], "letter": ["01"]}},
                "delivery": {"timestamp": "yesterday"}}),
])
def test_a_malformed_or_foreign_message_is_ignored_not_raised(client, report, message):
    assert report(message) == {"outcome": "ignored"}


def test_an_event_tagged_with_our_letter_but_another_message_id_is_ignored(client, report, spoc):
    ref = apply(client)
    letter = applicant_letter(ref)
    event = ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z")
    event["mail"]["messageId"] = "0100-someone-else"
    assert report(event) == {"outcome": "ignored"}
    assert LetterRecord.get(ref, letter.letter_id).delivery is None


def test_the_console_case_page_shows_each_letters_delivery(client, report, console_as):
    ref = apply(client)
    letter = applicant_letter(ref)
    report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z"))
    page = console_as("spoc", "derbyshire").get(f"/console/cases/{ref}")
    assert page.status_code == 200
    text = page.body.decode()
    assert "Bounced 21 Dec 10:05: address does not exist; queued for post" in text
    assert "An email bounced" in text  # the timeline's entry


def test_the_delivery_fields_are_documented_as_the_api_answers_them(client, report, spoc):
    from jsonschema import Draft202012Validator

    ref = apply(client)
    letter = applicant_letter(ref)
    report(ses_event(letter, "Bounce", "2026-12-21T10:05:00.000Z"))
    spec = client.http.get("/openapi.json").json_body
    for path, url in (("/cases/{ref}", f"/cases/{ref}"),
                      ("/cases/{ref}/letters/{letter_id}", f"/cases/{ref}/letters/{letter.letter_id}")):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        body = call(client, "GET", url, spoc).json_body
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
        assert errors == [], (path, errors)
    letters = spec["paths"]["/cases/{ref}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "properties"]["letters"]["items"]["properties"]
    assert {"delivery", "replaces_letter"} <= set(letters)
    assert set(letters["delivery"]["properties"]) >= {"state", "at", "reason", "post_letter", "summary"}


def test_the_local_outboxs_simulated_bounce_is_an_event_the_handler_accepts(client, spoc):
    """What `make run`'s "Simulate bounce" button hands the handler (infra/local_stack.py)."""
    from chalicelib.receipts import simulated_bounce
    from chalicelib.routes.notifications import ses_receipts

    ref = apply(client)
    letter = applicant_letter(ref)
    assert ses_receipts(simulated_bounce(letter, "2026-12-21T10:05:00.000Z"), None) == {"outcome": "recorded"}
    shown = next(l for l in call(client, "GET", f"/cases/{ref}", spoc).json_body["letters"] if l["id"] == letter.letter_id)
    assert shown["delivery"]["state"] == "bounced" and shown["delivery"]["post_letter"]
