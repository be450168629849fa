"""GET /stats/data-return.csv: the Home Office data return. Cases made and decided through the API
on different days; the CSV's counts, decisions and median working days come from one item per
area-year, and the reconciliation recounts them from the audit trails."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime, timezone

from pynamodb.connection.base import Connection

from chalicelib.adapters.tables import StatsRecord
from chalicelib.openapi import example_application, example_on_behalf
from chalicelib.reconcile import reconcile

JSON = {"Content-Type": "application/json"}
PATH = "/stats/data-return.csv"


def apply(client, body) -> str:
    response = client.http.post("/applications", headers=JSON, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


def post(client, path, auth, body) -> None:
    response = client.http.post(path, headers={**JSON, "Authorization": auth}, body=json.dumps(body))
    assert response.status_code == 200, (path, response.status_code, response.body[:300])


def data_return(client, query: str) -> list[dict[str, str]]:
    response = client.http.get(f"{PATH}?{query}")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.body.decode())))


def on_behalf(today):
    return {**example_on_behalf(today), "area": "derbyshire"}


def decided_cases(client, token, clock) -> dict[str, str]:
    """Four Derbyshire applications on Monday 21 December 2026, three decided over Christmas."""
    spoc = token("spoc", "derbyshire")
    today = clock().date()
    refs = {"not_met": apply(client, example_application(today)), "met": apply(client, example_application(today)),
            "third_party": apply(client, on_behalf(today)), "undecided": apply(client, example_application(today))}
    clock.set("2026-12-22T15:00:00+00:00")  # the next working day: 1
    post(client, f"/cases/{refs['not_met']}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    clock.set("2027-01-04T10:00:00+00:00")  # 22, 23, 24, 29, 30, 31 Dec, 4 Jan: 7
    post(client, f"/cases/{refs['met']}/threshold-decision", spoc, {"decision": "met", "reasons": "Met."})
    post(client, f"/cases/{refs['third_party']}/consent", spoc, {"received_on": "2027-01-04", "evidence": "written_consent"})
    clock.set("2027-01-11T16:30:00+00:00")  # from the consent on 4 Jan, not the receipt: 5
    post(client, f"/cases/{refs['third_party']}/threshold-decision", spoc, {
        "decision": "accepted_below_threshold", "reasons": "Vulnerable victim.", "senior_officer": "Head of Service"})
    return refs


def test_the_data_return_has_the_counts_the_decisions_and_their_median(client, token, clock, wired):
    decided_cases(client, token, clock)
    [row] = data_return(client, "area=derbyshire&year=2026")
    assert row == {"area": "derbyshire", "area_name": "Derbyshire", "year": "2026 to 2027", "year_from": "2026-04-01",
                   "year_to": "2027-03-31", "applications": "4", "agency_reviews_started": "0", "threshold_not_met": "1",
                   "reviews_carried_out": "0", "reviews_with_recommendations": "0", "appeals_received": "0",
                   "appeals_upheld": "0", "decisions_made": "3", "median_working_days_to_decision": "5"}
    assert sorted(StatsRecord.get("derbyshire", 2026).decision_working_days) == [1, 5, 7]
    assert reconcile(wired.policies().values()) == []


def test_a_year_with_no_decision_has_a_blank_median(client):
    apply(client, example_application(datetime(2026, 12, 21).date(), area="hart"))
    [row] = data_return(client, "area=hart")
    assert (row["applications"], row["decisions_made"], row["median_working_days_to_decision"]) == ("1", "0", "")
    assert row["area_name"] == "Hart"


def test_appeals_are_in_it_and_a_decision_made_again_after_an_upheld_appeal_is_not_timed(client, token, clock, wired):
    refs = decided_cases(client, token, clock)
    appeals, spoc = token("appeals", "derbyshire"), token("spoc", "derbyshire")
    post(client, f"/cases/{refs['not_met']}/appeal", appeals,
         {"against": "threshold_decision", "lodged_on": "2027-01-11", "grounds": "Reports were missed."})
    clock.set("2027-01-25T10:00:00+00:00")
    post(client, f"/cases/{refs['not_met']}/appeal-decision", appeals, {"upheld": True, "reasons": "Missed reports."})
    clock.set("2027-02-01T10:00:00+00:00")
    post(client, f"/cases/{refs['not_met']}/threshold-decision", spoc, {"decision": "met", "reasons": "Met on review."})
    [row] = data_return(client, "area=derbyshire&year=2026")
    assert (row["appeals_received"], row["appeals_upheld"]) == ("1", "1")
    assert (row["decisions_made"], row["median_working_days_to_decision"]) == ("3", "5")
    assert reconcile(wired.policies().values()) == []


def test_an_even_number_of_decisions_has_a_median_between_two_days(client, token, clock):
    spoc = token("spoc", "derbyshire")
    first, second = apply(client, example_application(clock().date())), apply(client, example_application(clock().date()))
    clock.set("2026-12-23T10:00:00+00:00")  # 2 working days
    post(client, f"/cases/{first}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    clock.set("2026-12-29T10:00:00+00:00")  # 22, 23, 24, 29 (25 and 28 December are bank holidays): 4
    post(client, f"/cases/{second}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    [row] = data_return(client, "area=derbyshire&year=2026")
    assert (row["decisions_made"], row["median_working_days_to_decision"]) == ("2", "3")
    clock.set("2027-03-29T10:00:00+00:00")  # read later (Easter Monday): stored, not worked out from today
    [again] = data_return(client, "area=derbyshire")
    assert again == row


def test_every_year_one_row_newest_first_and_a_decision_counts_in_its_own_year(client, token, clock):
    spoc = token("spoc", "derbyshire")
    clock.set("2027-03-31T10:00:00+00:00")  # the last day of the 2026 financial year
    ref = apply(client, example_application(clock().date()))
    clock.set("2027-04-01T10:00:00+00:00")
    post(client, f"/cases/{ref}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    rows = data_return(client, "area=derbyshire")
    assert [(r["year"], r["applications"], r["threshold_not_met"], r["decisions_made"],
             r["median_working_days_to_decision"]) for r in rows] == [
        ("2027 to 2028", "0", "1", "1", "1"), ("2026 to 2027", "1", "0", "0", "")]


def test_agency_started_reviews_are_published_everywhere_the_counts_are(client, clock):
    StatsRecord("derbyshire", 2026, applications=3, agency_reviews_started=2,
                updated_at="2026-12-21T10:00:00Z").save()
    label = "Case reviews started by an agency without an application"
    data = client.http.get("/stats?area=derbyshire&year=2026").json_body
    assert data["labels"]["agency_reviews_started"] == label
    assert data["years"][0]["counts"]["agency_reviews_started"] == 2
    [row] = list(csv.DictReader(io.StringIO(client.http.get("/stats.csv?area=derbyshire").body.decode())))
    assert (row["applications"], row["agency_reviews_started"]) == ("3", "2")
    [row] = data_return(client, "area=derbyshire")
    assert (row["applications"], row["agency_reviews_started"]) == ("3", "2")
    fragment = client.http.get("/stats/fragment.html?area=derbyshire").body.decode()
    assert f'<th scope="col">{label}</th>' in fragment


def test_public_cached_and_revalidated_like_the_other_counts(client, token, clock):
    apply(client, example_application(clock().date()))
    first = client.http.get(f"{PATH}?area=derbyshire", headers={"Origin": "https://www.example-council.gov.uk"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = client.http.get(f"{PATH}?area=derbyshire", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    clock.set("2026-12-22T10:00:00+00:00")
    ref = apply(client, example_application(clock().date()))
    post(client, f"/cases/{ref}/threshold-decision", token("spoc", "derbyshire"), {"decision": "met", "reasons": "Met."})
    changed = client.http.get(f"{PATH}?area=derbyshire", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_bad_queries_get_the_same_problems_as_the_other_counts(client):
    for query, status, field in [("area=atlantis", 404, "area"), ("area=hart&year=26", 400, "year"),
                                 ("area=hart&year=twenty", 400, "year"), ("", 400, "area"),
                                 ("appeals_body=nobody", 404, "appeals_body")]:
        ours, theirs = client.http.get(f"{PATH}?{query}"), client.http.get(f"/stats.csv?{query}")
        assert ours.status_code == theirs.status_code == status, query
        assert ours.headers["Content-Type"] == theirs.headers["Content-Type"] == "application/problem+json"
        assert json.loads(ours.body) == json.loads(theirs.body)
        assert json.loads(ours.body)["errors"][0]["field"] == field


def test_no_personal_data_in_the_return(client, token, clock):
    decided_cases(client, token, clock)
    body = client.http.get(f"{PATH}?area=derbyshire").body.decode()
    for secret in ("Sam Taylor", "Elm Road", "DE4", "CT-", "Vulnerable", "Too few"):
        assert secret not in body


def test_an_appeals_body_return_pools_the_decisions_of_every_area_it_covers(wired):
    from chalicelib.domain.stats import slug
    from chalicelib.published import PublishedStats

    derbyshire = wired.policies()["derbyshire"]
    city = derbyshire.model_copy(update={"area": derbyshire.area.model_copy(update={"id": "derby-city"})})
    service = PublishedStats({"derbyshire": derbyshire, "derby-city": city},
                             clock=lambda: datetime(2026, 12, 21, tzinfo=timezone.utc))
    StatsRecord("derbyshire", 2026, applications=3, decision_working_days=[2, 20]).save()
    StatsRecord("derby-city", 2026, applications=2, decision_working_days=[9]).save()
    body = slug(derbyshire.appeals.body)
    [row] = csv.DictReader(io.StringIO(PublishedStats.data_return(
        service.read(service.areas_for(None, body), 2026, decision_days=True))))
    assert (row["area"], row["area_name"]) == (body, derbyshire.appeals.body)
    assert (row["applications"], row["decisions_made"], row["median_working_days_to_decision"]) == ("5", "3", "9")


def test_the_return_for_an_area_year_is_one_read_whatever_the_number_of_cases(client, token, clock, monkeypatch):
    calls: Counter[str] = Counter()
    real = Connection._make_api_call

    def counting(self, name, kwargs, *a, **k):
        calls[name] += 1
        return real(self, name, kwargs, *a, **k)

    spoc = token("spoc", "derbyshire")
    refs = [apply(client, example_application(clock().date())) for _ in range(25)]
    post(client, f"/cases/{refs[0]}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    monkeypatch.setattr(Connection, "_make_api_call", counting)
    data_return(client, "area=derbyshire&year=2026")
    few = dict(calls)
    monkeypatch.setattr(Connection, "_make_api_call", real)
    clock.set("2026-12-23T10:00:00+00:00")
    for ref in refs[1:]:
        post(client, f"/cases/{ref}/threshold-decision", spoc, {"decision": "not_met", "reasons": "Too few."})
    calls.clear()
    monkeypatch.setattr(Connection, "_make_api_call", counting)
    [row] = data_return(client, "area=derbyshire&year=2026")
    assert (row["decisions_made"], row["median_working_days_to_decision"]) == ("25", "2")
    assert dict(calls) == few == {"GetItem": 1}


def test_reconciliation_finds_drifted_decision_days_and_agency_count(client, token, clock, wired):
    decided_cases(client, token, clock)
    item = StatsRecord.get("derbyshire", 2026)
    item.update(actions=[StatsRecord.decision_working_days.set(StatsRecord.decision_working_days.append([40])),
                         StatsRecord.agency_reviews_started.add(1)])
    found = {(d.area, d.year, d.count): (d.counted, d.recounted) for d in reconcile(wired.policies().values())}
    assert found == {("derbyshire", 2026, "agency_reviews_started"): (1, 0),
                     ("derbyshire", 2026, "decision_working_days"): ((1, 5, 7, 40), (1, 5, 7))}
