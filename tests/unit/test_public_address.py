"""Without a council domain the API learns its execute-api address from its first request."""
from __future__ import annotations

from types import SimpleNamespace

from chalicelib.routes.address import learn_public_address


def request(domain: str | None, stage: str | None = "api") -> SimpleNamespace:
    return SimpleNamespace(context={"domainName": domain, "stage": stage})


def test_the_first_request_gives_the_api_its_execute_api_address(monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "")
    assert learn_public_address(request("abc123.execute-api.eu-west-2.amazonaws.com"), lambda e: "answer") == "answer"
    import os

    assert os.environ["PUBLIC_API_URL"] == "https://abc123.execute-api.eu-west-2.amazonaws.com/api"
    learn_public_address(request("other.execute-api.eu-west-2.amazonaws.com"), lambda e: None)
    assert os.environ["PUBLIC_API_URL"] == "https://abc123.execute-api.eu-west-2.amazonaws.com/api"


def test_a_configured_address_is_kept(monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "https://asb.wendle.gov.uk/api")
    learn_public_address(request("abc123.execute-api.eu-west-2.amazonaws.com"), lambda e: None)
    import os

    assert os.environ["PUBLIC_API_URL"] == "https://asb.wendle.gov.uk/api"


def test_no_address_is_learned_from_anything_but_api_gateway(monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "")
    for event in (request(None), request("127.0.0.1:8000"), request("evil.example", "api"),
                  request("abc.execute-api.eu-west-2.amazonaws.com", None), SimpleNamespace()):
        learn_public_address(event, lambda e: None)
    import os

    assert os.environ["PUBLIC_API_URL"] == ""
