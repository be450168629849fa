"""Bad input against the stack as `make run` starts it (the real HTTP server, DynamoDB Local): the
cases the in-process suite cannot reach (declared sizes, raw bytes), and what reaches the logs."""
from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
import urllib.request

import pytest

from .conftest import call, sent

pytestmark = pytest.mark.e2e


def raw_request(api: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    host = urllib.parse.urlsplit(api)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    connection.putrequest(method, path)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    if body:
        connection.send(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def test_a_declared_huge_body_is_refused_before_it_is_read(stack):
    status, data = raw_request(stack["api"], "POST", "/applications",
                               headers={"Content-Type": "application/json", "Content-Length": str(50 * 1024 * 1024)})
    assert status == 413 and json.loads(data)["errors"][0]["field"] == "body"


def test_a_nonsense_content_length_is_400(stack):
    status, data = raw_request(stack["api"], "POST", "/applications",
                               headers={"Content-Type": "application/json", "Content-Length": "²"})
    assert status == 400


@pytest.mark.parametrize("path", ["/stats?area=hart&year=%C2%B2%E2%81%B0%C2%B2%E2%81%B6",
                                  "/stats.csv?area=hart&year=%D9%A2%D9%A0%D9%A2%D9%A6"])
def test_unicode_digit_years_are_400_over_http(stack, path):
    status, data = raw_request(stack["api"], "GET", path)
    assert status == 400 and json.loads(data)["errors"][0]["field"] == "year"


def test_deep_json_is_400_over_http(stack):
    body = ("[" * 5000 + "]" * 5000).encode()
    status, data = raw_request(stack["api"], "POST", "/applications", body,
                               {"Content-Type": "application/json", "Content-Length": str(len(body))})
    assert status == 400 and len(data) < 2_000


def test_partner_tokens_and_what_people_typed_never_reach_the_stack_output(stack):
    """Apply, open a partner link and post to it: the stack's whole output (the API's request log,
    the app's JSON log, the local servers) holds neither the token nor the applicant's details."""
    status, spec = call("GET", f"{stack['api']}/openapi.json")
    example = spec["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]["examples"]["victim"]["value"]
    example = {**example, "victim": {**example["victim"], "name": "Quentin Uniquename"}}
    status, receipt = call("POST", f"{stack['api']}/applications", example)
    assert status == 201, receipt
    bodies = [m["body"] for m in sent(stack["outbox"], lambda m: receipt["reference"] in m["subject"]
                                      and "/partner/" in m["body"])]
    tokens = [t for body in bodies for t in re.findall(r"/partner/([A-Za-z0-9_.\-]{40,})", body)]
    assert tokens
    token = tokens[0]
    assert raw_request(stack["api"], "GET", f"/partner/{token}")[0] == 200
    assert raw_request(stack["api"], "POST", f"/partner/{token}", b"{", {"Content-Type": "application/json",
                                                                          "Content-Length": "1"})[0] == 400
    time.sleep(0.5)  # let the stack's output be read
    output = "".join(stack["output"])
    assert "/partner/{token}" in output  # the request log is there, with the route
    assert token not in output and token[:24] not in output
    for typed in ("Quentin Uniquename", example["victim"]["email"], example["victim"]["address"]["line1"]):
        assert typed not in output


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_a_method_no_route_has_is_a_405_problem_not_a_5xx(stack, method):
    status, data = raw_request(stack["api"], method, "/stats/widget.js")
    assert status == 405
    assert json.loads(data)["errors"][0]["field"] == "method"


def test_a_malformed_request_line_is_a_4xx_problem(stack):
    import socket

    host = urllib.parse.urlsplit(stack["api"])
    with socket.create_connection((host.hostname, host.port), timeout=10) as s:
        s.sendall(b"GET /stats?area=hart HTTP/9.9 extra\r\n\r\n")
        reply = s.recv(4096).decode("latin-1")
    # No version could be read, so the answer is HTTP/0.9 style (no status line): the problem body alone.
    body = reply.split("\r\n\r\n", 1)[-1]
    assert json.loads(body)["status"] == 400, reply[:300]
