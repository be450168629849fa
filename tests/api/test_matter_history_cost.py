"""Intake's cost does not grow with history: the several-complainants look-up reads only the
applications about the same matter inside the look-back window, through an index that carries
what the rule needs, page by page, and stops once enough people are known. The latest outcome
letter about the matter is one read of a sparse index, newest first."""
from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date, timedelta

import pytest
from pynamodb.connection.base import Connection

from chalicelib.adapters.repository import CaseRepository
from chalicelib.adapters.tables import CaseRecord
from chalicelib.domain.partners import matter_key
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)
AREA, POSTCODE = "dacorum", "HP1 1AA"  # Dacorum: three people separately reporting is a route
MATTER = matter_key(AREA, POSTCODE)
READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
STATUSES = ("acknowledged", "threshold_not_met", "review_pending", "monitoring", "closed", "withdrawn", "rejected")


def application(person: str, received: date, n: int = 0, complained: date | None = None) -> dict:
    """The stored shape of a one-report application by `person` about the flats at Elm Road: a
    qualifying complaint made 40 days before it was received, or on `complained`."""
    body = example_application(received, area=AREA)
    body.pop("equalities")
    body["victim"]["name"] = person
    body["victim"]["address"] = {"line1": f"{n % 40 + 1} Elm Road", "town": "Hemel Hempstead", "postcode": POSTCODE}
    body["asb_location"] = {"description": "The flats at Elm Road", "postcode": POSTCODE}
    body["incidents"] = [dict(body["incidents"][1], reported_by=person)]
    if complained is not None:
        body["incidents"][0].update(happened_on=(complained - timedelta(days=1)).isoformat(),
                                    reported_on=complained.isoformat())
    return body


def earlier_case(n: int, person: str, received: date, *, outcome_sent_on: date | None = None,
                 complained: date | None = None, status: str | None = None) -> CaseRecord:
    """An earlier application about the same place, as intake (and the outcome step) store it."""
    from chalicelib.domain.policy import Threshold
    from chalicelib.domain.threshold import assess
    from chalicelib.partner_returns import complainant_ids, reports_from_application

    stored = application(person, received, n, complained)
    assessment = assess(reports_from_application(stored), received, Threshold(separate_complainants_needed=3))
    case = CaseRecord(
        f"CT-M{n:04d}-{n % 7}{n % 9}", area=AREA, status=status or STATUSES[n % len(STATUSES)], basis="victim",
        channel=("online", "phone", "paper")[n % 3], received_at=f"{received.isoformat()}T10:00:00.000Z",
        received_on=received.isoformat(), application=stored, pre_assessment={"result": "not_met"},
        deadlines={"threshold_decision": {"due": (received + timedelta(days=21)).isoformat(), "met_on": None}},
        matter=MATTER, complainants=complainant_ids(stored, MATTER, assessment) or None)
    if outcome_sent_on is not None:
        case.outcome = {"held_on": outcome_sent_on.isoformat(), "findings": "No further action.", "actions": [],
                        "recommendations": [], "not_recommended": [], "sent_on": outcome_sent_on.isoformat()}
        case.outcome_sent_on = outcome_sent_on.isoformat()
    return case


def fill(cases: list[CaseRecord]) -> None:
    with CaseRecord.batch_write() as batch:
        for case in cases:
            batch.save(case)


