"""Bad input, as a careless client or an attacker sends it, on every route: each gets a 4xx with a
problem body naming the field, no page is larger than 2 MB, and nothing is stored."""
from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlencode

import pytest

from chalicelib.adapters.tables import ALL_TABLES, CaseRecord, LetterRecord, PartnerRequestRecord
from chalicelib.openapi import example_application

TODAY = date(2026, 12, 21)
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_PAGE = 2 * 1024 * 1024
DEEP = 5000


def stored() -> dict[str, int]:
    """How many items every table holds: what a refused request must leave unchanged."""
    return {model.Meta.table_name: sum(1 for _ in model.scan()) for model in ALL_TABLES}


def assert_problem(response, status: int | tuple[int, ...], field: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.body[:500])
    assert len(response.body) < MAX_PAGE
    body = json.loads(response.body)
    assert body["status"] == response.status_code and body["title"]
    assert body["errors"] and all(e["field"] and e["message"] for e in body["errors"])
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body["errors"]
    return body


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def good_form(**extra: str) -> dict[str, str]:
    """The example application as the no-JavaScript form posts it."""
    e = example_application(TODAY)
    fields = {"area": "derbyshire", "basis": "victim", "victim.name": e["victim"]["name"],
              "victim.address.line1": "12 Elm Road", "victim.address.town": "Matlock",
              "victim.address.postcode": "DE4 3AG", "victim.email": "sam@example.com",
              "victim.preferred_contact": "email", "victim.type": "individual", "summary": e["summary"],
              "declaration": "true", "information_sharing_consent": "true"}
    for n, incident in enumerate(e["incidents"]):
        y, m, d = incident["happened_on"].split("-")
        fields.update({f"incidents[{n}].happened_on.day": d, f"incidents[{n}].happened_on.month": m,
                       f"incidents[{n}].happened_on.year": y, f"incidents[{n}].description": incident["description"],
                       f"incidents[{n}].reported_by": incident["reported_by"],
                       f"incidents[{n}].reported_on": incident["reported_on"],
                       f"incidents[{n}].reported_to": incident["reported_to"],
                       f"incidents[{n}].how_reported": incident["how_reported"]})
    return {**fields, **extra}


# One AWS stand-in, app and case for the whole module: a refused request changes nothing, which
# every test checks, so they can share them (and the suite stays fast).


@pytest.fixture(scope="module")
def stack():
    import time
    from datetime import datetime, timezone
    from types import SimpleNamespace

    import jwt
    from aws_stand_in import provisioned_aws
    from chalice.test import Client
    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from app import app
    from chalicelib import wiring
    from chalicelib.auth import TokenVerifier

    issuer, audience = "https://login.example.test/tenant", "community-trigger"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = TokenVerifier(issuer, audience, keys=lambda kid: key.public_key())
    with pytest.MonkeyPatch.context() as patch, provisioned_aws("bad-input-test-secret-0123456789abcdef",
                                                                 verify_senders=True):
        patch.setattr(wiring, "utc_now", lambda: datetime(2026, 12, 21, 10, 0, tzinfo=timezone.utc))
        patch.setattr(wiring, "verifier", lambda: verifier)

        def mint(roles, areas) -> str:
            now = int(time.time())
            claims = {"sub": "user-pat", "name": "Pat SPOC", "iss": issuer, "aud": audience, "iat": now - 60,
                      "exp": now + 3600, "roles": roles if isinstance(roles, list) else [roles],
                      "areas": areas if isinstance(areas, list) else [areas]}
            return "Bearer " + jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test"})

        def outbox():
            return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)

        with Client(app) as client:
            yield SimpleNamespace(client=client, mint=mint, outbox=outbox)


@pytest.fixture(scope="module")
def client(stack):
    return stack.client


@pytest.fixture(scope="module")
def outbox(stack):
    return stack.outbox


@pytest.fixture(scope="module")
def token(stack):
    return stack.mint


def new_case(client) -> str:
    response = client.http.post("/applications", headers=JSON, body=json.dumps(example_application(TODAY)))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


