"""The published statutory counts: public, read-only, one read per area-year, always in step
with the cases (reconciled against the audit trail after a randomized workload)."""
from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone

from pynamodb.connection.base import Connection

from chalicelib.openapi import example_application
from chalicelib.reconcile import reconcile

TODAY = date(2026, 12, 21)
JSON = {"Content-Type": "application/json"}


def apply(client, area="derbyshire", on=TODAY) -> str:
    response = client.http.post("/applications", headers=JSON, body=json.dumps(example_application(on, area=area)))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def stats(client, query: str) -> dict:
    response = client.http.get(f"/stats?{query}")
    assert response.status_code == 200, response.body
    return response.json_body


def year_counts(data: dict, year: int) -> dict:
    return next(y["counts"] for y in data["years"] if y["year"] == year)


def test_an_area_with_no_activity_shows_zeros_for_the_current_year(client):
    data = stats(client, "area=hart")
    assert data["area"] == "hart" and data["reporting_year"]["basis"] == "financial"
    assert [y["label"] for y in data["years"]] == ["2026 to 2027"]
    assert set(data["years"][0]["counts"].values()) == {0}
    assert list(data["labels"]) == ["applications", "agency_reviews_started", "threshold_not_met", "reviews_carried_out",
                                    "reviews_with_recommendations", "appeals_received", "appeals_upheld"]


