"""The pure part of SES's delivery reports (chalicelib.receipts): reading an event, which event
wins when they arrive late, twice or out of order, and what a bounce leads to."""
from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.mailer import decode_tag, tag_value
from chalicelib.receipts import (NotOurs, Receipt, decide, delivery_summary, followup_letter_id, parse_ses_event,
                                 posted_text)


def event(kind: str, at: str = "2026-12-21T10:05:00.000Z", ref: str = "CT-7K3M-9QXR", letter: str = "01", **part):
    body = {"eventType": kind, "mail": {"timestamp": "2026-12-21T10:00:00.000Z", "messageId": "m-1",
                                        "tags": {"ref": [ref], "letter": [letter]}}}
    body[kind.lower()] = {"timestamp": at, **part}
    return json.dumps(body)


def receipt(state: str, at: str) -> Receipt:
    return Receipt(state, at, "why", "CT-7K3M-9QXR", "01", "m-1")


def test_each_kind_of_event_becomes_a_state_with_a_short_reason_and_its_own_time():
    bounce = parse_ses_event(event("Bounce", bounceType="Permanent", bounceSubType="NoEmail",
                                   bouncedRecipients=[{"emailAddress": "x@example.com", "diagnosticCode": "550 x@example.com"}]))
    assert (bounce.state, bounce.reason, bounce.at) == ("bounced", "address does not exist", "2026-12-21T10:05:00.000Z")
    assert "example.com" not in bounce.reason
    soft = parse_ses_event(event("Bounce", bounceType="Transient", bounceSubType="MailboxFull"))
    assert (soft.state, soft.reason) == ("soft_bounced", "mailbox full")
    assert parse_ses_event(event("Bounce", bounceType="Undetermined")).state == "soft_bounced"
    assert parse_ses_event(event("Delivery", at="2026-12-21T10:02:03Z")).at == "2026-12-21T10:02:03.000Z"
    assert parse_ses_event(event("Complaint", complaintFeedbackType="abuse")).reason == "marked as spam (abuse)"
    rejected = parse_ses_event(event("Reject", reason="Bad content"))
    assert (rejected.state, rejected.at) == ("rejected", "2026-12-21T10:00:00.000Z")  # a reject has only the mail's time
    # An identity notification names its type differently; British summer time is still read as UTC instants.
    notice = json.loads(event("Delivery", at="2027-06-01T09:00:00+01:00"))
    notice["notificationType"] = notice.pop("eventType")
    assert parse_ses_event(notice).at == "2027-06-01T08:00:00.000Z"


@pytest.mark.parametrize("message, kind", [
    ("{", "not_json"), ("[1]", "not_an_object"), (json.dumps({"mail": {}}), "no_event_type"),
    (json.dumps({"eventType": "Open", "mail": {"tags": {"ref": ["CT-7K3M-9QXR"], "letter": ["01"]}}}), "type_Open"),
    (json.dumps({"eventType": "Bounce"}), "no_mail"),
    (json.dumps({"eventType": "Bounce", "mail": {"tags": {"letter": ["01"]}}}), "untagged"),
    (event("Bounce", ref="not-a-reference"), "bad_tag"),
    (event("Bounce", letter="../01"), "bad_tag"),
    (event("Bounce", at="the day before yesterday"), "bad_timestamp"),
    (json.dumps({"eventType": "<script>", "mail": {}}), "unknown_type"),
])
def test_what_is_not_an_event_about_our_letters_is_refused_with_a_code_safe_to_log(message, kind):
    with pytest.raises(NotOurs) as refused:
        parse_ses_event(message)
    assert refused.value.kind == kind


def test_the_later_event_wins_whatever_order_they_arrive_in():
    bounce, delivery = receipt("bounced", "2026-12-21T10:05:00.000Z"), receipt("delivered", "2026-12-21T10:04:59.000Z")
    after_bounce = decide(delivery, stored_key=bounce.key, followed_up=True, role="applicant", channel="email",
                          has_address=True)
    assert (after_bounce.record, after_bounce.why) == (False, "older")
    after_delivery = decide(bounce, stored_key=delivery.key, followed_up=False, role="applicant", channel="email",
                            has_address=True)
    assert after_delivery.record and after_delivery.follow_up and after_delivery.post_copy