@pytest.fixture(scope="module")
def case(client):
    return new_case(client)


# ---------------------------------------------------------------- applications (JSON)

APPLICATION_BODIES = {
    "deeply nested array": nested(DEEP),
    "deeply nested object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "nested inside a field": json.dumps({**example_application(TODAY), "summary": "x"})[:-1] + ', "impact": ' + nested(60) + "}",
    "duplicate key": '{"area": "derbyshire", "area": "hart"}',
    "NaN": '{"area": NaN}',
    "Infinity": '{"area": -Infinity}',
    "huge exponent": '{"area": 1e999999}',
    "5000-digit number": '{"area": ' + "9" * 5000 + "}",
    "not UTF-8": b'{"area": "\xff\xfe"}',
    "UTF-16": json.dumps({"area": "hart"}).encode("utf-16"),
    "truncated": '{"area": "derby',
    "a list": "[]",
    "a string": '"hello"',
    "null": "null",
    "a number": "42",
    "whitespace": "   \n ",
    "BOM": "\ufeff" + json.dumps(example_application(TODAY)),
}


@pytest.mark.parametrize("name", APPLICATION_BODIES)
def test_malformed_application_json_is_a_4xx_and_stores_nothing(client, name):
    before = stored()
    body = APPLICATION_BODIES[name]
    response = client.http.post("/applications", headers=JSON, body=body)
    assert_problem(response, (400, 413, 422))
    assert stored() == before


def with_field(path: str, value) -> dict:
    body = json.loads(json.dumps(example_application(TODAY)))
    node = body
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


WRONG_VALUES = [
    ("victim.name", "Sam\u202eTaylor", "victim.name"),  # right-to-left override
    ("victim.name", "Sam\u2066Taylor", "victim.name"),  # isolate
    ("victim.name", "Sam\nTaylor", "victim.name"),
    ("victim.name", "Sam\x00Taylor", "victim.name"),
    ("victim.address.line1", "12\tElm Road", "victim.address.line1"),
    ("victim.address.town", "Mat\x1block", "victim.address.town"),
    ("summary", "Noise\x07", "summary"),
    ("summary", "\ud800 broken", "summary"),  # an unpaired surrogate, as JSON can carry one
    ("summary", "x" * 100_000, "summary"),
    ("summary", 12, "summary"),
    ("summary", ["a"], "summary"),
    ("summary", {"a": "b"}, "summary"),
    ("incidents", "many", "incidents"),
    ("incidents", [], "incidents"),
    ("incidents", [{}] * 51, "incidents"),
    ("incidents.0.happened_on", "2026-02-30", "incidents[0].happened_on"),
    ("incidents.0.happened_on", "²⁰²⁶-01-01", "incidents[0].happened_on"),
    ("incidents.0.happened_on", 20260101, "incidents[0].happened_on"),
    ("victim.email", "a@b", "victim.email"),
    ("victim.address.postcode", "DE4 3AG\u202e", "victim.address.postcode"),
    ("declaration", "yes please", "declaration"),
    ("area", "../../etc/passwd", "area"),
    ("area", "x" * 5000, "area"),
]


@pytest.mark.parametrize("path,value,field", WRONG_VALUES, ids=[f"{p}={str(v)[:12]!r}" for p, v, _ in WRONG_VALUES])
def test_wrong_values_name_the_field(client, path, value, field):
    before = stored()
    response = client.http.post("/applications", headers=JSON, body=json.dumps(with_field(path, value)))
    assert_problem(response, 422, field)
    assert stored() == before


def test_newlines_are_kept_in_long_answers(client):
    response = client.http.post("/applications", headers=JSON,
                                body=json.dumps(with_field("summary", "Line one.\nLine two.\r\n\tIndented.")))
    assert response.status_code == 201
    assert CaseRecord.get(response.json_body["reference"]).application["summary"].startswith("Line one.\nLine two.")


