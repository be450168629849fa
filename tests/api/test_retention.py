"""Retention: a case is deleted with all its data once the area's retention period after its
latest ending has passed (DynamoDB's TTL, played by aws_stand_in.expire_cases at the test's clock),
unless staff have placed a legal hold; the published counts are kept."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from urllib.parse import urlencode

import pytest

from aws_stand_in import expire_cases
from chalicelib.adapters.tables import (AuditEvent, CaseRecord, CaseViewRecord, EqualitiesRecord,
                                        LetterRecord, NoticeRecord, PartnerRequestRecord, PartnerReturnRecord,
                                        SearchTermRecord, StatsRecord)
from chalicelib.openapi import example_application, example_return_form

TODAY = date(2026, 12, 21)
MEETING_TODAY = {"date": "2026-12-21", "time": "10:00", "place": "Matlock Town Hall", "online": True,
                 "chair": "Head of Community Safety", "agencies": ["Police", "Council", "Housing"],
                 "victim_invited": True}
# The tables a case's data lives in, beside the case (keyed by its reference); search terms apart.
CASE_DATA = (AuditEvent, LetterRecord, EqualitiesRecord, PartnerRequestRecord, PartnerReturnRecord, NoticeRecord,
             CaseViewRecord)


def call(client, method, path, auth=None, body=None):
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    return getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(body) if body is not None else None)


def apply(client) -> str:
    r = client.http.post("/applications", headers={"Content-Type": "application/json"},
                         body=json.dumps(example_application(TODAY)))
    assert r.status_code == 201, r.body
    return r.json_body["reference"]


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def kept(ref: str) -> dict[str, int]:
    """How many items each table holds of the case."""
    out = {m.__name__: sum(1 for _ in m.query(ref)) for m in CASE_DATA}
    out["CaseRecord"] = sum(1 for _ in CaseRecord.query(ref))
    out["SearchTermRecord"] = sum(1 for t in SearchTermRecord.scan() if t.ref == ref)
    return out


@pytest.fixture
def spoc(token):
    return token("spoc", "derbyshire")


@pytest.fixture
def appeals(token):
    return token("appeals", "derbyshire", name="Alex Appeals")


def partner_return(client, outbox, ref):
    import re

    link = re.compile(r"/partner/([A-Za-z0-9_.\-]+)")
    police = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
    token = next(link.search(m.body).group(1) for m in outbox(police.email) if link.search(m.body))
    r = client.http.post(f"/partner/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=urlencode(example_return_form(TODAY)))
    assert r.status_code in (200, 201, 303), r.body


def closed_case(client, spoc, outbox) -> str:
    """A case with data in every table: a partner's return, views, notices (a sweep), then closed
    after a review with no further action (an outcome open to appeal for the area's window)."""
    ref = apply(client)
    partner_return(client, outbox, ref)
    assert call(client, "GET", f"/cases/{ref}", spoc).status_code == 200
    call(client, "POST", f"/cases/{ref}/notes", spoc, {"text": "Rang the victim."})
    client.lambda_.invoke("deadline_sweep", {"version": "0", "id": "t", "detail-type": "Scheduled Event",
                                             "source": "aws.events", "account": "1", "time": "2027-01-20T09:00:00Z",
                                             "region": "eu-west-2", "resources": [], "detail": {}})
    r = call(client, "POST", f"/cases/{ref}/threshold-decision", spoc,
             {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY})
    assert r.status_code == 200, r.body
    r = call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "Handled apart."})
    assert r.json_body["status"] == "closed", r.body
    return ref


def test_a_closed_case_is_gone_after_its_retention_period_and_its_published_counts_are_not(client, spoc, outbox):
    ref = closed_case(client, spoc, outbox)
    other = apply(client)  # an open case of the same area: untouched
    case = CaseRecord.get(ref)
    detail = call(client, "GET", f"/cases/{ref}", spoc).json_body
    # Derbyshire keeps cases 6 years from the last day the outcome could be appealed.
    window = date.fromisoformat(case.appeal_window_closes)
    deletes_on = date.fromordinal(date(window.year + 6, window.month, window.day).toordinal() + 1)
    assert detail["retention"] == {"deletes_on": deletes_on.isoformat(), "legal_hold": None, "years": 6}
    assert case.expires_at is not None
    before = kept(ref)
    assert all(before.values()), before  # something of the case in every table
    stats = client.http.get("/stats?area=derbyshire").json_body
    stats_items = [s.attribute_values for s in StatsRecord.scan()]

    assert expire_cases(at(date.fromordinal(deletes_on.toordinal() - 1).isoformat())) == []  # the day before
    assert kept(ref) == before

    assert expire_cases(at(deletes_on.isoformat())) == [ref]
    assert set(kept(ref).values()) == {0}, kept(ref)
    assert client.http.get("/stats?area=derbyshire").json_body == stats
    assert [s.attribute_values for s in StatsRecord.scan()] == stats_items
    assert call(client, "GET", f"/cases/{ref}", spoc).status_code == 404
    assert kept(other)["CaseRecord"] == 1 and kept(other)["AuditEvent"] >= 1