def test_the_same_event_twice_is_a_duplicate_and_at_the_same_instant_the_graver_state_wins():
    bounce = receipt("bounced", "2026-12-21T10:05:00.000Z")
    assert decide(bounce, stored_key=bounce.key, followed_up=True, role="applicant", channel="email",
                  has_address=True).why == "duplicate"
    same_time_delivery = receipt("delivered", bounce.at)
    assert decide(same_time_delivery, stored_key=bounce.key, followed_up=True, role="applicant", channel="email",
                  has_address=True).why == "older"
    assert decide(bounce, stored_key=same_time_delivery.key, followed_up=False, role="applicant", channel="email",
                  has_address=True).record


def test_times_compare_as_times_across_new_year_and_month_ends():
    # Keys are normalised to one format, so string order is time order (also across a year's end).
    for earlier, later in [("2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00.000Z"),
                           ("2027-01-31T23:00:00.000Z", "2027-02-01T00:00:00.000Z"),
                           ("2028-02-28T12:00:00.000Z", "2028-02-29T12:00:00.000Z"),
                           ("2027-08-31T22:59:00.000Z", "2027-09-01T00:00:00.000Z")]:
        old, new = receipt("bounced", earlier), receipt("delivered", later)
        assert decide(new, stored_key=old.key, followed_up=True, role="victim", channel="email", has_address=True).record
        assert not decide(old, stored_key=new.key, followed_up=False, role="victim", channel="email",
                          has_address=True).record


@given(st.permutations([("delivered", "2026-12-21T10:01:00.000Z"), ("soft_bounced", "2026-12-21T10:02:00.000Z"),
                        ("bounced", "2026-12-21T10:03:00.000Z"), ("bounced", "2026-12-21T10:03:00.000Z"),
                        ("complained", "2026-12-21T09:00:00.000Z")]))
def test_whatever_the_order_the_stored_state_is_the_latest_events_and_it_is_followed_up_once(events):
    stored, followed = None, False
    follow_ups = 0
    for state, at in events:
        d = decide(receipt(state, at), stored_key=stored, followed_up=followed, role="applicant", channel="email",
                   has_address=True)
        if d.record:
            stored = receipt(state, at).key
            if d.follow_up:
                followed, follow_ups = True, follow_ups + 1
    assert stored == receipt("bounced", "2026-12-21T10:03:00.000Z").key
    assert follow_ups == 1


def test_what_a_bounce_leads_to_depends_on_who_it_was_for():
    bounce = receipt("bounced", "2026-12-21T10:05:00.000Z")

    def to(role, has_address=True, kind=bounce):
        d = decide(kind, stored_key=None, followed_up=False, role=role, channel="email", has_address=has_address)
        return d.follow_up, d.post_copy

    assert to("applicant") == (True, True)
    assert to("victim", has_address=False) == (True, False)
    assert to("partner") == (True, False)
    assert to("spoc") == (False, False)  # never a flag about a flag
    assert to("applicant", kind=receipt("soft_bounced", bounce.at)) == (False, False)
    assert to("applicant", kind=receipt("complained", bounce.at)) == (False, False)
    assert to("applicant", kind=receipt("rejected", bounce.at)) == (True, True)


def test_the_posted_copy_is_dated_the_day_it_is_printed():
    text = "Date: Monday 21 December 2026\nOur reference: CT-7K3M-9QXR\nWe will decide by Monday 21 December 2026."
    posted = posted_text(text, date(2026, 12, 21))
    assert posted.startswith("Date: [[date-of-posting]]\n")
    assert posted.endswith("by Monday 21 December 2026.")  # only the letter's own date line