def test_an_application_too_large_to_store_names_what_to_shorten(client):
    """Under the body limit, but emoji take four bytes each and JSON stores them escaped: the
    case would be over DynamoDB's 400 KB item limit."""
    before = stored()
    body = example_application(TODAY)
    for incident in body["incidents"]:
        incident["description"] = "😀" * 1000
    body["incidents"] = body["incidents"] * 10  # 40 incidents
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert len(raw) < 200_000
    response = client.http.post("/applications", headers=JSON, body=raw)
    problem = assert_problem(response, (413, 422))
    assert stored() == before
    assert response.status_code == 413
    assert all(e["field"].startswith("incidents[") and e["field"].endswith("].description") for e in problem["errors"])


def test_an_oversize_body_is_413(client):
    response = client.http.post("/applications", headers=JSON, body=b" " * 200_001)
    assert_problem(response, 413, "body")


def test_wrong_content_type_is_415(client):
    response = client.http.post("/applications", headers={"Content-Type": "text/plain"}, body="hello")
    assert_problem(response, 415, "Content-Type")


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "\u0000"])
def test_bad_idempotency_keys_are_400(client, key):
    before = stored()
    response = client.http.post("/applications", headers={**JSON, "Idempotency-Key": key},
                                body=json.dumps(example_application(TODAY)))
    assert_problem(response, 400, "Idempotency-Key")
    assert stored() == before


# ---------------------------------------------------------------- applications (the no-JavaScript form)

FORM_POSTS = {
    "dotted name beside its parent": {"victim": "x", "victim.name": "Sam"},
    "unknown date parent": {"Foo.day": "1", "Foo.month": "2", "Foo.year": "2026"},
    "unicode digit in a row": {"incidents[²].description": "x"},
    "row far beyond the cap": {"action": "add_incident", "incidents[19999].description": "x"},
    "row just over the cap": {"incidents[50].description": "x"},
    "negative row": {"incidents[-1].description": "x"},
    "unknown field": {"isAdmin": "true"},
    "bracket in a name": {"victim[0].name": "x"},
    "empty name": {"": "x"},
}


@pytest.mark.parametrize("name", FORM_POSTS)
def test_form_field_names_follow_a_strict_grammar(client, name):
    before = stored()
    response = client.http.post("/applications", headers=FORM, body=urlencode(good_form(**FORM_POSTS[name])))
    assert_problem(response, 400)
    assert stored() == before


def test_a_unicode_digit_in_a_date_box_is_an_error_on_the_page(client):
    before = stored()
    fields = good_form(**{"incidents[0].happened_on.day": "²", "action": "check"})
    response = client.http.post("/applications", headers=FORM, body=urlencode(fields))
    assert response.status_code == 422
    assert "incidents-0-happened_on" in response.body.decode()
    assert stored() == before


def test_adding_incidents_stops_at_fifty(client):
    fields = good_form(action="add_incident")
    fields.update({f"incidents[{n}].description": "x" for n in range(50)})
    response = client.http.post("/applications", headers=FORM, body=urlencode(fields))
    assert response.status_code == 422
    assert len(response.body) < MAX_PAGE
    assert "at most 50 incidents" in response.body.decode()


def test_too_many_form_fields_is_413(client):
    body = "&".join(f"summary={n}" for n in range(2000))
    assert_problem(client.http.post("/applications", headers=FORM, body=body), 413, "body")


def test_a_form_that_is_not_url_encoded_text_is_400(client):
    assert_problem(client.http.post("/applications", headers=FORM, body="summary=\xff".encode("latin-1")), 400, "body")
    assert_problem(client.http.post("/applications", headers=FORM, body=b"summary=%ff%fe"), 400, "body")


# ---------------------------------------------------------------- partner returns


def partner_link(client, outbox, ref: str) -> str:
    import re

    link = re.compile(r"https://ct\.example\.test/api/partner/([A-Za-z0-9_.\-]+)")
    for message in outbox():
        found = link.search(message.body)
        if found and ref in message.body:
            return found.group(1)
    raise AssertionError("no partner link was sent")