def test_deleting_again_is_harmless_and_other_removals_are_ignored(client, spoc, wired):
    from chalicelib.retention import TTL_IDENTITY
    from chalicelib.routes.retention import case_retention

    ref = apply(client)
    r = call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "applicant_request", "note": "By email."})
    assert r.status_code == 200, r.body
    image = CaseRecord.get(ref).serialize()
    record = {"eventName": "REMOVE", "dynamodb": {"OldImage": image, "SequenceNumber": "1"}}
    assert case_retention({"Records": [record]}, None) == {"batchItemFailures": []}
    assert kept(ref)["AuditEvent"] == 2  # a delete not made by TTL: nothing else is deleted
    for _ in range(2):  # the stream may deliver a record twice
        assert case_retention({"Records": [{**record, "userIdentity": TTL_IDENTITY}]}, None) == {"batchItemFailures": []}
    assert {k: v for k, v in kept(ref).items() if k != "CaseRecord"} == {k: 0 for k in kept(ref) if k != "CaseRecord"}


@pytest.mark.parametrize("ending, body, years_from", [
    ("withdraw", {"reason": "applicant_request", "note": "By email."}, "2026-12-21"),
    # A rejection can be appealed: kept from the window's last day.
    ("reject", {"reason": "vexatious", "note": "Fourth identical application."}, "window"),
])
def test_withdrawn_and_rejected_cases_expire_too(client, spoc, ending, body, years_from):
    ref = apply(client)
    assert call(client, "POST", f"/cases/{ref}/{ending}", spoc, body).status_code == 200
    case = CaseRecord.get(ref)
    start = date.fromisoformat(case.appeal_window_closes if years_from == "window" else years_from)
    deletes_on = date.fromordinal(date(start.year + 6, start.month, start.day).toordinal() + 1)
    assert case.expires_at == datetime(deletes_on.year, deletes_on.month, deletes_on.day, tzinfo=timezone.utc)
    assert expire_cases(at(deletes_on.isoformat())) == [ref]


def test_an_appeal_stops_the_clock_and_a_decision_not_upheld_restarts_it(client, spoc, appeals, clock):
    ref = apply(client)
    assert call(client, "POST", f"/cases/{ref}/reject", spoc,
                {"reason": "vexatious", "note": "Fourth identical application."}).status_code == 200
    clock.set("2027-01-05T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/appeal", appeals,
             {"against": "rejection", "lodged_on": "2027-01-05", "grounds": "It is not vexatious."})
    assert r.status_code == 200, r.body
    assert CaseRecord.get(ref).expires_at is None
    assert expire_cases(at("2040-01-01")) == []  # mid-appeal, however long it takes
    clock.set("2027-02-01T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/appeal-decision", appeals, {"upheld": False, "reasons": "Vexatious."})
    assert r.status_code == 200, r.body
    assert CaseRecord.get(ref).expires_at == datetime(2033, 2, 2, tzinfo=timezone.utc)
    assert call(client, "GET", f"/cases/{ref}", spoc).json_body["retention"]["deletes_on"] == "2033-02-02"


def test_an_upheld_appeal_reopens_the_case_and_clears_its_deletion_date(client, spoc, appeals, clock):
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/reject", spoc, {"reason": "vexatious", "note": "Fourth identical application."})
    assert CaseRecord.get(ref).expires_at is not None
    call(client, "POST", f"/cases/{ref}/appeal", appeals,
         {"against": "rejection", "lodged_on": "2026-12-21", "grounds": "It is not vexatious."})
    r = call(client, "POST", f"/cases/{ref}/appeal-decision", appeals, {"upheld": True, "reasons": "Not vexatious."})
    assert r.json_body["status"] == "acknowledged", r.body
    assert CaseRecord.get(ref).expires_at is None
    assert expire_cases(at("2040-01-01")) == []


