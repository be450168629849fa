"""GET /openapi.json documents every route, every parameter the code reads, and its request
examples are accepted as they are, on any date, by a case in the state each step needs."""
from __future__ import annotations

import inspect
import json
import re
import sys
from datetime import date
from typing import Any, Callable
from urllib.parse import urlencode

import pytest
from openapi_spec_validator import validate

from app import app

JSON = {"Content-Type": "application/json"}
LINK = re.compile(r"https://ct\.example\.test/api/partner/([A-Za-z0-9_.\-]+)")


def operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete", "options", "head"):
                yield path, method, operation


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document as GET /openapi.json serves it (no AWS needed to read it)."""
    from chalice.test import Client

    with Client(app) as c:
        response = c.http.get("/openapi.json")
    assert response.status_code == 200
    return response.json_body


def test_document_is_valid_openapi_31(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented_and_nothing_else(spec):
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert routes - documented == set(), "routes missing from /openapi.json"
    assert documented - routes == set(), "documented operations the app does not have"


def test_staff_routes_need_the_bearer_token_and_say_so(spec):
    assert spec["components"]["securitySchemes"]["staffBearer"] == {**spec["components"]["securitySchemes"]["staffBearer"],
                                                                      "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            operation = spec["paths"][path][method.lower()]
            if entry.authorizer is not None:
                assert operation.get("security") == [{"staffBearer": []}], f"{method} {path}"
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            else:
                assert "security" not in operation, f"{method} {path}"


def _module_functions(func: Callable) -> dict[str, Callable]:
    module = sys.modules[func.__module__]
    return {name: f for name, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__}


def _reads(func: Callable, pattern: re.Pattern, depth: int = 2) -> set[str]:
    """Names a route reads (grep of its source and of the same module's helpers it calls)."""
    func = inspect.unwrap(func)
    source = inspect.getsource(func)
    found = set(pattern.findall(source))
    if depth:
        helpers = _module_functions(func)
        for called in set(re.findall(r"\b(\w+)\(", source)) & set(helpers) - {func.__name__}:
            found |= _reads(helpers[called], pattern, depth - 1)
    return found


QUERY_READ = re.compile(r"""params(?:\.get\(|\[)["']([\w-]+)["']""")
HEADER_READ = re.compile(r"""headers\.get\(["']([\w-]+)["']""")
HELPER_HEADERS = {"if_match": "if-match"}  # chalicelib.inputs helpers that read a header
NOT_PARAMETERS = {"content-type", "authorization", "accept"}  # OpenAPI describes these elsewhere


def test_every_query_parameter_and_header_the_code_reads_is_documented(spec):
    checked = 0
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            documented = {(p["in"], p["name"].lower()) for p in spec["paths"][path][method.lower()].get("parameters", [])}
            view = entry.view_function
            source = inspect.getsource(inspect.unwrap(view))
            queries = _reads(view, QUERY_READ)
            headers = {h.lower() for h in _reads(view, HEADER_READ)} - NOT_PARAMETERS
            headers |= {header for helper, header in HELPER_HEADERS.items() if f"{helper}(" in source}
            for name in queries:
                assert ("query", name) in documented, f"{method} {path} reads ?{name}= but does not document it"
            for name in headers:
                assert ("header", name) in documented, f"{method} {path} reads the {name} header but does not document it"
            for name in re.findall(r"{(\w+)}", path):
                assert ("path", name) in documented, f"{method} {path}: path parameter {name}"
            checked += len(queries) + len(headers)
    assert checked >= 10  # the grep found the reads (status, due, area, year, If-Match, ...)


def test_the_known_parameters_are_there(spec):

    def names(path, method, where):
        return {p["name"] for p in spec["paths"][path][method].get("parameters", []) if p["in"] == where}

    assert names("/cases", "get", "query") == {"status", "due", "area", "q", "limit", "cursor"}
    assert names("/reports/deadlines", "get", "query") == {"area", "year"}
    assert {"area", "appeals_body", "year"} <= names("/stats", "get", "query")
    assert "If-None-Match" in names("/stats", "get", "header")
    assert "Idempotency-Key" in names("/applications", "post", "header")
    assert "Idempotency-Key" in names("/cases", "post", "header")
    for path in spec["paths"]:
        if path.startswith("/cases/{ref}/") and "letters" not in path and "partner-requests" not in path:
            assert "If-Match" in names(path, "post", "header"), path


def test_error_responses_are_documented(spec):
    post = spec["paths"]["/applications"]["post"]
    assert {"201", "400", "403", "413", "415", "422"} <= set(post["responses"])
    step = spec["paths"]["/cases/{ref}/threshold-decision"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "415", "422"} <= set(step)
    conflict = spec["components"]["schemas"]["CaseConflict"]
    assert {"type", "title", "status", "errors", "current_status", "version"} <= set(conflict["required"])
    assert step["409"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/CaseConflict"}
    assert "application/problem+json" in step["422"]["content"]


# ---------------------------------------------------------------- every example, posted as it is


def _apply(client, body) -> str:
    response = client.http.post("/applications", headers=JSON, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["reference"]


class Staff:
    """Brings a fresh case to the state a step needs, through the API itself."""

    def __init__(self, client, spoc: str, appeals: str, today: date, outbox):
        self.client, self.spoc, self.appeals, self.today, self.outbox = client, spoc, appeals, today, outbox

    def post(self, path: str, body: Any, auth: str) -> dict[str, Any]:
        response = self.client.http.post(path, headers={**JSON, "Authorization": auth}, body=json.dumps(body))
        assert response.status_code == 200, (path, response.status_code, response.body[:400])
        return response.json_body

    def acknowledged(self) -> str:
        from chalicelib.openapi import example_application

        return _apply(self.client, example_application(self.today))

    def awaiting_consent(self) -> str:
        from chalicelib.openapi import example_on_behalf

        return _apply(self.client, example_on_behalf(self.today))

    def review_pending(self) -> str:
        ref = self.acknowledged()
        self.post(f"/cases/{ref}/threshold-decision", {"decision": "met", "reasons": "Met."}, self.spoc)
        return ref

    def meeting_scheduled(self) -> str:
        """A meeting arranged for today, so an outcome or draft plan can be recorded as held today."""
        from chalicelib.openapi import example_meeting

        ref = self.review_pending()
        self.post(f"/cases/{ref}/meeting", {**example_meeting(self.today), "date": self.today.isoformat()}, self.spoc)
        return ref

    def entered_by_staff(self) -> str:
        from chalicelib.openapi import example_application

        response = self.client.http.post("/cases", headers={**JSON, "Authorization": self.spoc}, body=json.dumps(
            {"channel": "paper", "application": example_application(self.today), "acknowledgement": "by_staff"}))
        assert response.status_code == 201, response.body
        return response.json_body["reference"]


    def monitoring(self) -> str:
        from datetime import timedelta

        ref = self.meeting_scheduled()
        self.post(f"/cases/{ref}/outcome", {"held_on": self.today.isoformat(), "findings": "f", "actions": [
            {"description": "Visit", "agency": "Police", "lead_officer": "PC Lee",
             "due_on": (self.today + timedelta(days=7)).isoformat(), "victim_agreed": True}]}, self.spoc)
        return ref

    def threshold_not_met(self) -> str:
        ref = self.acknowledged()
        self.post(f"/cases/{ref}/threshold-decision", {"decision": "not_met", "reasons": "Too few reports."}, self.spoc)
        return ref

    def appeal_lodged(self) -> str:
        ref = self.threshold_not_met()
        self.post(f"/cases/{ref}/appeal", {"against": "threshold_decision", "lodged_on": self.today.isoformat(),
                                           "grounds": "Missed reports."}, self.appeals)
        return ref

    def on_legal_hold(self) -> str:
        ref = self.acknowledged()
        self.post(f"/cases/{ref}/legal-hold", {"reason": "A claim."}, self.spoc)
        return ref

    def partner_link(self) -> str:
        from chalicelib.adapters.tables import PartnerRequestRecord

        ref = self.acknowledged()
        police = next(r for r in PartnerRequestRecord.query(ref) if r.partner_kind == "police")
        for message in self.outbox(police.email):
            found = LINK.search(message.body)
            if found and ref in message.body + message.subject:
                return found.group(1)
        raise AssertionError(f"no partner link was emailed for {ref}")


# (path, method) -> (the state to start from, who sends it): the URL to post to, with the real ids.
PREPARE: dict[tuple[str, str], Callable[[Staff], tuple[str, str | None]]] = {
    ("/applications", "post"): lambda s: ("/applications", None),
    ("/partner/{token}", "post"): lambda s: (f"/partner/{s.partner_link()}", None),
    ("/cases", "post"): lambda s: ("/cases", s.spoc),
    ("/agency-reviews", "post"): lambda s: ("/agency-reviews", s.spoc),
    ("/cases/{ref}/partner-requests/{request_id}/reissue", "post"):
        lambda s: (f"/cases/{s.acknowledged()}/partner-requests/P01/reissue", s.spoc),
    ("/cases/{ref}/partner-requests/{request_id}/address", "post"):
        lambda s: (f"/cases/{s.acknowledged()}/partner-requests/P01/address", s.spoc),
    ("/cases/{ref}/notes", "post"): lambda s: (f"/cases/{s.acknowledged()}/notes", s.spoc),
    ("/cases/{ref}/legal-hold", "post"): lambda s: (f"/cases/{s.acknowledged()}/legal-hold", s.spoc),
    ("/cases/{ref}/legal-hold/lift", "post"): lambda s: (f"/cases/{s.on_legal_hold()}/legal-hold/lift", s.spoc),
    ("/print-queue/printed", "post"): lambda s: ("/print-queue/printed", s.spoc),
    ("/cases/{ref}/consent", "post"): lambda s: (f"/cases/{s.awaiting_consent()}/consent", s.spoc),
    ("/cases/{ref}/acknowledgement", "post"): lambda s: (f"/cases/{s.entered_by_staff()}/acknowledgement", s.spoc),
    ("/cases/{ref}/draft-plan", "post"): lambda s: (f"/cases/{s.meeting_scheduled()}/draft-plan", s.spoc),
    ("/cases/{ref}/threshold-decision", "post"): lambda s: (f"/cases/{s.acknowledged()}/threshold-decision", s.spoc),
    ("/cases/{ref}/meeting", "post"): lambda s: (f"/cases/{s.review_pending()}/meeting", s.spoc),
    ("/cases/{ref}/outcome", "post"): lambda s: (f"/cases/{s.meeting_scheduled()}/outcome", s.spoc),
    ("/cases/{ref}/actions/{action_id}", "post"): lambda s: (f"/cases/{s.monitoring()}/actions/A1", s.spoc),
    ("/cases/{ref}/close", "post"): lambda s: (f"/cases/{s.monitoring()}/close", s.spoc),
    ("/cases/{ref}/withdraw", "post"): lambda s: (f"/cases/{s.acknowledged()}/withdraw", s.spoc),
    ("/cases/{ref}/reject", "post"): lambda s: (f"/cases/{s.acknowledged()}/reject", s.spoc),
    ("/cases/{ref}/appeal", "post"): lambda s: (f"/cases/{s.threshold_not_met()}/appeal", s.appeals),
    ("/cases/{ref}/appeal-decision", "post"): lambda s: (f"/cases/{s.appeal_lodged()}/appeal-decision", s.appeals),
}


def _examples(spec: dict[str, Any]):
    for path, method, operation in operations(spec):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            named = dict(content.get("examples", {}))
            if "example" in content:
                named["example"] = {"value": content["example"]}
            for name, example in named.items():
                yield path, method, media, name, example["value"]


def test_every_request_body_has_a_schema_and_an_example(spec):
    with_examples = {(path, method, media) for path, method, media, _, _ in _examples(spec)}
    for path, method, operation in operations(spec):
        body = operation.get("requestBody")
        if not body:
            continue
        if path.startswith("/console/"):
            # The staff console's own HTML forms (session and CSRF token, no JSON twin): posted by
            # tests/api/test_console_auth.py, not from an example.
            assert set(body["content"]) == {"application/x-www-form-urlencoded"}, f"{method} {path}"
            assert all(content.get("schema") for content in body["content"].values()), f"{method} {path}"
            continue
        assert "application/json" in body["content"], f"{method} {path}"
        for media, content in body["content"].items():
            assert content.get("schema"), f"{method} {path} {media}"
            assert (path, method, media) in with_examples, f"{method} {path} has no {media} example"


# The examples are relative to the document's date: post them before the dates the old fixed examples used,
# and on a leap day two years later.
@pytest.mark.parametrize("now", ["2026-06-15T10:00:00+00:00", "2028-02-29T12:00:00+00:00"])
def test_every_example_is_accepted_as_it_is(client, token, clock, outbox, now):
    from chalicelib import wiring
    from chalicelib.clock import london_date

    clock.set(now)
    spec = client.http.get("/openapi.json").json_body
    areas = sorted(wiring.policies())
    staff = Staff(client, token("spoc", areas), token("appeals", areas, name="Opcc Officer"),
                  london_date(clock()), outbox)
    posted = []
    for path, method, media, name, value in _examples(spec):
        step = (path.removesuffix("/preview"), method)  # a preview is posted as its step is, to /preview
        assert step in PREPARE, f"no way to post the example {name!r} of {method} {path}: add it to PREPARE"
        url, auth = PREPARE[step](staff)
        if path.endswith("/preview"):
            url += "/preview"
        headers = {"Content-Type": media, **({"Authorization": auth} if auth else {})}
        body = urlencode(value) if media == "application/x-www-form-urlencoded" else json.dumps(value)
        response = client.http.request(method.upper(), url, headers=headers, body=body.encode())
        assert 200 <= response.status_code < 300, (method, path, name, response.status_code, response.body[:600])
        documented = spec["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, name, response.status_code)
        posted.append((path, media, name))
    assert len(posted) >= 16  # applications and partner returns (JSON and form), POST /cases, every staff step