def history_in_window(n: int) -> list[CaseRecord]:
    """n earlier applications in the last five months, each by a different neighbour."""
    return [earlier_case(i, f"Neighbour {i}", TODAY - timedelta(days=1 + i * 150 // n)) for i in range(n)]


def apply(client, person: str = "Dee Evans") -> dict:
    body = application(person, TODAY, 999)
    response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return CaseRecord.get(response.json_body["reference"]).pre_assessment


def rule(assessment: dict, name: str) -> dict:
    return {r["rule"]: r for r in assessment["rules"]}[name]


@pytest.fixture
def reads(monkeypatch):
    """DynamoDB read calls made inside the matter look-up, and in the whole submission."""
    counts = {"lookup": Counter(), "all": Counter()}
    inside = []
    real_call = Connection._make_api_call
    real_history = CaseRepository.matter_history

    def counting(self, operation_name, operation_kwargs, *args, **kwargs):
        if operation_name in READS:
            counts["all"][operation_name] += 1
            if inside:
                counts["lookup"][operation_name] += 1
        return real_call(self, operation_name, operation_kwargs, *args, **kwargs)

    def history(self, *args, **kwargs):
        inside.append(True)
        try:
            return real_history(self, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    monkeypatch.setattr(CaseRepository, "matter_history", history)
    return counts


def test_the_look_up_reads_the_same_whatever_the_history(client, reads):
    fill(history_in_window(5))
    assessment = apply(client)
    few = {k: dict(v) for k, v in reads.items()}
    assert rule(assessment, "separate_complainants")["outcome"] == "pass"

    fill([earlier_case(i, f"Neighbour {i}", TODAY - timedelta(days=1 + i % 150)) for i in range(5, 500)])
    for counter in reads.values():
        counter.clear()
    started = time.perf_counter()
    assessment = apply(client, "Fay Green")
    elapsed = time.perf_counter() - started
    many = {k: dict(v) for k, v in reads.items()}
    print(f"\n5 earlier: {few}\n500 earlier: {many}, submission {elapsed:.2f}s")

    assert rule(assessment, "separate_complainants")["outcome"] == "pass"
    assert many == few  # the same calls, read for read, with 5 or with 500 earlier applications
    assert "GetItem" not in many["lookup"] and "Scan" not in many["lookup"]
    assert sum(many["lookup"].values()) <= 3  # a page of the window, the latest outcome letter


def test_the_look_up_stops_once_enough_people_are_known(aws):
    fill(history_in_window(500))
    since = (TODAY - timedelta(days=182)).isoformat()
    people, last_outcome = CaseRepository().matter_history(MATTER, None, since, enough=3)
    assert 3 <= len(set(people)) <= 40 and last_outcome is None


def test_one_person_in_many_applications_counts_once(client):
    fill([earlier_case(i, "Ann Brown" if i % 2 else " ann  BROWN ", TODAY - timedelta(days=1 + i)) for i in range(30)])
    assessment = apply(client, "Dee Evans")
    assert "2 people" in rule(assessment, "separate_complainants")["reason"]
    assert rule(assessment, "separate_complainants")["outcome"] == "fail"


def test_the_applicant_named_in_earlier_applications_is_one_person(client):
    """Stored identities are hashes; the applicant's own earlier application is still the same person."""
    fill([earlier_case(1, "Ann Brown", TODAY - timedelta(days=10)), earlier_case(2, "Dee Evans", TODAY - timedelta(days=20))])
    assessment = apply(client, "DEE  evans")
    assert "2 people" in rule(assessment, "separate_complainants")["reason"]


def test_only_complaints_inside_the_six_months_count(client):
    """The six months beginning with 22 June 2026 end on 21 December 2026: a complaint on 22 June
    counts for an application on 21 December, one on 21 June does not, even in an application
    received inside the window; applications received before it are not read at all."""
    first = date(2026, 6, 22)
    fill([earlier_case(1, "Ann Brown", date(2026, 7, 1), complained=first),
          earlier_case(2, "Bo Chen", date(2026, 7, 1), complained=first - timedelta(days=1)),
          earlier_case(3, "Cal Davies", date(2025, 3, 1))]
         + [earlier_case(10 + i, f"Old neighbour {i}", date(2025, 1, 1) + timedelta(days=i)) for i in range(40)])
    assessment = apply(client, "Dee Evans")
    assert rule(assessment, "separate_complainants") == {
        "rule": "separate_complainants", "outcome": "fail",
        "reason": "2 people separately made qualifying complaints about this behaviour between 2026-06-22 and "
                  "2026-12-21; 3 needed"}

    fill([earlier_case(4, "Bo Chen", TODAY - timedelta(days=3), complained=TODAY - timedelta(days=5))])
    assert rule(apply(client, "Dee Evans"), "separate_complainants")["outcome"] == "pass"


def test_rejected_and_withdrawn_applications_do_not_count(client):
    fill([earlier_case(1, "Ann Brown", TODAY - timedelta(days=5), status="rejected"),
          earlier_case(2, "Bo Chen", TODAY - timedelta(days=6), status="withdrawn"),
          earlier_case(3, "Cal Davies", TODAY - timedelta(days=7), status="threshold_not_met")])
    assessment = apply(client, "Dee Evans")
    assert rule(assessment, "separate_complainants")["outcome"] == "fail"
    assert "2 people" in rule(assessment, "separate_complainants")["reason"]

    fill([earlier_case(4, "Bo Chen", TODAY - timedelta(days=2), status="acknowledged")])
    assert rule(apply(client, "Dee Evans"), "separate_complainants")["outcome"] == "pass"


def test_entries_stored_without_a_date_are_not_counted(client):
    """Entries written before dates were kept ("<hash>" alone) cannot be placed in the window."""
    from chalicelib.partner_returns import person_id

    fill([earlier_case(1, "Ann Brown", TODAY - timedelta(days=5)), earlier_case(2, "Bo Chen", TODAY - timedelta(days=6))])
    legacy = CaseRecord.get("CT-M0002-22")
    legacy.complainants = {person_id(MATTER, "Bo Chen")}
    legacy.save()
    assessment = apply(client, "Dee Evans")
    assert "2 people" in rule(assessment, "separate_complainants")["reason"]


def test_the_latest_outcome_letter_restarts_the_count_among_many(client, reads):
    """An old application whose review's outcome letter went out 20 days ago, among 500 others."""
    sent = TODAY - timedelta(days=20)
    fill(history_in_window(500) + [
        earlier_case(600, "Ann Brown", date(2026, 3, 2), outcome_sent_on=sent),  # received before the window
        earlier_case(601, "Bo Chen", date(2026, 2, 2), outcome_sent_on=sent - timedelta(days=60))])
    body = application("Dee Evans", TODAY, 999)
    body["incidents"] = [dict(body["incidents"][0], happened_on=(TODAY - timedelta(days=31)).isoformat(),
                              reported_on=(TODAY - timedelta(days=30)).isoformat()),
                         dict(body["incidents"][0], happened_on=(TODAY - timedelta(days=11)).isoformat(),
                              reported_on=(TODAY - timedelta(days=10)).isoformat())]
    response = client.http.post("/applications", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    reports = CaseRecord.get(response.json_body["reference"]).pre_assessment["reports"]
    assert [r["counts"] for r in reports] == [False, True]
    assert f"previous case review about this matter ({sent.isoformat()})" in " ".join(reports[0]["reasons"])
    # Only applications received after the letter are read; their people, whose complaints the
    # letter set aside, cannot stop the look-up early, so it may read a few pages, never past the cap.
    assert sum(reads["lookup"].values()) <= 1 + CaseRepository.MATTER_MAX_READ // CaseRepository.MATTER_PAGE


def test_recording_the_outcome_indexes_its_letter_date(client, token):
    from tests.api.test_staff import MEETING_TODAY as MEETING, call  # a meeting held today

    spoc = token("spoc", "derbyshire")
    ref = client.http.post("/applications", headers={"Content-Type": "application/json"},
                           body=json.dumps(example_application(TODAY))).json_body["reference"]
    assert CaseRecord.get(ref).outcome_sent_on is None
    call(client, "POST", f"/cases/{ref}/threshold-decision", spoc, {"decision": "met", "reasons": "Met.", "meeting": MEETING})
    call(client, "POST", f"/cases/{ref}/outcome", spoc, {"held_on": "2026-12-21", "findings": "No further action."})
    case = CaseRecord.get(ref)
    assert case.outcome_sent_on == case.outcome["sent_on"] == TODAY.isoformat()
    keys = list(CaseRecord.by_matter_outcome.query(case.matter, scan_index_forward=False, limit=1))
    assert [k.ref for k in keys] == [ref]


def test_earlier_applications_stored_before_the_index_existed_are_unknown_people(client):
    """Migration: a case written without `complainants` is skipped, not a crash."""
    fill([earlier_case(1, "Ann Brown", TODAY - timedelta(days=5)), earlier_case(2, "Bo Chen", TODAY - timedelta(days=6))])
    legacy = CaseRecord.get("CT-M0002-22")
    legacy.complainants = None
    legacy.save()
    assessment = apply(client, "Dee Evans")
    assert "2 people" in rule(assessment, "separate_complainants")["reason"]
