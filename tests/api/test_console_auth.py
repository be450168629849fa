"""Signing in to the staff console: the OpenID Connect code flow with PKCE against a fake provider
in-process (discovery and token endpoint stood in; id_tokens signed with the test key), the
server-side session (idle and absolute limits, sign-out), CSRF, and the cookies' attributes."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

BASE = "https://ct.example.test/api"  # PUBLIC_API_URL in tests/conftest.py
ISSUER = "https://login.example.test/console-tenant"
CLIENT_ID = "ct-console"
SESSION = "__Host-ct_session"
SIGN_IN = "__Host-ct_sign_in"


class FakeProvider:
    """Discovery, an authorization step that issues one-time codes bound to the PKCE challenge,
    and a token endpoint that signs id_tokens (claims can be spoiled per code)."""

    def __init__(self, key):
        self.key, self.codes, self.token_requests, self.base = key, {}, [], BASE
        self.discovery = {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/oauth2/authorize",
                          "token_endpoint": f"{ISSUER}/oauth2/token", "jwks_uri": f"{ISSUER}/keys",
                          "end_session_endpoint": f"{ISSUER}/logout", "code_challenge_methods_supported": ["S256"]}

    def fetch_json(self, url):
        assert url == f"{ISSUER}/.well-known/openid-configuration"
        return self.discovery

    def authorize(self, location: str, **claims) -> tuple[str, str]:
        """The person signs in at the provider: a code for the console's callback, and the state."""
        url = urlsplit(location)
        assert f"{url.scheme}://{url.netloc}{url.path}" == self.discovery["authorization_endpoint"]
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID and q["code_challenge_method"] == "S256"
        assert q["redirect_uri"] == f"{self.base}/console/callback" and q["scope"] == "openid profile email"
        code = f"code-{len(self.codes)}"
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "redirect_uri": q["redirect_uri"],
                            "claims": claims}
        return code, q["state"]

    def post(self, url, fields, headers):
        import jwt

        assert url == self.discovery["token_endpoint"]
        self.token_requests.append(fields)
        issued = self.codes.pop(fields["code"], None)  # a code works once
        if issued is None:
            return 400, {"error": "invalid_grant"}
        verifier = fields["code_verifier"].encode()
        if base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode() != issued["challenge"]:
            return 400, {"error": "invalid_grant"}
        assert fields["redirect_uri"] == issued["redirect_uri"] and fields["client_id"] == CLIENT_ID
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "user-pat", "name": "Pat SPOC", "iat": now - 5,
                  "exp": now + 600, "nonce": issued["nonce"], "roles": ["spoc"], "areas": ["derbyshire", "hart"],
                  **issued["claims"]}
        signer = claims.pop("signer", self.key)
        return 200, {"id_token": jwt.encode(claims, signer, algorithm="RS256", headers={"kid": "k1"}),
                     "access_token": "opaque", "token_type": "Bearer"}


@pytest.fixture
def provider(key, wired, monkeypatch):
    from chalicelib.oidc import OidcClient, OidcSettings

    fake = FakeProvider(key)
    client = OidcClient(OidcSettings(issuer=ISSUER, client_id=CLIENT_ID,
                                     discovery_url=f"{ISSUER}/.well-known/openid-configuration"),
                        fetch_json=fake.fetch_json, post=fake.post, keys_for=lambda uri: lambda kid: key.public_key())
    monkeypatch.setattr(wired, "oidc", lambda: client)
    return fake


@pytest.fixture
def console(provider):
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


def set_cookies(response) -> list[str]:
    value = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    return [value] if isinstance(value, str) else list(value)


def cookie(response, name: str) -> str | None:
    for header in set_cookies(response):
        if header.startswith(name + "="):
            return header.split(";")[0].split("=", 1)[1]
    return None


def start(console, next_path: str | None = "/console/"):
    path = "/console/sign-in" + (f"?{urlencode({'next': next_path})}" if next_path is not None else "")
    response = console.http.get(path)
    assert response.status_code == 302, response.body
    return response