PARTNER_FORMS = {
    "letters for a row": {"reports-x-overview": "x"},
    "unicode digit row": {"reports-²-overview": "x"},
    "row far beyond the cap (add)": {"action": "add_report", "reports-19999-overview": "x"},
    "row far beyond the cap (submit)": {"reports-19999-overview": "x"},
    "unknown field": {"reports-0-secret": "x"},
    "unknown scalar": {"is_admin": "1"},
}


@pytest.mark.parametrize("name", PARTNER_FORMS)
def test_partner_form_field_names_follow_a_strict_grammar(client, outbox, case, name):
    token = partner_link(client, outbox, case)
    before = stored()
    response = client.http.post(f"/partner/{token}", headers=FORM,
                                body=urlencode({"responder_name": "PC Jo Lee", **PARTNER_FORMS[name]}))
    assert_problem(response, 400)
    assert stored() == before


def test_adding_partner_report_rows_stops_at_fifty(client, outbox, case):
    token = partner_link(client, outbox, case)
    fields = {"action": "add_report", **{f"reports-{n}-overview": "x" for n in range(50)}}
    response = client.http.post(f"/partner/{token}", headers=FORM, body=urlencode(fields))
    assert response.status_code == 422 and len(response.body) < MAX_PAGE
    assert "at most 50 reports" in response.body.decode()


@pytest.mark.parametrize("body", [nested(DEEP), '{"a": 1, "a": 2}', b"\xff", '{"responder_name": NaN}', "[1]"])
def test_malformed_partner_json_is_a_4xx(client, outbox, case, body):
    token = partner_link(client, outbox, case)
    before = stored()
    response = client.http.post(f"/partner/{token}", headers=JSON, body=body)
    assert_problem(response, (400, 422))
    assert stored() == before


@pytest.mark.parametrize("token", ["x" * 5000, "%00", "a.b.c", "..%2f..%2fetc"])
def test_nonsense_partner_tokens_are_refused_quietly(client, token):
    response = client.http.get(f"/partner/{token}")
    assert response.status_code == 404 and len(response.body) < MAX_PAGE
    response = client.http.post(f"/partner/{token}", headers=JSON, body="{}")
    assert_problem(response, 404, "token")


# ---------------------------------------------------------------- published counts


@pytest.mark.parametrize("path", ["/stats", "/stats.csv", "/stats/fragment.html", "/stats/data-return.csv"])
@pytest.mark.parametrize("year", ["²⁰²⁶", "٢٠٢٦", "2026.0", "-2026", "9" * 400, "1999", "20 26"])
def test_stats_years_must_be_ascii_digits_in_range(client, path, year):
    response = client.http.get(f"{path}?area=hart&year={year}")
    assert_problem(response, 400, "year")


def test_stats_unknown_area_is_404_and_short(client):
    response = client.http.get("/stats?area=" + "x" * 5000)
    body = assert_problem(response, 404, "area")
    assert len(json.dumps(body)) < 1000


# ---------------------------------------------------------------- staff


@pytest.fixture(scope="module")
def spoc(token):
    return token("spoc", "derbyshire")


def staff(client, method, path, auth, body=None, headers=None):
    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return getattr(client.http, method.lower())(path, headers={**JSON, "Authorization": auth, **(headers or {})},
                                                 body=raw)


@pytest.mark.parametrize("year", ["²⁰²⁶", "2026x", "1", ""])
def test_deadline_report_year_must_be_ascii(client, spoc, year):
    response = staff(client, "GET", f"/reports/deadlines?area=derbyshire&year={year}", spoc)
    if year == "":
        assert response.status_code == 200
    else:
        assert_problem(response, 422, "year")


@pytest.mark.parametrize("value", ["²", "1.5", "-1", "x", '"' + "9" * 40 + '"'])
def test_if_match_must_be_an_ascii_version(client, spoc, case, value):
    before = stored()
    response = staff(client, "POST", f"/cases/{case}/close", spoc, {"reason": "x"}, headers={"If-Match": value})
    assert_problem(response, 400, "If-Match")
    assert stored() == before


