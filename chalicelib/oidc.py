"""Sign-in to the staff console with the council's identity provider by OpenID Connect: the
authorization code flow with PKCE (S256), for Amazon Cognito, Microsoft Entra ID or the local
development issuer. Configuration comes from the environment:

    OIDC_ISSUER                    the issuer (the id_token's iss); discovery is at
                                   <issuer>/.well-known/openid-configuration
    OIDC_DISCOVERY_URL             optional: the discovery document elsewhere
    OIDC_CLIENT_ID                 the console's client (the id_token's aud)
    OIDC_CLIENT_SECRET             optional, for a confidential client (local use) ...
    OIDC_CLIENT_SECRET_PARAMETER   ... or the SSM parameter holding it (deployed:
                                   /community-trigger/<stack>/oidc-client-secret)
    OIDC_SCOPES                    default "openid profile email"
    OIDC_END_SESSION_URL           optional: where to sign out when discovery names no
                                   end_session_endpoint (Cognito: https://<domain>/logout)
    ROLES_CLAIM, AREAS_CLAIM       the same claims the staff API reads (see chalicelib.auth)

Plain urllib with a timeout: two small requests (discovery, token) do not need a dependency.
The signing keys come from the provider's JWKS through chalicelib.auth.jwks_keys.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

from .auth import InvalidToken, Principal, TokenVerifier, jwks_keys

DISCOVERY_SECONDS = 3600
TIMEOUT_SECONDS = 5
MAX_RESPONSE_BYTES = 1_000_000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class SignInUnavailable(Exception):
    """The console cannot ask the provider now: not configured, unreachable, or a bad document."""


class SignInFailed(Exception):
    """The provider refused the code, or what it sent back is not a valid id_token for us."""


def _endpoint(url: Any, what: str) -> str:
    """Only https endpoints, except on this machine (the development issuer)."""
    parts = urllib.parse.urlsplit(str(url or ""))
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return str(url)
    raise SignInUnavailable(f"the {what} is not an https URL")


def get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                    timeout=TIMEOUT_SECONDS) as response:
            data = json.loads(response.read(MAX_RESPONSE_BYTES))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SignInUnavailable(f"discovery: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise SignInUnavailable("discovery: not a JSON object")
    return data


def post_form(url: str, fields: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST a form; the status and JSON answer, also for a refusal (400 invalid_grant...)."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_RESPONSE_BYTES)
    except (urllib.error.URLError, OSError) as exc:
        raise SignInUnavailable(f"token endpoint: {type(exc).__name__}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    return status, data if isinstance(data, dict) else {}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters (RFC 7636 allows 43 to 128)


def code_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    discovery_url: str
    scopes: str = "openid profile email"
    client_secret: Callable[[], str | None] = lambda: None
    end_session_url: str | None = None
    roles_claim: str = "roles"
    areas_claim: str = "areas"

    @classmethod
    def from_environment(cls) -> "OidcSettings":
        issuer, client_id = os.environ.get("OIDC_ISSUER", "").strip(), os.environ.get("OIDC_CLIENT_ID", "").strip()
        if not issuer or not client_id:
            raise SignInUnavailable("OIDC_ISSUER and OIDC_CLIENT_ID are not set")
        literal, parameter = os.environ.get("OIDC_CLIENT_SECRET"), os.environ.get("OIDC_CLIENT_SECRET_PARAMETER")

        def client_secret() -> str | None:
            if literal:
                return literal
            if parameter:
                from .adapters.secrets import get_secret  # cached a few minutes, so a rotation is picked up

                return get_secret(parameter).decode()
            return None

        return cls(issuer=issuer, client_id=client_id,
                   discovery_url=os.environ.get("OIDC_DISCOVERY_URL")
                   or issuer.rstrip("/") + "/.well-known/openid-configuration",
                   scopes=os.environ.get("OIDC_SCOPES") or "openid profile email", client_secret=client_secret,
                   end_session_url=os.environ.get("OIDC_END_SESSION_URL") or None,
                   roles_claim=os.environ.get("ROLES_CLAIM", "roles"), areas_claim=os.environ.get("AREAS_CLAIM", "areas"))


@dataclass
class OidcClient:
    settings: OidcSettings
    fetch_json: Callable[[str], dict[str, Any]] = get_json
    post: Callable[[str, dict[str, str], dict[str, str]], tuple[int, dict[str, Any]]] = post_form
    keys_for: Callable[[str], Callable[[str], Any]] = jwks_keys  # JWKS URL -> (key id -> public key)
    monotonic: Callable[[], float] = time.monotonic
    _discovered: tuple[float, dict[str, Any], TokenVerifier] | None = field(default=None, repr=False)

    def _discover(self) -> tuple[dict[str, Any], TokenVerifier]:
        if self._discovered and self.monotonic() - self._discovered[0] < DISCOVERY_SECONDS:
            return self._discovered[1], self._discovered[2]
        document = self.fetch_json(self.settings.discovery_url)
        # OpenID Connect Discovery 1.0, 4.3: the document's issuer must be the one configured.
        if str(document.get("issuer", "")).rstrip("/") != self.settings.issuer.rstrip("/"):
            raise SignInUnavailable("discovery: issuer differs from OIDC_ISSUER")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            _endpoint(document.get(name), name)
        if "S256" not in document.get("code_challenge_methods_supported", ["S256"]):
            raise SignInUnavailable("discovery: the provider does not offer PKCE S256")
        verifier = TokenVerifier(issuer=str(document["issuer"]), audience=self.settings.client_id,
                                 keys=self.keys_for(str(document["jwks_uri"])), roles_claim=self.settings.roles_claim,
                                 areas_claim=self.settings.areas_claim)
        self._discovered = (self.monotonic(), document, verifier)
        return document, verifier

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        document, _ = self._discover()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.settings.client_id, "redirect_uri": redirect_uri,
            "scope": self.settings.scopes, "state": state, "nonce": nonce,
            "code_challenge": code_challenge(code_verifier), "code_challenge_method": "S256"})
        endpoint = str(document["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def sign_in(self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> Principal:
        """Exchange the code (with the PKCE verifier) and check the id_token: signature by the
        provider's keys, issuer, audience = this client, expiry, and the nonce of this sign-in."""
        document, verifier = self._discover()
        fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                  "code_verifier": code_verifier, "client_id": self.settings.client_id}
        headers: dict[str, str] = {}
        secret = self.settings.client_secret()
        if secret:  # client_secret_basic: the method every provider must support (RFC 6749, 2.3.1)
            pair = f"{urllib.parse.quote(self.settings.client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        status, answer = self.post(str(document["token_endpoint"]), fields, headers)
        if status >= 500:
            raise SignInUnavailable(f"token endpoint answered {status}")
        if status != 200 or not isinstance(answer.get("id_token"), str):
            raise SignInFailed(str(answer.get("error") or f"token endpoint answered {status}")[:60])
        try:
            claims = verifier.claims(answer["id_token"], nonce=nonce)
        except InvalidToken as exc:
            raise SignInFailed(f"id_token: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise SignInFailed("id_token: azp")  # OpenID Connect Core 3.1.3.7, 4 and 5
        return verifier.principal(claims)

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's own session, if it has such a page."""
        endpoint = self.settings.end_session_url
        if not endpoint:
            try:
                endpoint = self._discover()[0].get("end_session_endpoint")
            except SignInUnavailable:
                return None
        if not endpoint:
            return None
        try:
            _endpoint(endpoint, "end_session_endpoint")
        except SignInUnavailable:
            return None
        # post_logout_redirect_uri is the standard's name; Cognito's /logout reads logout_uri.
        query = urllib.parse.urlencode({"client_id": self.settings.client_id,
                                        "post_logout_redirect_uri": post_logout_redirect_uri,
                                        "logout_uri": post_logout_redirect_uri})
        return f"{endpoint}{'&' if '?' in str(endpoint) else '?'}{query}"


def client_from_environment() -> OidcClient:
    return OidcClient(OidcSettings.from_environment())
