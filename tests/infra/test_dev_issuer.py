"""The development issuer's sign-in page and token endpoint, called as plain functions (no server):
it sends codes only to the console's callback on this machine, each code works once, within two
minutes, and only with the PKCE verifier it was issued for."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra import dev_issuer

CALLBACK = "http://127.0.0.1:8000/console/callback"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def issuer(key, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("OUTBOX_PORT", raising=False)
    monkeypatch.delenv("HOST", raising=False)
    now = [time.time()]  # tokens are checked by PyJWT against the real time
    issuer = dev_issuer.DevIssuer(areas=["derbyshire", "hart"], key=key, clock=lambda: now[0])
    issuer.now = now  # the test moves time
    return issuer


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def request(challenge: str, **changes) -> dict[str, str]:
    return {"client_id": dev_issuer.CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "code",
            "scope": "openid profile email", "state": "state-0123456789", "nonce": "nonce-0123456789",
            "code_challenge": challenge, "code_challenge_method": "S256", **changes}


def choose(issuer, challenge, *, name="Pat SPOC", role="spoc", areas=("hart",), **changes) -> dev_issuer.Answer:
    form = {k: [v] for k, v in request(challenge, **changes).items()}
    return issuer.authorize_submit({**form, "name": [name], "role": [role], "areas": list(areas), "action": ["sign_in"]})


def code_of(answer: dev_issuer.Answer) -> str:
    assert answer.status == 303 and answer.location.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(answer.location).query)
    assert query["state"] == ["state-0123456789"]
    return query["code"][0]


def exchange(issuer, code, verifier, **changes) -> dev_issuer.Answer:
    return issuer.token({"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                         "redirect_uri": CALLBACK, "client_id": dev_issuer.CLIENT_ID, **changes})


def test_the_sign_in_page_offers_a_name_the_roles_and_every_area(issuer):
    _, challenge = pkce()
    page = issuer.authorize_page(request(challenge))
    assert page.status == 200
    for text in ('name="name"', 'value="spoc"', 'value="appeals"', 'value="admin"', 'value="derbyshire"',
                 'value="hart"', 'value="*"', "govuk-button", f'value="{challenge}"'):
        assert text in page.body
    assert "<script" not in page.body


@pytest.mark.parametrize("changes", [
    {"redirect_uri": "https://evil.example/console/callback"},
    {"redirect_uri": "http://127.0.0.1:8000/console/callback/../steal"},
    {"redirect_uri": "http://127.0.0.1:9999/console/callback"},
    {"client_id": "someone-else"},
    {"response_type": "token"},
    {"code_challenge_method": "plain"},
    {"code_challenge": ""},
    {"state": ""},
    {"nonce": ""},
])
def test_a_bad_authorization_request_is_refused_on_a_page_never_redirected(issuer, changes):
    _, challenge = pkce()
    page = issuer.authorize_page(request(challenge, **changes))
    assert page.status == 400 and page.location is None and "Sign-in refused" in page.body
    posted = choose(issuer, challenge, **changes)
    assert posted.status == 400 and posted.location is None
    assert issuer.codes == {}


def test_the_code_gives_an_id_token_for_the_console_with_the_nonce_and_an_access_token_for_the_api(issuer, key):
    verifier, challenge = pkce()
    code = code_of(choose(issuer, challenge, name="Opcc Officer", role="appeals", areas=("derbyshire", "hart")))
    answer = exchange(issuer, code, verifier)
    assert answer.status == 200 and answer.content_type == "application/json"
    tokens = json.loads(answer.body)
    id_claims = jwt.decode(tokens["id_token"], key.public_key(), algorithms=["RS256"], audience=dev_issuer.CLIENT_ID,
                           issuer=dev_issuer.issuer_url())
    assert id_claims["nonce"] == "nonce-0123456789" and id_claims["name"] == "Opcc Officer"
    assert id_claims["roles"] == ["appeals"] and id_claims["areas"] == ["derbyshire", "hart"]
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == dev_issuer.KID
    access = jwt.decode(tokens["access_token"], key.public_key(), algorithms=["RS256"], audience=dev_issuer.AUDIENCE,
                        options={"verify_exp": False})
    assert access["roles"] == ["appeals"]


def test_a_code_works_once(issuer):
    verifier, challenge = pkce()
    code = code_of(choose(issuer, challenge))
    assert exchange(issuer, code, verifier).status == 200
    again = exchange(issuer, code, verifier)
    assert again.status == 400 and json.loads(again.body) == {"error": "invalid_grant"}


def test_pkce_is_verified_and_a_wrong_verifier_spends_the_code(issuer):
    verifier, challenge = pkce()
    code = code_of(choose(issuer, challenge))
    assert json.loads(exchange(issuer, code, "x" * 64).body) == {"error": "invalid_grant"}
    assert exchange(issuer, code, verifier).status == 400  # an attacker's guess used it up


@pytest.mark.parametrize("changes, error", [
    ({"redirect_uri": "http://localhost:8000/console/callback"}, "invalid_grant"),
    ({"client_id": "someone-else"}, "invalid_client"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_the_token_request_must_match_the_authorization(issuer, changes, error):
    verifier, challenge = pkce()
    code = code_of(choose(issuer, challenge))
    assert json.loads(exchange(issuer, code, verifier, **changes).body) == {"error": error}


def test_a_code_expires_after_two_minutes(issuer):
    verifier, challenge = pkce()
    code = code_of(choose(issuer, challenge))
    issuer.now[0] += 121
    assert exchange(issuer, code, verifier).status == 400


def test_a_choice_that_is_not_allowed_shows_the_page_again(issuer):
    _, challenge = pkce()
    for answer in (choose(issuer, challenge, name=" "), choose(issuer, challenge, role="superuser"),
                   choose(issuer, challenge, areas=()), choose(issuer, challenge, areas=("atlantis",))):
        assert answer.status == 422 and "There is a problem" in answer.body and answer.location is None
    assert issuer.codes == {}


def test_cancel_goes_back_to_the_console_with_access_denied(issuer):
    _, challenge = pkce()
    form = {k: [v] for k, v in request(challenge).items()}
    answer = issuer.authorize_submit({**form, "action": ["cancel"]})
    assert answer.status == 303
    assert parse_qs(urlsplit(answer.location).query) == {"error": ["access_denied"], "state": ["state-0123456789"]}


def test_end_session_returns_only_to_the_console(issuer):
    back = issuer.end_session({"post_logout_redirect_uri": "http://127.0.0.1:8000/console/signed-out"})
    assert back.status == 303 and back.location == "http://127.0.0.1:8000/console/signed-out"
    elsewhere = issuer.end_session({"post_logout_redirect_uri": "https://evil.example/"})
    assert elsewhere.status == 200 and elsewhere.location is None


def test_the_api_is_told_to_trust_it_for_the_console():
    env = dev_issuer.environment()
    assert env["OIDC_ISSUER"] == dev_issuer.issuer_url() == dev_issuer.openid_configuration()["issuer"]
    assert env["OIDC_CLIENT_ID"] == dev_issuer.CLIENT_ID
    assert dev_issuer.openid_configuration()["code_challenge_methods_supported"] == ["S256"]