def test_a_legal_hold_keeps_the_case_until_it_is_lifted(client, spoc, token, clock):
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "applicant_request", "note": "By email."})
    assert call(client, "POST", f"/cases/{ref}/legal-hold", token("appeals", "derbyshire", name="Alex Appeals"),
                {"reason": "A claim."}).status_code == 403
    assert call(client, "POST", f"/cases/{ref}/legal-hold", token("spoc", "hart"), {"reason": "A claim."}).status_code == 403
    clock.set("2030-06-01T10:00:00+00:00")
    r = call(client, "POST", f"/cases/{ref}/legal-hold", spoc, {"reason": "A claim has been issued."})
    assert r.status_code == 200, r.body
    assert call(client, "POST", f"/cases/{ref}/legal-hold", spoc, {"reason": "Again."}).status_code == 409
    assert CaseRecord.get(ref).expires_at is None
    detail = call(client, "GET", f"/cases/{ref}", spoc).json_body
    assert detail["retention"]["deletes_on"] is None
    assert detail["retention"]["legal_hold"] == {"since": "2030-06-01", "by": "Pat SPOC (user-pat)",
                                                 "reason": "A claim has been issued."}
    assert [e["action"] for e in detail["timeline"]][-1] == "place_legal_hold"
    assert expire_cases(at("2040-01-01")) == []
    assert kept(ref)["CaseRecord"] == 1

    clock.set("2041-03-01T10:00:00+00:00")
    admin = token("admin", "derbyshire", name="Ada Admin")
    r = call(client, "POST", f"/cases/{ref}/legal-hold/lift", admin, {"reason": "The claim was settled."})
    assert r.status_code == 200, r.body
    assert call(client, "POST", f"/cases/{ref}/legal-hold/lift", admin, {"reason": "Again."}).status_code == 409
    # The date had passed while it was held: deleted at TTL's next pass.
    assert CaseRecord.get(ref).expires_at == datetime(2032, 12, 22, tzinfo=timezone.utc)
    assert expire_cases(at("2041-03-01")) == [ref]
    assert set(kept(ref).values()) == {0}


def test_an_open_case_never_expires(client, spoc):
    ref = apply(client)
    call(client, "POST", f"/cases/{ref}/notes", spoc, {"text": "Rang the victim."})
    assert CaseRecord.get(ref).expires_at is None
    assert expire_cases(at("2060-01-01")) == []


def test_the_case_page_says_when_the_case_is_deleted_and_the_spoc_can_hold_it(client, spoc, console_as, clock):
    ref = apply(client)
    spoc_page = console_as("spoc", "derbyshire")
    page = spoc_page.get(f"/console/cases/{ref}").body.decode()
    assert "Kept while the case is open or an appeal is under way" in page
    call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "applicant_request", "note": "By email."})
    page = spoc_page.get(f"/console/cases/{ref}").body.decode()
    assert "Deleted on Wednesday 22 December 2032 unless held" in page and "Place a legal hold" in page
    appeals_page = console_as("appeals", "derbyshire", name="Alex Appeals").get(f"/console/cases/{ref}").body.decode()
    assert "Deleted on Wednesday 22 December 2032 unless held" in appeals_page and "Place a legal hold" not in appeals_page

    r = spoc_page.post(f"/console/cases/{ref}/legal-hold", {"action": "place", "reason": ""})
    assert r.status_code == 422 and "hold-reason" in r.body.decode()
    r = spoc_page.post(f"/console/cases/{ref}/legal-hold", {"action": "place", "reason": "An Ombudsman complaint."})
    assert r.status_code == 303, r.body
    page = spoc_page.get(f"/console/cases/{ref}?done=hold").body.decode()
    assert "Legal hold since Monday 21 December 2026 (An Ombudsman complaint.)" in page and "Lift the legal hold" in page
    assert "Legal hold placed" in page  # in the timeline
    assert CaseRecord.get(ref).expires_at is None
    r = spoc_page.post(f"/console/cases/{ref}/legal-hold", {"action": "lift", "reason": "Decided."})
    assert r.status_code == 303, r.body
    assert "Deleted on Wednesday 22 December 2032 unless held" in spoc_page.get(f"/console/cases/{ref}").body.decode()


def test_the_backfill_gives_cases_that_ended_before_retention_existed_their_deletion_time(client, spoc):
    """Cases ended before the steps set expires_at would otherwise be kept for ever: `make backfill`
    sets it from the area's policy, and clears one that should not be there (a held case)."""
    from chalicelib import wiring
    from chalicelib.case_index import backfill

    ended, held, still_open = apply(client), apply(client), apply(client)
    for ref in (ended, held):
        r = call(client, "POST", f"/cases/{ref}/withdraw", spoc, {"reason": "victim_unreachable", "note": "No answer."})
        assert r.status_code == 200, r.body
    assert call(client, "POST", f"/cases/{held}/legal-hold", spoc, {"reason": "A claim has been issued."}).status_code == 200
    expected = CaseRecord.get(ended).expires_at
    assert expected is not None and CaseRecord.get(held).expires_at is None
    # As stored before this change: no deletion time on the ended case; a stale one on the held case.
    connection = CaseRecord._get_connection()  # noqa: SLF001
    connection.update_item(ended, actions=[CaseRecord.expires_at.remove()])
    connection.update_item(held, actions=[CaseRecord.expires_at.set(expected)])

    report = backfill(wiring.policies())
    assert report.expiries == 2
    assert CaseRecord.get(ended).expires_at == expected
    assert CaseRecord.get(held).expires_at is None and CaseRecord.get(still_open).expires_at is None
    assert backfill(wiring.policies()).expiries == 0  # idempotent
    assert expire_cases(expected) == [ended]