def test_counts_follow_the_process_in_the_year_of_each_step(client, token, clock):
    spoc, appeals = token("spoc", "derbyshire"), token("appeals", "derbyshire")
    headers = {**JSON, "Authorization": spoc}
    not_met, met = apply(client), apply(client)
    client.http.post(f"/cases/{not_met}/threshold-decision", headers=headers,
                     body=json.dumps({"decision": "not_met", "reasons": "Too few."}))
    meeting = {"date": "2027-01-20", "time": "10:00", "online": True, "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}
    client.http.post(f"/cases/{met}/threshold-decision", headers=headers,
                     body=json.dumps({"decision": "met", "reasons": "Met.", "meeting": meeting}))
    clock.set("2027-04-01T09:00:00+00:00")  # the outcome falls in the next financial year
    client.http.post(f"/cases/{met}/outcome", headers=headers, body=json.dumps({
        "held_on": "2027-03-31", "findings": "f", "recommendations": ["Joint visit"]}))
    client.http.post(f"/cases/{met}/appeal", headers={**JSON, "Authorization": appeals}, body=json.dumps(
        {"against": "review_outcome", "lodged_on": "2027-04-01", "grounds": "g"}))
    client.http.post(f"/cases/{met}/appeal-decision", headers={**JSON, "Authorization": appeals},
                     body=json.dumps({"upheld": True, "reasons": "r"}))
    data = stats(client, "area=derbyshire")
    assert [y["year"] for y in data["years"]] == [2027, 2026]
    assert year_counts(data, 2026) == {"applications": 2, "agency_reviews_started": 0, "threshold_not_met": 1, "reviews_carried_out": 0,
                                       "reviews_with_recommendations": 0, "appeals_received": 0, "appeals_upheld": 0}
    assert year_counts(data, 2027) == {"applications": 0, "agency_reviews_started": 0, "threshold_not_met": 0, "reviews_carried_out": 1,
                                       "reviews_with_recommendations": 1, "appeals_received": 1, "appeals_upheld": 1}
    assert stats(client, "area=derbyshire&year=2026")["years"][0]["counts"] == year_counts(data, 2026)


def test_csv_has_a_header_and_one_row_per_area_and_year(client):
    apply(client)
    response = client.http.get("/stats.csv?area=derbyshire")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert rows == [{"area": "derbyshire", "year": "2026 to 2027", "year_from": "2026-04-01", "year_to": "2027-03-31",
                     "applications": "1", "agency_reviews_started": "0", "threshold_not_met": "0", "reviews_carried_out": "0",
                     "reviews_with_recommendations": "0", "appeals_received": "0", "appeals_upheld": "0"}]


def test_public_cached_and_revalidated_with_an_etag(client):
    apply(client)
    first = client.http.get("/stats?area=derbyshire", headers={"Origin": "https://www.example-council.gov.uk"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = client.http.get("/stats?area=derbyshire", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    apply(client)  # a count moves: the ETag changes
    changed = client.http.get("/stats?area=derbyshire", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_bad_queries_get_clear_errors(client):
    assert client.http.get("/stats?area=atlantis").status_code == 404
    assert client.http.get("/stats?area=hart&year=26").status_code == 400
    assert client.http.get("/stats?area=hart&year=twenty").json_body["errors"][0]["field"] == "year"
    assert client.http.get("/stats").json_body["errors"][0]["field"] == "area"


def test_no_personal_data_in_any_published_form(client):
    apply(client)
    for path in ("/stats?area=derbyshire", "/stats.csv?area=derbyshire", "/stats/fragment.html?area=derbyshire"):
        body = client.http.get(path).body.decode()
        for secret in ("Sam Taylor", "Elm Road", "DE4", "CT-"):
            assert secret not in body


def test_fragment_is_an_accessible_table(client):
    apply(client)
    response = client.http.get("/stats/fragment.html?area=derbyshire")
    page = response.body.decode()
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    assert "<script" not in page and "style=" not in page


def test_widget_script_is_served(client):
    response = client.http.get("/stats/widget.js")
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "attachShadow" in response.body.decode() and "innerHTML" not in response.body.decode()


def test_an_appeals_body_view_sums_every_area_it_covers(wired):
    from chalicelib.published import PublishedStats
    from chalicelib.domain.stats import slug

    derbyshire = wired.policies()["derbyshire"]
    city = derbyshire.model_copy(update={"area": derbyshire.area.model_copy(update={"id": "derby-city"})})
    service = PublishedStats({"derbyshire": derbyshire, "derby-city": city}, clock=lambda: datetime(2026, 12, 21, tzinfo=timezone.utc))
    from chalicelib.adapters.tables import StatsRecord

    StatsRecord("derbyshire", 2026, applications=3, threshold_not_met=1).save()
    StatsRecord("derby-city", 2026, applications=2, appeals_received=1).save()
    data = service.read(service.areas_for(None, slug(derbyshire.appeals.body)), None)
    assert data["areas"] == ["derby-city", "derbyshire"]
    assert data["years"][0]["counts"]["applications"] == 5
    assert data["years"][0]["counts"]["appeals_received"] == 1


def test_serving_an_area_year_is_one_read_whatever_the_number_of_cases(client, monkeypatch):
    calls: Counter[str] = Counter()
    real = Connection._make_api_call

    def counting(self, name, kwargs, *a, **k):
        calls[name] += 1
        return real(self, name, kwargs, *a, **k)

    apply(client)
    monkeypatch.setattr(Connection, "_make_api_call", counting)
    client.http.get("/stats?area=derbyshire&year=2026")
    few = dict(calls)
    monkeypatch.setattr(Connection, "_make_api_call", real)
    for _ in range(40):
        apply(client)
    calls.clear()
    monkeypatch.setattr(Connection, "_make_api_call", counting)
    data = stats(client, "area=derbyshire&year=2026")
    assert data["years"][0]["counts"]["applications"] == 41
    assert dict(calls) == few == {"GetItem": 1}


def test_a_randomized_workload_reconciles_with_no_difference(client, token, clock, wired):
    """Random applications, decisions, outcomes and appeals across two reporting years and three
    areas; then the counters are recounted from the audit trails."""
    rng = random.Random(20261221)
    areas = ["derbyshire", "hart", "folkestone-hythe"]  # folkestone-hythe reports by calendar year
    staff = {a: token("spoc", a) for a in areas}
    appeals = {a: token("appeals", a) for a in areas}
    meeting = {"date": "2027-12-01", "time": "10:00", "online": True, "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}
    start = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    cases: list[tuple[str, str]] = []
    for step in range(45):
        now = start + timedelta(days=step * 11 + rng.randint(0, 5), hours=rng.randint(0, 8))
        clock.now = now
        action = rng.random()
        if action < 0.5 or not cases:
            area = rng.choice(areas)
            cases.append((apply(client, area=area, on=now.date()), area))
            continue
        ref, area = rng.choice(cases)
        h = {**JSON, "Authorization": staff[area]}
        ha = {**JSON, "Authorization": appeals[area]}
        choice = rng.choice(["decide", "outcome", "appeal", "appeal-decision"])
        if choice == "decide":
            decision = rng.choice([{"decision": "not_met", "reasons": "r"}, {"decision": "met", "reasons": "r", "meeting": meeting}])
            client.http.post(f"/cases/{ref}/threshold-decision", headers=h, body=json.dumps(decision))
        elif choice == "outcome":
            client.http.post(f"/cases/{ref}/outcome", headers=h, body=json.dumps(
                {"held_on": now.date().isoformat(), "findings": "f",
                 "recommendations": ["r"] if rng.random() < 0.5 else []}))
        elif choice == "appeal":
            against = "threshold_decision" if rng.random() < 0.5 else "review_outcome"
            client.http.post(f"/cases/{ref}/appeal", headers=ha, body=json.dumps(
                {"against": against, "lodged_on": now.date().isoformat(), "grounds": "g"}))
        else:
            client.http.post(f"/cases/{ref}/appeal-decision", headers=ha,
                             body=json.dumps({"upheld": rng.random() < 0.5, "reasons": "r"}))
    assert reconcile(wired.policies().values()) == []
    totals = Counter()
    for area in areas:
        for year in stats(client, f"area={area}")["years"]:
            totals.update(year["counts"])
    assert totals["applications"] == len(cases)
    assert totals["threshold_not_met"] + totals["reviews_carried_out"] > 0  # the workload did move things


def test_reconciliation_finds_a_counter_that_drifted(client, wired):
    from chalicelib.adapters.tables import StatsRecord

    apply(client)
    item = StatsRecord.get("derbyshire", 2026)
    item.update(actions=[StatsRecord.applications.add(1)])
    [difference] = reconcile(wired.policies().values())
    assert (difference.area, difference.year, difference.count, difference.counted, difference.recounted) == (
        "derbyshire", 2026, "applications", 2, 1)
