"""The application form posted without JavaScript: the API answers with the next page, stores
nothing before "Send", keeps everything typed, and takes posts only from the council's site."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.adapters.tables import CaseRecord

TODAY = date(2026, 12, 21)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SITE = "http://127.0.0.1:8080"


@pytest.fixture(autouse=True)
def form_site(monkeypatch):
    monkeypatch.setenv("FORM_SITE_URL", SITE)
    monkeypatch.setenv("FORM_ORIGINS", SITE)


def fields(**overrides) -> dict[str, str]:
    happened = TODAY - timedelta(days=10)
    base = {
        "area": "derbyshire", "basis": "victim", "victim.name": "Sam Taylor", "victim.type": "individual",
        "victim.address.line1": "12 Elm Road", "victim.address.town": "Matlock", "victim.address.postcode": "DE4 3AG",
        "victim.email": "sam.taylor@example.com", "victim.preferred_contact": "email",
        "summary": "Loud music most nights.",
        "incidents[0].happened_on.day": str(happened.day), "incidents[0].happened_on.month": str(happened.month),
        "incidents[0].happened_on.year": str(happened.year), "incidents[0].description": "Music until 3am",
        "incidents[0].reported_by": "Sam Taylor", "incidents[0].reported_on.day": str(happened.day),
        "incidents[0].reported_on.month": str(happened.month), "incidents[0].reported_on.year": str(happened.year),
        "incidents[0].reported_to": "Derbyshire Constabulary", "incidents[0].how_reported": "phone",
        "declaration": "true", "information_sharing_consent": "true", "idempotency_key": "form-key-1",
        "applicant.name": "", "applicant.address.line1": "",  # the on-behalf section, left empty
    }
    return {**base, **overrides}


def post(client, data, origin=SITE):
    headers = {**FORM, **({"Origin": origin} if origin else {})}
    return client.http.post("/applications", headers=headers, body=urlencode(data))


def cases() -> int:
    return sum(1 for _ in CaseRecord.scan())


def test_add_another_incident_is_a_round_trip_that_stores_nothing(client):
    response = post(client, fields(action="add_incident"))
    page = response.body.decode()
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert 'name="incidents[1].description"' in page
    assert 'value="Sam Taylor"' in page
    assert cases() == 0


def test_mistakes_come_back_on_the_form_with_everything_typed(client):
    response = post(client, fields(**{"victim.email": "nope", "incidents[0].reported_on.day": "31",
                                      "incidents[0].reported_on.month": "2", "action": "check"}))
    page = response.body.decode()
    assert response.status_code == 422
    assert 'href="#victim-email"' in page and 'href="#incidents-0-reported_on-day"' in page
    assert 'value="nope"' in page and "Music until 3am" in page
    assert "script-src http://127.0.0.1:8080" in response.headers["Content-Security-Policy"]
    assert cases() == 0


def test_check_your_answers_then_send(client, outbox):
    check = post(client, fields(action="check"))
    page = check.body.decode()
    assert check.status_code == 200 and "Sam Taylor" in page and cases() == 0
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert hidden["victim.email"] == "sam.taylor@example.com" and hidden["idempotency_key"] == "form-key-1"
    sent = post(client, {**{k: v.replace("&#34;", '"') for k, v in hidden.items()}, "action": "submit"})
    assert sent.status_code == 201
    reference = re.search(r"CT-[A-Z0-9]{4}-[A-Z0-9]{4}", sent.body.decode()).group(0)
    assert CaseRecord.get(reference).channel == "online"
    again = post(client, {**hidden, "action": "submit"})  # the back button and "Send" again
    assert reference in again.body.decode() and cases() == 1
    assert len(outbox("sam.taylor@example.com")) == 1


def test_only_the_councils_site_may_post(client):
    assert post(client, fields(action="check"), origin="https://evil.example").status_code == 403
    json_post = client.http.post("/applications", headers={"Content-Type": "application/json", "Origin": "https://evil.example"},
                                 body=json.dumps({}))
    assert json_post.status_code == 403
    ok = post(client, fields(action="add_incident"))
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    preflight = client.http.request("OPTIONS", "/applications", headers={"Origin": SITE})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert client.http.request("OPTIONS", "/applications", headers={"Origin": "https://evil.example"}).status_code == 403
    assert post(client, fields(action="add_incident"), origin=None).status_code == 200  # not a browser: no Origin
    # A page the API answered with posts back from the API's own origin.
    assert post(client, fields(action="add_incident"), origin="https://ct.example.test").status_code == 200
