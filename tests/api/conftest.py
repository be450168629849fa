from __future__ import annotations

import time
from typing import Iterator

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


LINK_SECRET = "test-secret-for-partner-links-0123456789abcdef"


@pytest.fixture(autouse=True, scope="session")
def atomic_moto_transactions():
    """moto's TransactWriteItems is not atomic across threads: a cancelled transaction restores a
    copy of whole tables taken when it started, wiping what another thread wrote meanwhile. DynamoDB
    itself is atomic, so make the stand-in atomic too (one transaction at a time); the app's own
    concurrency handling (conditions, versions, retries) is still what the race tests exercise."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    original = DynamoDBBackend.transact_write_items

    def atomic(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    DynamoDBBackend.transact_write_items = atomic
    yield
    DynamoDBBackend.transact_write_items = original


@pytest.fixture
def aws() -> Iterator[None]:
    from aws_stand_in import provisioned_aws

    with provisioned_aws(LINK_SECRET):
        yield


@pytest.fixture
def letter_stream(aws):
    """The letters table's stream as Lambda delivers it to the sender (tests/api/aws_stand_in.py):
    `with letter_stream.paused():` holds it back, `letter_stream.deliver()` sends what was held."""
    import aws_stand_in

    return aws_stand_in.current_stream


@pytest.fixture
def verified_senders(aws) -> None:
    import boto3

    from chalicelib import wiring

    ses = boto3.client("ses", region_name="eu-west-2")
    for policy in wiring.policies().values():
        ses.verify_email_identity(EmailAddress=policy.contacts.sender_email)


@pytest.fixture
def wired(aws, clock, monkeypatch):
    """The app's real wiring, reading time from the test's clock."""
    from chalicelib import wiring

    wiring.reset()
    monkeypatch.setattr(wiring, "utc_now", clock)
    yield wiring
    wiring.reset()


@pytest.fixture
def signer():
    """Signs links with the same secret the app reads from the parameter store."""
    from chalicelib.partner_links import LinkSigner

    return LinkSigner(LINK_SECRET.encode())


@pytest.fixture
def intake(wired):
    return wired.intake()


@pytest.fixture
def partners(wired):
    return wired.partner_returns()


@pytest.fixture
def client(intake, verified_senders):
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


@pytest.fixture
def outbox(aws):
    """What SES was asked to send, as moto recorded it."""

    def messages(to: str | None = None) -> list:
        sent = list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)
        return [m for m in sent if to is None or to in m.destinations.get("ToAddresses", [])]

    return messages


ISSUER, AUDIENCE = "https://login.example.test/tenant", "community-trigger"


@pytest.fixture(scope="session")
def key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def token(key, wired, clock, monkeypatch):
    """Mints tokens as the identity provider would; the app trusts this key for the issuer."""
    import jwt

    from chalicelib.auth import TokenVerifier

    verifier = TokenVerifier(ISSUER, AUDIENCE, keys=lambda kid: key.public_key())
    monkeypatch.setattr(wired, "verifier", lambda: verifier)

    def mint(role: str | list[str] = "spoc", areas: str | list[str] = "derbyshire", *, expired: bool = False,
             audience: str = AUDIENCE, name: str = "Pat SPOC", signer=None) -> str:
        now = int(time.time())
        claims = {"sub": f"user-{name.split()[0].lower()}", "name": name, "iss": ISSUER, "aud": audience,
                  "iat": now - 60, "exp": now - 30 if expired else now + 600,
                  "roles": [role] if isinstance(role, str) else role,
                  "areas": [areas] if isinstance(areas, str) else areas}
        return "Bearer " + jwt.encode(claims, signer or key, algorithm="RS256", headers={"kid": "test"})

    return mint


# ---------------------------------------------------------------- the staff console, signed in


class ConsoleUser:
    """A browser signed in to the console as one person: GETs and form POSTs carry the session
    cookie, and POSTs the session's CSRF token and the console's Origin, as our own pages do."""

    COOKIE = "__Host-ct_session"  # https://ct.example.test (tests/conftest.py's PUBLIC_API_URL)
    ORIGIN = "https://ct.example.test"

    def __init__(self, http, session_id: str, csrf: str, principal):
        self.http, self.session_id, self.csrf, self.principal = http, session_id, csrf, principal

    def get(self, path: str, headers: dict | None = None):
        return self.http.get(path, headers={"Cookie": f"{self.COOKIE}={self.session_id}", **(headers or {})})

    def post(self, path: str, fields: dict | list | None = None, *, csrf: bool = True, headers: dict | None = None):
        """fields: a dict, or a list of (name, value) pairs for repeated names (checkboxes)."""
        from urllib.parse import urlencode

        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
        if csrf:
            pairs.append(("csrf_token", self.csrf))
        return self.http.post(path, body=urlencode(pairs), headers={
            "Cookie": f"{self.COOKIE}={self.session_id}", "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.ORIGIN, **(headers or {})})


@pytest.fixture
def console_as(client):
    """console_as("spoc", "derbyshire") -> a ConsoleUser with a fresh console session (no identity
    provider: the sign-in itself is tests/api/test_console_auth.py's)."""
    from chalicelib.auth import Principal
    from chalicelib.console_session import start_session

    def sign_in(roles: str | list[str] = "spoc", areas: str | list[str] = "derbyshire",
                name: str = "Pat SPOC") -> ConsoleUser:
        principal = Principal(subject=f"user-{name.split()[0].lower()}", name=name,
                              roles=frozenset([roles] if isinstance(roles, str) else roles),
                              areas=frozenset([areas] if isinstance(areas, str) else areas))
        session_id, session = start_session(principal)
        return ConsoleUser(client.http, session_id, session.csrf_secret, principal)

    return sign_in


@pytest.hookimpl(trylast=True)  # after any shuffling (pytest-randomly)
def pytest_collection_modifyitems(session, config, items) -> None:
    """The least-privilege checks wait for their measurement: run them last, when it has had the
    whole session to finish."""
    items.sort(key=lambda item: "measured" in getattr(item, "fixturenames", ()))


def pytest_collection_finish(session) -> None:
    """tests/api/test_least_privilege.py measures by running other test files again: start that run
    now, beside this session, when any test that needs it is going to run."""
    if session.config.option.collectonly:
        return
    if any("measured" in getattr(item, "fixturenames", ()) for item in session.items):
        import test_least_privilege

        out = session.config._tmp_path_factory.getbasetemp() / "least-privilege"  # noqa: SLF001
        out.mkdir(exist_ok=True)
        test_least_privilege.begin(out)


def pytest_sessionfinish(session) -> None:
    """A session that stopped early (-x, Ctrl+C) leaves no measurement running behind it."""
    import sys

    module = sys.modules.get("test_least_privilege")
    for process, _ in (getattr(module, "RUN", {}) or {}).values():
        if process.poll() is None:
            process.terminate()