def sign_in(console, provider, next_path: str | None = "/console/", **claims):
    """The whole flow, as a browser does it: the callback's response and the session cookie."""
    started = start(console, next_path)
    code, state = provider.authorize(started.headers["Location"], **claims)
    answer = console.http.get(f"/console/callback?{urlencode({'code': code, 'state': state})}",
                              headers={"Cookie": f"{SIGN_IN}={cookie(started, SIGN_IN)}"})
    return answer, cookie(answer, SESSION)


def get(console, path: str, session: str | None):
    return console.http.get(path, headers={"Cookie": f"{SESSION}={session}"} if session else {})


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode()).group(1)


# ---------------------------------------------------------------- the code flow


def test_the_whole_code_flow_signs_in_and_shows_who(console, provider):
    answer, session = sign_in(console, provider, "/console/")
    assert answer.status_code == 303 and answer.headers["Location"] == f"{BASE}/console/"
    assert session
    page = get(console, "/console/", session)
    assert page.status_code == 200
    assert "Signed in as Pat SPOC, spoc, derbyshire, hart" in page.body.decode()
    assert page.headers["Cache-Control"] == "no-store"
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    # PKCE: the token request carried the verifier whose S256 the provider checked.
    assert len(provider.token_requests) == 1 and len(provider.token_requests[0]["code_verifier"]) >= 43


def test_the_session_table_keeps_a_hash_of_the_id_not_the_id(console, provider):
    from chalicelib.adapters.tables import ConsoleSessionRecord

    _, session = sign_in(console, provider)
    records = list(ConsoleSessionRecord.scan())
    assert [r.session_hash for r in records] == [hashlib.sha256(session.encode()).hexdigest()]
    assert records[0].name == "Pat SPOC" and records[0].roles == "spoc" and records[0].areas == "derbyshire hart"


def test_roles_and_areas_come_from_the_configured_claims(console, provider, monkeypatch, key):
    """Cognito names them differently: the same settings as the staff API's bearer tokens."""
    from chalicelib import wiring
    from chalicelib.oidc import OidcClient, OidcSettings

    client = OidcClient(OidcSettings(issuer=ISSUER, client_id=CLIENT_ID, roles_claim="cognito:groups",
                                     areas_claim="custom:areas", discovery_url=f"{ISSUER}/.well-known/openid-configuration"),
                        fetch_json=provider.fetch_json, post=provider.post, keys_for=lambda uri: lambda kid: key.public_key())
    monkeypatch.setattr(wiring, "oidc", lambda: client)
    _, session = sign_in(console, provider, roles=None, areas=None,
                         **{"cognito:groups": ["appeals", "not-a-role"], "custom:areas": "hart,dacorum"})
    assert "Signed in as Pat SPOC, appeals, dacorum, hart" in get(console, "/console/", session).body.decode()


def test_the_authorization_request_has_a_fresh_state_nonce_and_s256_challenge(console):
    one, two = (parse_qs(urlsplit(start(console).headers["Location"]).query) for _ in range(2))
    for name in ("state", "nonce", "code_challenge"):
        assert one[name] != two[name]
    assert len(one["code_challenge"][0]) == 43 and one["code_challenge_method"] == ["S256"]


@pytest.mark.parametrize("spoil", ["state", "replayed", "nonce", "audience", "expired", "signature", "no_cookie",
                                   "tampered_cookie"])
