"""Partner information requests: emailed secure links, the no-JavaScript return form, versioned
returns, and the threshold assessment recomputed from every source."""
from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import urlencode

import pytest

from chalicelib.adapters.tables import AuditEvent, CaseRecord, LetterRecord, PartnerRequestRecord, PartnerReturnRecord
from chalicelib.openapi import example_application
from chalicelib.partner_links import LinkSigner, token_hash

TODAY = date(2026, 12, 21)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
LINK = re.compile(r"https://ct\.example\.test/api/partner/([A-Za-z0-9_.\-]+)")


def apply(client, body=None) -> str:
    response = client.http.post("/applications", headers=JSON, body=json.dumps(body or example_application(TODAY)))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def partner_links(outbox, ref: str) -> dict[str, str]:
    """partner email address -> the token in the link it was sent."""
    out = {}
    for message in outbox():
        if ref in message.subject or ref in message.body:
            found = LINK.search(message.body)
            if found:
                out[message.destinations["ToAddresses"][0]] = found.group(1)
    return out


def police_token(outbox, ref: str) -> str:
    requests = {r.partner_kind: r for r in PartnerRequestRecord.query(ref)}
    return partner_links(outbox, ref)[requests["police"].email]


def count_returns() -> int:
    return sum(1 for _ in PartnerReturnRecord.scan())


GOOD_RETURN = {
    "responder_name": "PC Jo Lee", "responder_role": "ASB officer",
    "reports_held": "yes", "under_investigation": "no", "vulnerability_markers": "yes", "risk_assessments": "no",
    "reports-0-reference": "DC-5001", "reports-0-date_received": "2026-12-01", "reports-0-incident_date": "2026-11-30",
    "reports-0-reporting_party": "Sam Taylor", "reports-0-perpetrator": "Occupant of flat 3",
    "reports-0-overview": "Loud music after midnight", "reports-0-how_received": "phone",
    "reports-0-action_taken": "yes", "reports-0-action_detail": "Officers visited and gave advice",
    "action": "submit",
}


def post_form(client, token, fields):
    return client.http.post(f"/partner/{token}", headers=FORM, body=urlencode(fields))


# ---------------------------------------------------------------- requests


def test_each_partner_gets_a_request_with_its_own_link_and_a_due_date(client, outbox):
    ref = apply(client)
    requests = list(PartnerRequestRecord.query(ref))
    kinds = {r.partner_kind for r in requests}
    assert {"police", "council"} <= kinds
    # Derbyshire asks partners for 10 working days: 21 Dec 2026 -> 7 Jan 2027 (Christmas, New Year).
    assert {r.due_on for r in requests} == {"2027-01-07"}
    links = partner_links(outbox, ref)
    addressed = [r for r in requests if r.email]
    assert set(links) == {r.email for r in addressed}
    assert len(set(links.values())) == len(addressed)  # one link per request
    for request in addressed:
        assert request.status == "requested"
        assert request.token_hash == token_hash(links[request.email])


def test_an_agency_the_area_has_no_address_for_is_flagged_not_dropped(client, outbox):
    body = example_application(TODAY)
    body["incidents"][0]["reported_to"] = "Peaks Residents Trust"
    ref = apply(client, body)
    [unknown] = [r for r in PartnerRequestRecord.query(ref) if r.partner_name == "Peaks Residents Trust"]
    assert unknown.status == "no_address" and unknown.email is None and unknown.named_in_application
    [spoc] = [m for m in outbox() if "new" in m.subject.lower() or "application" in m.subject.lower()
              if m.destinations["ToAddresses"] == ["communitytrigger@derbyshire.example"]]
    assert "Peaks Residents Trust" in spoc.body


def test_the_token_itself_is_never_stored(client, outbox):
    ref = apply(client)
    tokens = list(partner_links(outbox, ref).values())
    stored = json.dumps([l.attribute_values for l in LetterRecord.scan()], default=str)
    stored += json.dumps([r.attribute_values for r in PartnerRequestRecord.scan()], default=str)
    assert tokens and not any(token in stored for token in tokens)


def test_no_requests_while_the_victims_consent_is_awaited(client):
    from chalicelib.openapi import example_on_behalf

    ref = apply(client, example_on_behalf(TODAY))
    assert list(PartnerRequestRecord.query(ref)) == []


# ---------------------------------------------------------------- the form


def test_partner_sees_only_what_it_needs(client, outbox):
    ref = apply(client)
    response = client.http.get(f"/partner/{police_token(outbox, ref)}")
    assert response.status_code == 200
    page = response.body.decode()
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    for needed in (ref, "Sam Taylor", "12 Elm Road", "DE4 3AG", "Thursday 7 January 2027"):
        assert needed in page
    for private in ("35-44", "Prefer not to say", "I am not sleeping", "I work early shifts", "07700"):
        assert private not in page  # equalities, impact, special circumstances, phone numbers
    assert "<script" not in page


