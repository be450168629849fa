"""Property-based fuzz of GET /openapi.json with schemathesis: every documented operation is called
in-process (the Chalice app through chalice's local API Gateway, as WSGI) against moto, with staff
tokens that pass the authorizer and path parameters that often name real cases, letters and requests.

Each response must: not be a server error, have a documented status code and content type, and
conform to the documented schema. Bounded (max_examples, deadline) to run in a few minutes on 2 cores."""
from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import zlib
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from chalicelib.openapi import example_application, example_meeting, example_on_behalf

from wsgi_adapter import wsgi_app  # tests/api is on sys.path (rootdir-relative test modules)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 50  # per operation and generation mode; with the examples and coverage phases ~3,300 requests, ~100 s
JSON = {"Content-Type": "application/json"}
PARTNER_LINK = re.compile(re.escape(os.environ["PUBLIC_API_URL"]) + r"/partner/([A-Za-z0-9_.\-]+)")


class Seeded:
    """Real data for path parameters, and the staff tokens."""

    def __init__(self) -> None:
        self.refs: list[str] = []
        self.letters: list[tuple[str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self.actions: list[tuple[str, str]] = []
        self.partner_tokens: list[str] = []
        self.spoc = self.appeals = ""
        self.statuses: collections.Counter = collections.Counter()  # (operation, status) -> requests


def _seed(client, today, spoc, appeals) -> Seeded:
    from chalicelib.adapters.tables import LetterRecord, PartnerRequestRecord

    seeded = Seeded()
    seeded.spoc, seeded.appeals = spoc, appeals

    def post(path, body, auth=None):
        headers = {**JSON, **({"Authorization": auth} if auth else {})}
        response = client.http.post(path, headers=headers, body=json.dumps(body))
        assert response.status_code in (200, 201), (path, response.status_code, response.body[:300])
        return response.json_body

    by_post = example_application(today)
    by_post["victim"]["preferred_contact"] = "post"  # a letter in the print queue
    acknowledged = post("/applications", example_application(today))["reference"]
    awaiting = post("/applications", example_on_behalf(today))["reference"]
    printed = post("/applications", by_post)["reference"]
    not_met = post("/applications", example_application(today, area="hart"))["reference"]
    post(f"/cases/{not_met}/threshold-decision", {"decision": "not_met", "reasons": "Too few reports."}, spoc)
    monitoring = post("/applications", example_application(today))["reference"]
    post(f"/cases/{monitoring}/threshold-decision",
         {"decision": "met", "reasons": "Met.", "meeting": {**example_meeting(today), "date": today.isoformat()}}, spoc)
    post(f"/cases/{monitoring}/outcome", {"held_on": today.isoformat(), "findings": "Agencies worked alone.", "actions": [
        {"description": "Joint visit", "agency": "Police", "lead_officer": "PC Lee",
         "due_on": (today + timedelta(days=14)).isoformat(), "victim_agreed": True}]}, spoc)
    seeded.refs = [acknowledged, awaiting, printed, not_met, monitoring]
    seeded.actions = [(monitoring, "A1")]
    for ref in seeded.refs:
        seeded.letters += [(ref, l.letter_id) for l in LetterRecord.query(ref)]
        seeded.requests += [(ref, r.request_id) for r in PartnerRequestRecord.query(ref)]
    # The partners' secure links, as emailed (moto keeps what SES was asked to send).
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    seeded.partner_tokens = sorted({m for message in sent for m in PARTNER_LINK.findall(message.body or "")})
    assert seeded.partner_tokens, "no partner links were emailed"
    return seeded


ISSUER, AUDIENCE = "https://login.example.test/fuzz", "community-trigger"


@pytest.fixture(scope="module")
def fuzz_env(key):
    """One moto for the whole fuzz (module scope: seeded once)."""
    with fuzz_environment(key) as seeded:
        yield seeded
        print(f"\nfuzz: {sum(seeded.statuses.values())} requests")
        for (label, status), n in sorted(seeded.statuses.items()):
            print(f"  {label:55} {status}: {n}")


@contextlib.contextmanager
def fuzz_environment(key):
    """moto with the tables, the link secret, verified senders, an identity provider the app trusts,
    and a few cases in every state that has a step. The app runs on the real clock, the same date as
    the document's examples."""
    import time

    import jwt
    from aws_stand_in import provisioned_aws
    from chalice.test import Client

    from chalicelib import wiring
    from chalicelib.auth import TokenVerifier
    from chalicelib.clock import london_date, utc_now

    def mint(role: str, areas: list[str], name: str) -> str:
        now = int(time.time())
        claims = {"sub": f"user-{name.split()[0].lower()}", "name": name, "iss": ISSUER, "aud": AUDIENCE,
                  "iat": now - 60, "exp": now + 3600, "roles": [role], "areas": areas}
        return "Bearer " + jwt.encode(claims, key, algorithm="RS256", headers={"kid": "fuzz"})

    with provisioned_aws("fuzz-secret-for-partner-links-0123456789abcdef", verify_senders=True), \
            pytest.MonkeyPatch.context() as patch:
        verifier = TokenVerifier(ISSUER, AUDIENCE, keys=lambda kid: key.public_key())
        patch.setattr(wiring, "verifier", lambda: verifier)
        patch.setattr(wiring, "oidc", lambda: console_provider(key))
        areas = sorted(wiring.policies())
        with Client(app) as client:
            seeded = _seed(client, london_date(utc_now()), mint("spoc", areas, "Pat SPOC"),
                           mint("appeals", areas, "Opcc Officer"))
        yield seeded


def console_provider(key):
    """The console's identity provider, stood in: discovery answers, every code is refused."""
    from chalicelib.oidc import OidcClient, OidcSettings

    document = {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/keys", "end_session_endpoint": f"{ISSUER}/logout"}
    return OidcClient(OidcSettings(issuer=ISSUER, client_id="ct-console", discovery_url=f"{ISSUER}/discovery"),
                      fetch_json=lambda url: document, post=lambda url, fields, headers: (400, {"error": "invalid_grant"}),
                      keys_for=lambda uri: lambda kid: key.public_key())


# Read from the app itself (no AWS needed): what is fuzzed is exactly what GET /openapi.json serves.
schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_app(app))
# Failures must name the exact request, Idempotency-Key included (the tokens are the test's own).
schema.config.output.sanitization.enabled = False


def _pick(options: list, generated: object) -> object | None:
    """Deterministically (for shrinking and replay) swap two in three generated values for real ones."""
    if not options:
        return None
    h = zlib.crc32(repr(generated).encode())
    return None if h % 3 == 0 else options[h % len(options)]


def _real_path_parameters(case, seeded: Seeded) -> None:
    params = case.path_parameters
    if params and "token" in params:
        chosen = _pick(seeded.partner_tokens, params)
        if chosen:
            params["token"] = chosen
    if not params or "ref" not in params:
        return
    if "action_id" in params:
        chosen = _pick(seeded.actions, params)
        if chosen:
            params["ref"], params["action_id"] = chosen
    elif "letter_id" in params:
        chosen = _pick(seeded.letters, params)
        if chosen:
            params["ref"], params["letter_id"] = chosen
    elif "request_id" in params:
        chosen = _pick(seeded.requests, params)
        if chosen:
            params["ref"], params["request_id"] = chosen
    else:
        chosen = _pick(seeded.refs, params)
        if chosen:
            params["ref"] = chosen


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=timedelta(seconds=5), derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case, fuzz_env):
    """No 5xx; documented status codes and content types; bodies that match the documented schemas."""
    _real_path_parameters(case, fuzz_env)
    headers = {}
    if case.operation.definition.raw.get("security"):
        headers["Authorization"] = fuzz_env.appeals if "appeal" in case.path else fuzz_env.spoc
    response = case.call(headers=headers)
    fuzz_env.statuses[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