@pytest.mark.parametrize("query,field", [("status=nonsense", "status"), ("due=tomorrow", "due")])
def test_case_list_filters_are_checked(client, spoc, query, field):
    assert_problem(staff(client, "GET", f"/cases?{query}", spoc), 400, field)


@pytest.mark.parametrize("path", ["/cases/" + "A" * 3000, "/cases/CT-0000-0000%00", "/cases/ct-aaaa-aaaa",
                                  "/cases/CT-AAAA-AAAA/letters/" + "9" * 500 + "/printed"])
def test_paths_that_cannot_be_a_case_are_404(client, spoc, path):
    method = "POST" if path.endswith("printed") else "GET"
    assert_problem(staff(client, method, path, spoc, {} if method == "POST" else None), 404)


STAFF_STEPS = ["consent", "threshold-decision", "meeting", "outcome", "close", "withdraw", "reject", "appeal",
               "appeal-decision"]


@pytest.mark.parametrize("step", STAFF_STEPS)
@pytest.mark.parametrize("body", [nested(DEEP), '{"a": 1, "a": 2}', b"\xff\xfe", "[]", '{"note": "\\ud800"}'],
                         ids=["deep", "duplicate", "not-utf8", "list", "surrogate"])
def test_malformed_staff_bodies_are_4xx(client, token, case, step, body):
    auth = token(["spoc", "appeals"], "derbyshire")
    before = stored()
    response = staff(client, "POST", f"/cases/{case}/{step}", auth, body)
    assert_problem(response, (400, 409, 422))
    assert stored() == before


def test_a_large_outcome_is_refused_naming_what_to_shorten(client, spoc):
    """30 recommendations, 30 actions and 30 items not recommended of 2,000 characters each (each
    inside its own limit) would make a letter DynamoDB cannot store: a 422 names the parts, and
    nothing is stored."""
    case = new_case(client)
    meeting = {"date": "2026-12-21", "time": "14:00", "place": "Town Hall", "chair": "Chair",
               "agencies": ["Police", "Council", "Housing"], "victim_invited": True}  # held today
    assert staff(client, "POST", f"/cases/{case}/threshold-decision", spoc,
                 {"decision": "met", "reasons": "Met.", "meeting": meeting}).status_code == 200
    long = "<&>" * 666 + "xx"
    outcome = {"held_on": "2026-12-21", "findings": "F" * 5000,
               "recommendations": [long] * 30,
               "actions": [{"description": long, "agency": "Police", "lead_officer": "PC Lee", "due_on": "2027-02-01",
                            "victim_agreed": True}] * 30,
               "not_recommended": [{"description": long, "reason": long}] * 30}
    before = stored()
    letters_before = len(list(LetterRecord.query(case)))
    response = staff(client, "POST", f"/cases/{case}/outcome", spoc, outcome)
    problem = assert_problem(response, 422)
    assert stored() == before and len(list(LetterRecord.query(case))) == letters_before
    assert [e["field"] for e in problem["errors"]] == ["not_recommended", "actions", "recommendations", "findings"]
    assert "at most 40,000" in problem["errors"][0]["message"]
    # Inside the budget, with the worst characters for HTML escaping, it is stored and sent.
    outcome.update(recommendations=[long] * 5, actions=outcome["actions"][:5], not_recommended=outcome["not_recommended"][:3])
    response = staff(client, "POST", f"/cases/{case}/outcome", spoc, outcome)
    assert response.status_code == 200, response.body[:300]
    assert len(CaseRecord.get(case).outcome["recommendations"]) == 5


def test_a_store_too_busy_to_write_is_a_503_with_retry_after(client, monkeypatch):
    from chalicelib import wiring
    from chalicelib.adapters.repository import StoreBusy

    def busy(*args, **kwargs):
        raise StoreBusy("conflicts outlasted the retries")

    monkeypatch.setattr(wiring.intake().repo, "create_case", busy)
    before = stored()
    response = client.http.post("/applications", headers=JSON, body=json.dumps(example_application(TODAY)))
    assert_problem(response, 503, "body")
    assert response.headers["Retry-After"] == "5"
    assert stored() == before