def test_a_return_is_stored_and_confirmed(client, outbox, clock):
    ref = apply(client)
    response = post_form(client, police_token(outbox, ref), GOOD_RETURN)
    assert response.status_code == 201
    assert "received" in response.body.decode().lower()
    [record] = PartnerReturnRecord.scan()
    assert record.version == 1 and record.answers["reports"][0]["reference"] == "DC-5001"
    events = [e.action for e in AuditEvent.query(ref)]
    assert events == ["submit_complete", "partner_return"]


def test_json_returns_are_accepted_too(client, outbox):
    ref = apply(client)
    body = {"responder_name": "Housing officer", "reports_held": False, "under_investigation": False,
            "vulnerability_markers": False, "risk_assessments": False, "reports": []}
    response = client.http.post(f"/partner/{police_token(outbox, ref)}", headers=JSON, body=json.dumps(body))
    assert response.status_code == 201
    assert response.json_body["version"] == 1


def test_mistakes_are_shown_on_the_page_with_everything_typed_kept(client, outbox):
    ref = apply(client)
    fields = dict(GOOD_RETURN, **{"reports-0-overview": "", "reports_held": "", "reports-0-date_received": "2027-05-01"})
    response = post_form(client, police_token(outbox, ref), fields)
    assert response.status_code == 422
    page = response.body.decode()
    assert 'href="#reports-0-overview"' in page and 'href="#reports_held"' in page
    assert "Describe the report briefly" in page
    assert 'value="PC Jo Lee"' in page and "Officers visited and gave advice" in page  # kept
    assert count_returns() == 0


def test_add_another_report_without_javascript(client, outbox):
    ref = apply(client)
    response = post_form(client, police_token(outbox, ref), dict(GOOD_RETURN, action="add_report"))
    assert response.status_code == 200
    page = response.body.decode()
    assert 'name="reports-1-overview"' in page and 'value="DC-5001"' in page
    assert count_returns() == 0


def test_amending_keeps_every_version_and_the_assessment_follows(client, outbox):
    """The application alone shows two occasions (one incident is on the same night as another):
    with a police report of a third occasion the threshold is met; withdrawn again, it is not."""
    body = example_application(TODAY)
    body["incidents"] = body["incidents"][:3]  # 70 days ago, and two reports of the night 41 days ago
    ref = apply(client, body)
    assert CaseRecord.get(ref).pre_assessment["result"] == "not_met"
    token = police_token(outbox, ref)

    assert post_form(client, token, GOOD_RETURN).status_code == 201
    assessment = CaseRecord.get(ref).pre_assessment
    assert assessment["result"] == "met"
    assert "2026-11-30" in assessment["qualifying_occasions"]

    amended = dict(GOOD_RETURN, reports_held="no")
    amended = {k: v for k, v in amended.items() if not k.startswith("reports-0-")}
    assert post_form(client, token, amended).status_code == 201
    assert CaseRecord.get(ref).pre_assessment["result"] == "not_met"
    versions = sorted(r.version for r in PartnerReturnRecord.query(ref))
    assert versions == [1, 2]
    assert [e.action for e in AuditEvent.query(ref)][-2:] == ["partner_return", "partner_return_amended"]


def test_the_same_answers_twice_make_one_version(client, outbox):
    ref = apply(client)
    token = police_token(outbox, ref)
    assert post_form(client, token, GOOD_RETURN).status_code == 201
    assert post_form(client, token, GOOD_RETURN).status_code == 200
    assert count_returns() == 1


def test_the_form_shows_the_partners_own_previous_answers_only(client, outbox):
    ref = apply(client)
    links = partner_links(outbox, ref)
    requests = {r.partner_kind: r for r in PartnerRequestRecord.query(ref)}
    post_form(client, links[requests["police"].email], GOOD_RETURN)
    own = client.http.get(f"/partner/{links[requests['police'].email]}").body.decode()
    other = client.http.get(f"/partner/{links[requests['council'].email]}").body.decode()
    assert "DC-5001" in own
    assert "DC-5001" not in other and "Occupant of flat 3" not in other


def test_spoc_is_told_once_when_every_return_is_in(client, outbox):
    ref = apply(client)
    spoc = "communitytrigger@derbyshire.example"
    for token in partner_links(outbox, ref).values():
        assert post_form(client, token, GOOD_RETURN).status_code == 201
    complete = [m for m in outbox(spoc) if "returns" in m.subject.lower()]
    assert len(complete) == 1
    assert ref in complete[0].body and "met" in complete[0].body.lower()
    post_form(client, police_token(outbox, ref), dict(GOOD_RETURN, **{"reports-0-reference": "DC-5002"}))
    assert len([m for m in outbox(spoc) if "returns" in m.subject.lower()]) == 1