def test_a_callback_that_does_not_check_out_is_refused(console, provider, spoil):
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = {"nonce": {"nonce": "someone-elses-nonce"}, "audience": {"aud": "another-client"},
              "expired": {"exp": int(time.time()) - 120, "iat": int(time.time()) - 900},
              "signature": {"signer": rsa.generate_private_key(public_exponent=65537, key_size=2048)}}.get(spoil, {})
    started = start(console)
    code, state = provider.authorize(started.headers["Location"], **claims)
    flow = cookie(started, SIGN_IN)
    if spoil == "replayed":
        first = console.http.get(f"/console/callback?code={code}&state={state}", headers={"Cookie": f"{SIGN_IN}={flow}"})
        assert first.status_code == 303
    if spoil == "state":
        state = state[:-2] + "xx"
    headers = {} if spoil == "no_cookie" else {"Cookie": f"{SIGN_IN}={flow[:-3] + 'AAA' if spoil == 'tampered_cookie' else flow}"}
    answer = console.http.get(f"/console/callback?code={code}&state={state}", headers=headers)
    assert answer.status_code == 400, (spoil, answer.status_code)
    assert cookie(answer, SESSION) is None
    body = answer.body.decode()
    assert "govuk-heading-l" in body and "Sign in again" in body
    assert "/console/sign-in?next=%2Fconsole%2F" in body


def test_the_provider_saying_no_is_a_page_with_a_way_back(console, provider):
    started = start(console, "/console/?view=mine")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    answer = console.http.get(f"/console/callback?error=access_denied&error_description=%3Cscript%3E&state={state}",
                              headers={"Cookie": f"{SIGN_IN}={cookie(started, SIGN_IN)}"})
    assert answer.status_code == 400
    body = answer.body.decode()
    assert "You have not been signed in" in body and "<script>" not in body
    assert f"/console/sign-in?next={quote('/console/?view=mine', safe='')}" in body
    assert provider.token_requests == []


def test_an_account_without_a_role_here_is_refused(console, provider):
    answer, session = sign_in(console, provider, roles=["reader"])
    assert answer.status_code == 403 and session is None
    assert "You do not have access" in answer.body.decode()


def test_sign_in_when_the_provider_cannot_be_reached_is_a_503_page(console, provider):
    from chalicelib.oidc import SignInUnavailable

    def down(url):
        raise SignInUnavailable("discovery: URLError")

    provider.fetch_json = down
    import chalicelib.wiring as wiring

    wiring.oidc().fetch_json = down
    answer = console.http.get("/console/sign-in")
    assert answer.status_code == 503 and "Sign-in is not available" in answer.body.decode()


def test_a_discovery_document_for_another_issuer_is_not_trusted(console, provider):
    provider.discovery["issuer"] = "https://evil.example"
    assert console.http.get("/console/sign-in").status_code == 503


# ---------------------------------------------------------------- where the person goes afterwards


@pytest.mark.parametrize("next_path", ["//evil.example", "https://evil.example", "/\\evil", "/console/../admin",
                                       "/console/%2e%2e/x", "/console//evil.example", "/cases", "", None,
                                       "/console/\r\nSet-Cookie:x=1", "javascript:alert(1)"])
def test_next_never_leaves_the_console(console, provider, next_path):
    answer, _ = sign_in(console, provider, next_path)
    assert answer.headers["Location"] == f"{BASE}/console/"


def test_next_inside_the_console_is_kept_with_its_query(console, provider):
    answer, _ = sign_in(console, provider, "/console/cases/CT-7K3M-9QXR?tab=letters&x=1")
    assert answer.headers["Location"] == f"{BASE}/console/cases/CT-7K3M-9QXR?tab=letters&x=1"


def test_the_page_asked_for_survives_a_path_with_parameters():
    """require_session names the page as the person asked for it (path parameters filled in)."""
    from chalicelib.console_session import SignInRequired, require_session

    class Request:
        method, path, headers = "GET", "/console/cases/{ref}", {}
        uri_params, query_params = {"ref": "CT-7K3M-9QXR"}, {"tab": "letters"}

    with pytest.raises(SignInRequired) as raised:
        require_session(Request())
    assert raised.value.location == f"{BASE}/console/sign-in?next=%2Fconsole%2Fcases%2FCT-7K3M-9QXR%3Ftab%3Dletters"


# ---------------------------------------------------------------- the session's limits