def test_the_summary_staff_read():
    assert delivery_summary("delivered", "2026-12-21T10:02:00.000Z", "delivered", None) == "Delivered 21 Dec 10:02"
    # London time: BST in summer.
    assert delivery_summary("delivered", "2027-06-01T09:02:00.000Z", "delivered", None) == "Delivered 1 Jun 10:02"
    assert delivery_summary("bounced", "2026-12-21T10:05:00.000Z", "address does not exist",
                            {"post_letter": "b1"}, "applicant") == \
        "Bounced 21 Dec 10:05: address does not exist; queued for post (letter b1)"
    assert delivery_summary(None, None, None, None) == ""


def test_follow_up_letter_ids_are_fixed_per_bounced_letter_and_fit_the_id_pattern():
    import re

    ids = {followup_letter_id("01", "spoc"), followup_letter_id("01", "post"), followup_letter_id("02", "spoc")}
    assert len(ids) == 3 and followup_letter_id("01", "spoc") == followup_letter_id("01", "spoc")
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", i) and not i.startswith("n") for i in ids)


@given(st.text(min_size=1, max_size=100))
def test_any_tag_value_round_trips_through_what_ses_allows(value):
    import re

    encoded = tag_value(value)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", encoded)
    assert decode_tag(encoded) == value


def test_our_references_and_letter_ids_are_sent_as_they_are():
    assert tag_value("CT-7K3M-9QXR") == "CT-7K3M-9QXR" and tag_value("n0123abcdef") == "n0123abcdef"


class RecordingSes:
    def __init__(self):
        self.calls = []

    def send_email(self, **kwargs):
        self.calls.append(kwargs)
        return {"MessageId": "m-1"}


@pytest.mark.parametrize("configuration_set", ["ct-prod-letters", None])
def test_the_mailer_sends_through_the_configuration_set_with_tags_naming_the_letter(monkeypatch, configuration_set):
    from chalicelib.adapters.mailer import SesMailer

    if configuration_set:
        monkeypatch.setenv("SES_CONFIGURATION_SET", configuration_set)
    else:
        monkeypatch.delenv("SES_CONFIGURATION_SET", raising=False)
    ses = RecordingSes()
    SesMailer(_client=ses).send(sender="a@example.gov.uk", to="b@example.com", reply_to="c@example.gov.uk",
                                subject="S", html="<p>H</p>", text="T", tags={"ref": "CT-7K3M-9QXR", "letter": "01"})
    [call] = ses.calls
    assert call["Tags"] == [{"Name": "ref", "Value": "CT-7K3M-9QXR"}, {"Name": "letter", "Value": "01"}]
    assert call.get("ConfigurationSetName") == configuration_set


@pytest.fixture(scope="module")
def renderer():
    from chalicelib.letters import LetterRenderer

    return LetterRenderer()


def bounced_ctx(policy, to="applicant", post_letter="b0123456789", partner_name=None):
    return {"ref": "CT-7K3M-9QXR", "area": policy.area, "at": "2026-12-21T10:05:00.000Z",
            "reason": "address does not exist", "state": "bounced",
            "letter": {"id": "01", "step": "acknowledgement", "to": to, "subject": "Your application CT-7K3M-9QXR"},
            "post_letter": post_letter, "partner_name": partner_name}


def test_the_spocs_bounce_email_says_what_to_do_for_each_recipient(renderer, area_policies):
    from jinja2 import UndefinedError

    policy = area_policies["hart"]
    posted = renderer.render_email("spoc_email_bounced", bounced_ctx(policy))
    assert posted.subject == "Email to the applicant bounced – ASB case review CT-7K3M-9QXR"
    assert "in the print queue (letter b0123456789)" in posted.text and "Monday 21 December 2026 at 10:05am" in posted.text
    unreachable = renderer.render_email("spoc_email_bounced", bounced_ctx(policy, "victim", post_letter=None))
    assert "We hold no postal address for the victim" in unreachable.text
    partner = renderer.render_email("spoc_email_bounced", bounced_ctx(policy, "partner", None, "Hart Homes"))
    assert partner.subject.startswith("Email to Hart Homes bounced")
    assert "add a correct one to its request" in partner.html
    with pytest.raises(UndefinedError):  # a recipient the email does not know is a bug
        renderer.render_email("spoc_email_bounced", bounced_ctx(policy, "perpetrator"))
