"""'My cases': the SPOC's list with names, overdue and due soon first, paged with a signed cursor;
search by reference, name or postcode through hashed terms, only in the person's areas; read cost
that grows with the page, never with the history; older cases shown before and after the backfill."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from pynamodb.connection.base import Connection

from chalicelib.adapters.tables import CaseRecord, SearchTermRecord
from chalicelib.case_index import READY, backfill
from chalicelib.openapi import example_application, example_on_behalf

LINK_SECRET = "test-secret-for-partner-links-0123456789abcdef"  # as tests/api/conftest.py puts in the parameter store

TODAY = date(2026, 12, 21)
MEETING_TODAY = {"date": "2026-12-21", "time": "14:00", "place": "Matlock Town Hall", "online": False,
                 "chair": "Head of Community Safety, High Peak",
                 "agencies": ["Derbyshire Constabulary", "District council", "Peak Homes Housing Association"],
                 "victim_invited": True}


def call(client, method, path, auth=None, body=None):
    h = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    return getattr(client.http, method.lower())(path, headers=h, body=json.dumps(body) if body is not None else None)


@pytest.fixture
def ready(wired):
    """The store as after `make backfill` on a new stack: every area reads the case-list index."""
    backfill(wired.policies(), LINK_SECRET.encode())


def submit(intake, clock, at: str, body=None, **changes) -> str:
    clock.set(at)
    body = body or example_application(date.fromisoformat(at[:10]))
    for path, value in changes.items():
        target = body
        *parents, last = path.split("__")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    return intake.submit(body, idempotency_header=None).case.ref


def set_due(ref: str, name: str, due: str) -> None:
    """A deadline on the stored case, as a step would leave it (the list keys follow the save)."""
    case = CaseRecord.get(ref)
    case.deadlines = {**case.deadlines, name: {"due": due, "met_on": None}}
    case.save()


def listed(client, auth, query="") -> dict:
    response = call(client, "GET", f"/cases{query}", auth)
    assert response.status_code == 200, response.body
    return response.json_body


# ---------------------------------------------------------------- what a row shows


def test_rows_show_the_names_and_never_an_address_or_the_equalities(client, token, ready):
    spoc = token("spoc", ["derbyshire", "hart"])
    call(client, "POST", "/applications", None, example_application(TODAY))
    call(client, "POST", "/applications", None, example_on_behalf(TODAY))
    body = call(client, "GET", "/cases", spoc)
    rows = {r["area"]: r for r in body.json_body["cases"]}
    assert (rows["derbyshire"]["applicant_name"], rows["derbyshire"]["victim_name"]) == ("Sam Taylor", "Sam Taylor")
    assert (rows["hart"]["applicant_name"], rows["hart"]["victim_name"]) == ("Cllr Alex Morgan", "Sam Taylor")
    assert rows["hart"]["basis"] == "on_behalf" and rows["derbyshire"]["channel"] == "online"
    assert rows["derbyshire"]["next_deadline"] == {"name": "threshold_decision", "due": "2027-01-14"}
    text = body.body.decode()
    for private in ("Elm Road", "DE4", "GU51", "Mill Lane", "35-44", "example.com", "07700"):
        assert private not in text


# ---------------------------------------------------------------- order


def test_overdue_first_then_due_soon_then_by_deadline_then_ended_cases_newest_first(client, token, clock, intake, ready):
    """On Christmas Eve 2026 "soon" (3 working days) runs to 31 December: Christmas Day and the
    Boxing Day holiday (Monday 28th) are not working days."""
    spoc = token("spoc", "derbyshire")
    later = submit(intake, clock, "2026-12-01T09:00:00+00:00")
    soon = submit(intake, clock, "2026-12-01T09:01:00+00:00")
    overdue = submit(intake, clock, "2026-12-01T09:02:00+00:00")
    next_year = submit(intake, clock, "2026-12-01T09:03:00+00:00")
    withdrawn = submit(intake, clock, "2026-12-01T09:04:00+00:00")
    closed = submit(intake, clock, "2026-12-21T09:05:00+00:00")
    for ref, due in ((overdue, "2026-12-23"), (soon, "2026-12-31"), (later, "2027-01-04"), (next_year, "2027-01-14"),
                     (withdrawn, "2026-12-02")):
        set_due(ref, "threshold_decision", due)
    assert call(client, "POST", f"/cases/{withdrawn}/withdraw", spoc, {"reason": "applicant_request"}).status_code == 200
    assert call(client, "POST", f"/cases/{closed}/threshold-decision", spoc,
                {"decision": "met", "reasons": "Met.", "meeting": MEETING_TODAY}).status_code == 200
    assert call(client, "POST", f"/cases/{closed}/outcome", spoc,
                {"held_on": "2026-12-21", "findings": "No further action."}).json_body["status"] == "closed"
    clock.set("2026-12-24T10:00:00+00:00")

    rows = listed(client, spoc)["cases"]
    assert [r["reference"] for r in rows] == [overdue, soon, later, next_year, closed, withdrawn]
    by_ref = {r["reference"]: r for r in rows}
    assert by_ref[overdue]["overdue"] == ["threshold_decision"]
    assert by_ref[soon]["due_soon"] == ["threshold_decision"] and by_ref[soon]["overdue"] == []
    assert by_ref[later]["due_soon"] == [] and by_ref[later]["overdue"] == []
    for ended in (withdrawn, closed):  # its old deadlines are not "overdue": they will never be met
        assert (by_ref[ended]["overdue"], by_ref[ended]["next_deadline"]) == ([], None)
    assert [r["reference"] for r in listed(client, spoc, "?due=overdue")["cases"]] == [overdue]
    assert [r["reference"] for r in listed(client, spoc, "?due=soon")["cases"]] == [soon]
    assert [r["reference"] for r in listed(client, spoc, "?status=withdrawn")["cases"]] == [withdrawn]
    assert [r["reference"] for r in listed(client, spoc, "?status=acknowledged&limit=2")["cases"]] == [overdue, soon]


def test_a_deadline_met_or_moved_moves_the_case_in_the_list(client, token, clock, intake, ready):
    spoc = token("spoc", "derbyshire")
    first = submit(intake, clock, "2026-11-02T10:00:00+00:00")  # decision due 23 November
    second = submit(intake, clock, "2026-12-21T10:00:00+00:00")  # due 14 January
    assert [r["reference"] for r in listed(client, spoc)["cases"]] == [first, second]
    assert call(client, "POST", f"/cases/{first}/threshold-decision", spoc,
                {"decision": "met", "reasons": "Met."}).status_code == 200
    rows = listed(client, spoc)["cases"]
    assert [r["reference"] for r in rows] == [second, first]  # its next deadline is now the meeting, later
    assert rows[1]["next_deadline"]["name"] == "review_meeting" and rows[1]["next_deadline"]["due"] > "2027-01-14"


# ---------------------------------------------------------------- paging


def test_sixty_cases_in_pages_of_twenty_five_each_once_in_order(client, token, clock, intake, ready):
    spoc = token("spoc", ["derbyshire", "hart"])
    refs = set()
    start = date(2026, 9, 1)
    for n in range(60):
        day = start + timedelta(days=n)
        refs.add(submit(intake, clock, f"{day.isoformat()}T10:00:00+00:00",
                        example_application(day, area="hart" if n % 3 == 0 else "derbyshire")))
    clock.set("2026-12-21T10:00:00+00:00")
    seen, pages, cursor = [], [], None
    while True:
        page = listed(client, spoc, "?limit=25" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(len(page["cases"]))
        seen += page["cases"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [25, 25, 10]
    assert sorted(r["reference"] for r in seen) == sorted(refs)
    dues = [r["next_deadline"]["due"] for r in seen]
    assert dues == sorted(dues)  # one order across pages and areas: overdue (oldest deadline) first
    assert {r["area"] for r in seen[:25]} == {"derbyshire", "hart"}
    assert len(listed(client, spoc)["cases"]) == 25  # the default page


def test_a_tampered_or_foreign_cursor_is_a_400_naming_cursor(client, token, clock, intake, ready):
    spoc = token("spoc", "derbyshire")
    for n in range(3):
        submit(intake, clock, f"2026-12-0{n + 1}T10:00:00+00:00")
    cursor = listed(client, spoc, "?limit=1")["next_cursor"]
    body, tag = cursor.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + tag
    for bad in (forged, cursor[:-3], "nonsense", cursor + "x"):
        response = call(client, "GET", f"/cases?limit=1&cursor={bad}", spoc)
        assert response.status_code == 400, bad
        assert response.json_body["errors"][0]["field"] == "cursor"
    # Valid, but for another list: the same cursor with another filter, page size or person's areas.
    assert call(client, "GET", f"/cases?limit=1&status=closed&cursor={cursor}", spoc).status_code == 400
    assert call(client, "GET", f"/cases?limit=2&cursor={cursor}", spoc).status_code == 400
    assert call(client, "GET", f"/cases?limit=1&cursor={cursor}", token("spoc", "hart")).status_code == 400
    assert call(client, "GET", f"/cases?limit=1&cursor={cursor}", spoc).status_code == 200
    for bad_limit in ("0", "101", "ten", "²"):
        response = call(client, "GET", f"/cases?limit={bad_limit}", spoc)
        assert response.status_code == 400 and response.json_body["errors"][0]["field"] == "limit"


# ---------------------------------------------------------------- search


def test_search_by_reference_surname_full_name_and_postcode(client, token, clock, intake, ready):
    spoc = token("spoc", ["derbyshire", "hart"])
    body = example_application(TODAY)
    body["victim"]["name"] = "Zoë Brontë-Smith"
    body["asb_location"] = {"description": "The stairwell", "postcode": "DE4 3NN"}
    zoe = submit(intake, clock, "2026-12-21T10:00:00+00:00", body)
    sam = submit(intake, clock, "2026-12-21T10:01:00+00:00")
    morgan = submit(intake, clock, "2026-12-21T10:02:00+00:00", example_on_behalf(TODAY))

    def found(q):
        rows = listed(client, spoc, "?q=" + q.replace(" ", "%20").replace("ë", "%C3%AB"))["cases"]
        return {r["reference"] for r in rows}

    assert found(zoe) == {zoe} and found(zoe.lower().replace("-", "")) == {zoe}
    assert found("taylor") == found("TAYLOR") == found("Sam Taylor") == found("sam  taylor") == {sam, morgan}
    assert found("Bronte-Smith") == found("BRONTË-SMITH") == found("smith") == found("bronte") == {zoe}
    assert found("zoe bronte-smith") == found("Zoë Brontë-Smith") == {zoe}
    assert found("Morgan") == found("Alex Morgan") == found("Cllr Alex Morgan") == {morgan}
    assert found("DE4 3AG") == found("de43ag") == found(" de4  3ag ") == {sam, zoe}  # the victims' postcode
    assert found("DE43NN") == found("DE4 3NN") == {zoe}  # where the behaviour happens
    assert found("GU51 4AE") == {morgan}
    assert found("Jones") == set() and found("SW1A 1AA") == set()
    row = listed(client, spoc, f"?q={zoe}")["cases"][0]
    assert (row["victim_name"], row["area"]) == ("Zoë Brontë-Smith", "derbyshire")
    assert listed(client, spoc, f"?q={zoe}")["next_cursor"] is None
    for bad in ("x", "%20", "a" * 101, "-", "%C2%B7"):
        response = call(client, "GET", f"/cases?q={bad}", spoc)
        assert response.status_code == 400 and response.json_body["errors"][0]["field"] == "q", bad
    # The table holds no name or postcode, only keyed hashes.
    stored = json.dumps([r.attribute_values for r in SearchTermRecord.scan()])
    for private in ("taylor", "Taylor", "DE4", "DE43AG", "smith", "morgan"):
        assert private not in stored


def test_another_areas_spoc_finds_nothing_of_derbyshires(client, token, clock, intake, ready):
    derbyshire = submit(intake, clock, "2026-12-21T10:00:00+00:00")
    hart = submit(intake, clock, "2026-12-21T10:01:00+00:00", example_on_behalf(TODAY))
    spoc_hart = token("spoc", "hart")
    for q in (derbyshire, "Taylor", "Sam Taylor", "DE4 3AG"):
        rows = listed(client, spoc_hart, f"?q={q.replace(' ', '%20')}")["cases"]
        assert derbyshire not in {r["reference"] for r in rows}
    assert {r["reference"] for r in listed(client, spoc_hart, "?q=Taylor")["cases"]} == {hart}
    assert {r["reference"] for r in listed(client, spoc_hart)["cases"]} == {hart}
    assert call(client, "GET", "/cases?q=Taylor&area=derbyshire", spoc_hart).status_code == 403
    assert listed(client, token("spoc", "derbyshire"), "?q=Taylor&area=derbyshire")["cases"][0]["reference"] == derbyshire
    assert call(client, "GET", "/cases?q=Taylor", token("appeals", "derbyshire")).status_code == 403


def test_an_agency_started_review_and_a_staff_entered_case_can_be_found(client, token, clock, ready):
    spoc = token("spoc", "derbyshire")
    victim = {**example_application(TODAY)["victim"], "name": "Dana O'Neill"}
    r = call(client, "POST", "/agency-reviews", spoc, {
        "area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "Insp. R Khan",
        "reasons": "Five reports in eight weeks.", "summary": "Repeated intimidation.", "victim": victim})
    assert r.status_code == 201, r.body
    agency = r.json_body["reference"]
    paper = example_application(TODAY)
    paper["victim"]["name"] = "Eamon Fitzgerald"
    r = call(client, "POST", "/cases", spoc, {"channel": "paper", "acknowledgement": "send", "application": paper})
    assert r.status_code == 201, r.body
    entered = r.json_body["reference"]
    assert [x["reference"] for x in listed(client, spoc, "?q=oneill")["cases"]] == [agency]
    assert [x["reference"] for x in listed(client, spoc, "?q=O%E2%80%99Neill")["cases"]] == [agency]
    row = listed(client, spoc, "?q=Dana%20O'Neill")["cases"][0]
    assert (row["basis"], row["applicant_name"], row["victim_name"]) == ("agency", None, "Dana O'Neill")
    assert [x["reference"] for x in listed(client, spoc, "?q=fitzgerald")["cases"]] == [entered]


# ---------------------------------------------------------------- cost


def counting(monkeypatch) -> tuple[Counter, Counter, object]:
    calls: Counter[str] = Counter()
    items: Counter[str] = Counter()
    real_call = Connection._make_api_call

    def count(self, operation_name, operation_kwargs, *args, **kwargs):
        response = real_call(self, operation_name, operation_kwargs, *args, **kwargs)
        calls[operation_name] += 1
        items[operation_name] += len(response.get("Items", [])) + (1 if response.get("Item") else 0) + sum(
            len(v) for v in (response.get("Responses") or {}).values())
        return response

    monkeypatch.setattr(Connection, "_make_api_call", count)
    return calls, items, lambda: monkeypatch.setattr(Connection, "_make_api_call", real_call)


def fill(n: int, start: int = 0) -> None:
    """Cases written straight to the table (the save derives their list keys), in Derbyshire: the
    first ten half overdue and half due soon, then open ones due at all three times and closed ones."""
    with CaseRecord.batch_write() as batch:
        for i in range(start, start + n):
            open_case = i < 100 or i % 3 != 0  # the longer history has closed cases too
            due = ("2026-12-18", "2026-12-22", "2027-02-01")[i % 3] if i >= 10 else ("2026-12-18", "2026-12-22")[i % 2]
            batch.save(CaseRecord(
                f"CT-F{i:04d}-{i % 7}{i % 9}", area="derbyshire", status="acknowledged" if open_case else "closed",
                basis="victim", channel="online", received_at=f"2026-10-01T10:00:{i % 60:02d}.{i % 1000:03d}Z",
                received_on="2026-10-01", application={"victim": {"name": f"Person {i}"}, "incidents": []},
                pre_assessment={"result": "met"}, matter=f"m{i}",
                deadlines={"threshold_decision": {"due": due, "met_on": None}}))


@pytest.mark.parametrize("query", ["?limit=5", "?limit=5&due=overdue", "?limit=5&due=soon", "?q=Taylor"])
def test_reads_per_page_stay_the_same_with_ten_or_two_hundred_cases(client, token, clock, intake, ready,
                                                                    monkeypatch, query):
    spoc = token("spoc", "derbyshire")
    submit(intake, clock, "2026-12-21T10:00:00+00:00")
    clock.set("2026-12-21T10:00:00+00:00")
    costs = []
    for n, start in ((10, 0), (190, 10)):
        fill(n, start)
        listed(client, spoc, query)  # warm: the first request also learns which areas are ready
        calls, items, stop = counting(monkeypatch)
        page = listed(client, spoc, query)
        stop()
        costs.append((dict(calls), sum(items.values())))
        assert calls["Scan"] == 0 and len(page["cases"]) == (1 if query.startswith("?q") else 5)
        nxt = page["next_cursor"]
        if nxt:
            second = listed(client, spoc, f"{query}&cursor={nxt}")["cases"]
            assert {r["reference"] for r in second}.isdisjoint(r["reference"] for r in page["cases"])
        print(f"\n{query} with {n + start + 1} cases: {dict(calls)} calls, {sum(items.values())} items read")
    assert costs[0] == costs[1]
    assert costs[0][1] <= 5  # a page of five reads five rows from the index, however long the history


# ---------------------------------------------------------------- before and after the backfill


def strip_list_keys(ref: str) -> None:
    """As the case was stored before the case list existed."""
    CaseRecord._get_connection().update_item(ref, actions=[  # noqa: SLF001
        CaseRecord.list_area.remove(), CaseRecord.list_key.remove(), CaseRecord.list_names.remove()])
    for term in list(SearchTermRecord.scan(SearchTermRecord.ref == ref)):
        term.delete()


def test_older_cases_are_listed_before_the_backfill_and_searchable_after_it(client, token, clock, intake, wired):
    spoc = token("spoc", "derbyshire")
    old = submit(intake, clock, "2026-11-02T10:00:00+00:00")
    new = submit(intake, clock, "2026-12-21T10:00:00+00:00")
    strip_list_keys(old)
    assert CaseRecord.get(old).attribute_values.get("list_key") is None

    rows = listed(client, spoc)["cases"]  # by-area until the backfill: newest first, without names
    assert [r["reference"] for r in rows] == [new, old]
    assert rows[1]["overdue"] == ["threshold_decision"] and rows[1]["victim_name"] is None
    assert listed(client, spoc, "?q=Taylor")["cases"][0]["reference"] == new  # the old one has no terms yet
    assert [r["reference"] for r in listed(client, spoc, f"?q={old}")["cases"]] == [old]  # a reference is a GetItem
    pages, cursor = [], None
    while True:
        page = listed(client, spoc, "?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        pages += [r["reference"] for r in page["cases"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == [new, old]

    first = backfill(wired.policies(), LINK_SECRET.encode())
    terms = sum(1 for _ in SearchTermRecord.scan())
    again = backfill(wired.policies(), LINK_SECRET.encode())
    assert (first.cases, first.updated, again.updated) == (2, 1, 0)
    assert sum(1 for _ in SearchTermRecord.scan()) == terms  # idempotent
    assert SearchTermRecord.get(READY, "derbyshire")
    assert CaseRecord.get(old).version == CaseRecord.get(new).version == 1  # not an edit

    rows = listed(client, spoc)["cases"]
    assert [r["reference"] for r in rows] == [old, new] and rows[0]["victim_name"] == "Sam Taylor"
    assert {r["reference"] for r in listed(client, spoc, "?q=Taylor")["cases"]} == {old, new}