def test_without_a_session_the_page_sends_you_to_sign_in_and_back(console, provider):
    answer = console.http.get("/console/?view=mine")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{BASE}/console/sign-in?next=%2Fconsole%2F%3Fview%3Dmine"
    back, _ = sign_in(console, provider, "/console/?view=mine")
    assert back.headers["Location"] == f"{BASE}/console/?view=mine"


def test_an_idle_session_ends_after_30_minutes_and_sign_in_returns_to_the_page(console, provider, clock):
    _, session = sign_in(console, provider)
    clock.now += timedelta(minutes=29)
    assert get(console, "/console/?view=mine", session).status_code == 200
    clock.now += timedelta(minutes=29)  # sliding: 58 minutes after sign-in, 29 since the last request
    assert get(console, "/console/?view=mine", session).status_code == 200
    clock.now += timedelta(minutes=30)
    expired = get(console, "/console/?view=mine", session)
    assert expired.status_code == 303
    assert expired.headers["Location"] == f"{BASE}/console/sign-in?next=%2Fconsole%2F%3Fview%3Dmine"
    back, fresh = sign_in(console, provider, "/console/?view=mine")
    assert back.headers["Location"] == f"{BASE}/console/?view=mine" and fresh != session


def test_a_busy_session_still_ends_8_hours_after_sign_in(console, provider, clock):
    _, session = sign_in(console, provider)
    for _ in range(19):  # every 25 minutes: never idle
        clock.now += timedelta(minutes=25)
        assert get(console, "/console/", session).status_code == 200
    clock.now += timedelta(minutes=25)  # 8h20 after sign-in
    assert get(console, "/console/", session).status_code == 303


def test_last_seen_is_written_at_most_once_a_minute(console, provider, clock):
    from chalicelib.adapters.tables import ConsoleSessionRecord

    _, session = sign_in(console, provider)
    key = hashlib.sha256(session.encode()).hexdigest()
    signed_in_at = ConsoleSessionRecord.get(key).last_seen
    clock.now += timedelta(seconds=40)
    get(console, "/console/", session)
    assert ConsoleSessionRecord.get(key).last_seen == signed_in_at
    clock.now += timedelta(seconds=30)
    get(console, "/console/", session)
    record = ConsoleSessionRecord.get(key)
    assert record.last_seen == clock().isoformat()
    assert record.expires_at == clock() + timedelta(minutes=30)


def test_a_made_up_or_malformed_session_cookie_opens_nothing(console, provider):
    for value in ["x" * 43, "short", "../../etc", ""]:
        assert get(console, "/console/", value).status_code == 303


# ---------------------------------------------------------------- sign-out and CSRF


def sign_out(console, session, token, **headers):
    return console.http.post("/console/sign-out", body=urlencode({"csrf_token": token} if token is not None else {}),
                             headers={"Cookie": f"{SESSION}={session}",
                                      "Content-Type": "application/x-www-form-urlencoded", **headers})


def test_sign_out_ends_the_session_on_the_server(console, provider):
    from chalicelib.adapters.tables import ConsoleSessionRecord

    _, session = sign_in(console, provider)
    token = csrf_of(get(console, "/console/", session))
    answer = sign_out(console, session, token, Origin="https://ct.example.test")
    assert answer.status_code == 303 and answer.headers["Location"] == f"{BASE}/console/signed-out"
    assert cookie(answer, SESSION) == ""  # the browser forgets it ...
    assert list(ConsoleSessionRecord.scan()) == []  # ... and a copy of it opens nothing
    assert get(console, "/console/", session).status_code == 303
    page = console.http.get("/console/signed-out")
    assert page.status_code == 200 and "You have signed out" in page.body.decode()
    logout = re.search(r'href="(https://login\.example\.test/[^"]+)"', page.body.decode()).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(logout).query)
    assert logout.startswith(f"{ISSUER}/logout?") and query["post_logout_redirect_uri"] == [f"{BASE}/console/signed-out"]
    assert query["client_id"] == [CLIENT_ID]