# ---------------------------------------------------------------- link security: every refusal is a 4xx and stores nothing




@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_token_is_refused(client, outbox, method):
    ref = apply(client)
    token = police_token(outbox, ref)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.http.get(f"/partner/{tampered}") if method == "GET" else post_form(client, tampered, GOOD_RETURN)
    assert response.status_code == 404
    assert "This link does not work" in response.body.decode()
    assert count_returns() == 0


def test_a_token_signed_with_another_secret_is_refused(client, outbox):
    ref = apply(client)
    request = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    other = LinkSigner(b"another-secret-another-secret-another-secret")
    token = other.token(ref, request.request_id, date.fromisoformat(request.expires_on), request.nonce)
    assert post_form(client, token, GOOD_RETURN).status_code == 404
    assert count_returns() == 0


def test_an_unknown_request_is_refused(client, outbox, signer):
    ref = apply(client)
    token = signer.token(ref, "P99", date(2027, 1, 21), "whatever")
    assert client.http.get(f"/partner/{token}").status_code == 404
    assert post_form(client, token, GOOD_RETURN).status_code == 404
    assert count_returns() == 0


def test_a_valid_token_cannot_be_used_against_another_request(client, outbox, signer):
    """Correctly signed, but the link issued for P01 re-pointed at P02 was never issued for P02."""
    ref = apply(client)
    first, second = sorted((r for r in PartnerRequestRecord.query(ref) if r.email), key=lambda r: r.request_id)[:2]
    token = signer.token(ref, second.request_id, date.fromisoformat(second.expires_on), first.nonce)
    response = post_form(client, token, GOOD_RETURN)
    assert response.status_code == 404
    other_case = apply(client)
    cross = signer.token(other_case, first.request_id, date.fromisoformat(first.expires_on), first.nonce)
    assert post_form(client, cross, GOOD_RETURN).status_code == 404
    assert count_returns() == 0


def test_an_expired_link_is_refused(client, outbox, clock):
    ref = apply(client)
    token = police_token(outbox, ref)
    request = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    # Due 7 January; the link lasts 10 more working days, to 21 January 2027.
    assert request.expires_on == "2027-01-21"
    clock.set("2027-01-21T17:00:00+00:00")
    assert client.http.get(f"/partner/{token}").status_code == 200
    clock.set("2027-01-22T09:00:00+00:00")
    response = post_form(client, token, GOOD_RETURN)
    assert response.status_code == 410 and "expired" in response.body.decode()
    assert client.http.post(f"/partner/{token}", headers=JSON, body="{}").status_code == 410
    assert count_returns() == 0


def test_a_revoked_link_is_refused(client, outbox, partners):
    ref = apply(client)
    token = police_token(outbox, ref)
    request = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    partners.repo.revoke_link(request)
    response = post_form(client, token, GOOD_RETURN)
    assert response.status_code == 410 and "This link has been cancelled" in response.body.decode()
    assert count_returns() == 0


def test_a_closed_assessment_takes_no_more_returns(client, outbox):
    ref = apply(client)
    token = police_token(outbox, ref)
    case = CaseRecord.get(ref)
    case.update(actions=[CaseRecord.assessment_closed.set(True)])
    response = post_form(client, token, GOOD_RETURN)
    assert response.status_code == 409 and "closed" in response.body.decode()
    assert count_returns() == 0


def test_stylesheet_is_served(client):
    response = client.http.get("/assets/partner.css")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/css")


# ---------------------------------------------------------------- the several-complainants rule across applications


def test_several_people_reporting_the_same_place_count_across_applications(client):
    """Dacorum: three individuals separately reporting similar ASB in six months."""
    people = ["Ann Brown", "Bo Chen", "Cal Davies"]
    results = []
    for n, person in enumerate(people):
        body = example_application(TODAY, area="dacorum")
        body["victim"]["name"] = person
        body["victim"]["address"] = {"line1": f"{n + 1} Elm Road", "town": "Hemel Hempstead", "postcode": "HP1 1AA"}
        body["asb_location"] = {"description": "The flats at Elm Road", "postcode": "HP1 1AA"}
        body["incidents"] = [dict(body["incidents"][1], reported_by=person)]  # one report each
        ref = apply(client, body)
        rules = {r["rule"]: r for r in CaseRecord.get(ref).pre_assessment["rules"]}
        results.append(rules["separate_complainants"]["outcome"])
    assert results == ["fail", "fail", "pass"]