@pytest.mark.parametrize("token, headers", [
    (None, {"Origin": "https://ct.example.test"}),
    ("wrong-token", {"Origin": "https://ct.example.test"}),
    ("RIGHT", {"Origin": "https://evil.example"}),
    ("RIGHT", {"Origin": "null"}),
    ("RIGHT", {"Referer": "https://evil.example/ct.example.test/api/console/"}),
])
def test_a_post_without_the_right_token_or_from_another_site_is_403(console, provider, token, headers):
    _, session = sign_in(console, provider)
    right = csrf_of(get(console, "/console/", session))
    answer = sign_out(console, session, right if token == "RIGHT" else token, **headers)
    assert answer.status_code == 403
    assert "This form has expired" in answer.body.decode() and "govuk-heading-l" in answer.body.decode()
    assert get(console, "/console/", session).status_code == 200  # still signed in


def test_the_right_token_from_our_own_page_is_accepted_by_referer_too(console, provider):
    _, session = sign_in(console, provider)
    token = csrf_of(get(console, "/console/", session))
    assert sign_out(console, session, token, Referer=f"{BASE}/console/").status_code == 303


def test_check_csrf_without_a_session_asks_to_sign_in_again_back_to_the_form_page():
    from chalicelib.console_session import SignInRequired, check_csrf

    class Request:
        method, path, uri_params, query_params = "POST", "/console/cases/{ref}/notes", {"ref": "CT-7K3M-9QXR"}, {}
        headers = {"referer": f"{BASE}/console/cases/CT-7K3M-9QXR?tab=notes"}

    with pytest.raises(SignInRequired) as raised:
        check_csrf(Request(), {"csrf_token": "x"})
    assert raised.value.next_path == "/console/cases/CT-7K3M-9QXR?tab=notes"


# ---------------------------------------------------------------- the cookies


def attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0] for part in header.split(";")[1:]}


def test_cookies_are_host_only_secure_httponly_and_lax(console, provider):
    started = start(console)
    flow = next(h for h in set_cookies(started) if h.startswith(SIGN_IN + "="))
    assert {"Path", "HttpOnly", "SameSite", "Secure", "Max-Age"} <= attributes(flow)
    assert "SameSite=Lax" in flow and "Path=/;" in flow and "Domain" not in flow
    answer, _ = sign_in(console, provider)
    session = next(h for h in set_cookies(answer) if h.startswith(SESSION + "="))
    assert attributes(session) == {"Path", "HttpOnly", "SameSite", "Secure"}
    assert "SameSite=Lax" in session and "Path=/;" in session
    cleared = next(h for h in set_cookies(answer) if h.startswith(SIGN_IN + "="))
    assert "Max-Age=0" in cleared  # the sign-in's cookie is used once


def test_on_http_localhost_the_cookies_are_not_secure(console, provider, monkeypatch):
    monkeypatch.setenv("CONSOLE_BASE_URL", "http://127.0.0.1:8000")
    provider.base = "http://127.0.0.1:8000"
    started = console.http.get("/console/sign-in")
    flow = next(h for h in set_cookies(started) if h.startswith("ct_sign_in="))
    assert "Secure" not in attributes(flow) and "HttpOnly" in attributes(flow)
    code, state = provider.authorize(started.headers["Location"])
    answer = console.http.get(f"/console/callback?code={code}&state={state}",
                              headers={"Cookie": f"ct_sign_in={cookie(started, 'ct_sign_in')}"})
    assert answer.headers["Location"] == "http://127.0.0.1:8000/console/"
    session = next(h for h in set_cookies(answer) if h.startswith("ct_session="))
    assert attributes(session) == {"Path", "HttpOnly", "SameSite"}
    assert get_named(console, "ct_session", cookie(answer, "ct_session")).status_code == 200


def get_named(console, name, value):
    return console.http.get("/console/", headers={"Cookie": f"other=1; {name}={value}"})


# ---------------------------------------------------------------- the console with the development issuer


def test_the_console_signs_in_with_the_development_issuer(wired, key, monkeypatch):
    """`make run`'s pair, in-process: the console's client against infra/dev_issuer's handlers."""
    from chalice.test import Client

    from app import app
    from chalicelib.oidc import OidcClient, OidcSettings
    from infra import dev_issuer

    for name in ("PORT", "OUTBOX_PORT", "HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONSOLE_BASE_URL", "http://127.0.0.1:8000")
    issuer = dev_issuer.DevIssuer(areas=["derbyshire", "hart"], key=key)

    def post(url, fields, headers):
        assert url == dev_issuer.openid_configuration()["token_endpoint"] and "Authorization" not in headers
        answer = issuer.token(fields)
        return answer.status, json.loads(answer.body)

    settings = OidcSettings(issuer=dev_issuer.issuer_url(), client_id=dev_issuer.CLIENT_ID,
                            discovery_url=f"{dev_issuer.issuer_url()}/.well-known/openid-configuration")
    client = OidcClient(settings, fetch_json=lambda url: dev_issuer.openid_configuration(), post=post,
                        keys_for=lambda uri: lambda kid: key.public_key())
    monkeypatch.setattr(wired, "oidc", lambda: client)
    with Client(app) as console:
        started = console.http.get("/console/sign-in?next=/console/")
        query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["Location"]).query).items()}
        assert started.headers["Location"].startswith(f"{dev_issuer.issuer_url()}/authorize?")
        assert issuer.authorize_page(query).status == 200
        chose = issuer.authorize_submit({**{k: [v] for k, v in query.items()}, "name": ["Sam Admin"],
                                         "role": ["admin"], "areas": ["*"], "action": ["sign_in"]})
        back = urlsplit(chose.location)
        answer = console.http.get(f"{back.path}?{back.query}",
                                  headers={"Cookie": f"ct_sign_in={cookie(started, 'ct_sign_in')}"})
        assert answer.status_code == 303 and answer.headers["Location"] == "http://127.0.0.1:8000/console/"
        page = console.http.get("/console/", headers={"Cookie": f"ct_session={cookie(answer, 'ct_session')}"})
        assert "Signed in as Sam Admin, admin, all areas" in page.body.decode()
        signed_out = console.http.get("/console/signed-out").body.decode()
        assert f'href="{dev_issuer.issuer_url()}/end-session?' in signed_out


def test_the_header_names_the_partnership_of_the_one_area_a_person_works_in(console_as, monkeypatch):
    def header(page) -> str:
        return page.body.decode().split('govuk-header__product-name">', 1)[1].split("<", 1)[0]

    assert header(console_as("spoc", "derbyshire").get("/console")) == "Safer Derbyshire"
    both = console_as("spoc", ["derbyshire", "hart"])
    assert header(both.get("/console")) == "Community Safety Partnership"
    assert "Derbyshire, Hart" in both.get("/console").body.decode()  # the identity bar names the areas
    monkeypatch.setenv("COUNCIL_NAME", "Example District Council")
    assert header(both.get("/console")) == "Example District Council"


@pytest.mark.parametrize("roles, shown, hidden", [
    ("spoc", ["/console/cases", "/console/print-queue", "/console/agency-reviews/new", "/console/reports"],
     ["/console/appeals", "/console/admin/subject-access"]),
    ("appeals", ["/console/appeals", "/console/reports"], ["/console/cases\"", "/console/print-queue", "/console/admin/"]),
    ("admin", ["/console/cases", "/console/appeals", "/console/admin/subject-access"], []),
])
def test_the_start_page_links_to_the_work_a_persons_roles_open(console_as, roles, shown, hidden):
    main = console_as(roles, "derbyshire").get("/console").body.decode().split('id="main-content"', 1)[1]
    for path in shown:
        assert f'href="/api{path}"' in main, path
    for path in hidden:
        assert f'href="/api{path}' not in main, path
