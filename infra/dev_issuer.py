"""The local development identity provider: an RSA key kept in .local/ (never committed), its
JWKS served by `make run`, and tokens minted for any role and area.

    make token ROLE=spoc AREA=hart            # prints a bearer token for curl
    make token ROLE=appeals AREA=derbyshire,hart NAME="OPCC Officer"

It is also a small OpenID Connect provider for the staff console (served by `make run` under
/dev-issuer): discovery, a sign-in page to pick a name, role and areas (`DevIssuer.authorize_page`),
one-time codes bound to the PKCE challenge (2 minutes), the token endpoint and end-session. It
accepts only the console's own callback on this machine.

In production the issuer is Amazon Cognito or Microsoft Entra ID; the API checks tokens the same way.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
KEY_FILE = REPO / ".local" / "dev-issuer-key.pem"
KID = "dev-issuer-1"
AUDIENCE = "community-trigger-local"
CLIENT_ID = "community-trigger-console-local"  # the console's client: its id_tokens' audience
ROLES = ("spoc", "appeals", "admin")
CODE_SECONDS = 120


def issuer_url() -> str:
    return f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('OUTBOX_PORT', '8025')}/dev-issuer"


def private_key() -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_FILE.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        KEY_FILE.chmod(0o600)
    return serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)


def jwks() -> dict[str, Any]:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(private_key().public_key()))
    return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}


def claims_for(role: str, areas: list[str], name: str, *, audience: str = AUDIENCE, minutes: int = 480,
               now: int | None = None) -> dict[str, Any]:
    now = int(time.time()) if now is None else now
    return {"iss": issuer_url(), "aud": audience, "sub": f"dev-{role}-{'-'.join(areas)}", "name": name,
            "roles": [role], "areas": areas, "iat": now, "exp": now + minutes * 60}


def sign(claims: dict[str, Any], key: Any = None) -> str:
    import jwt

    return jwt.encode(claims, key or private_key(), algorithm="RS256", headers={"kid": KID})


def mint(role: str, areas: list[str], name: str, minutes: int = 480) -> str:
    return sign(claims_for(role, areas, name, minutes=minutes))


def console_port() -> str:
    return os.environ.get("PORT", "8000")


def console_callbacks() -> frozenset[str]:
    """The only redirect URIs this issuer sends codes to: the console on this machine."""
    return frozenset(f"http://{host}:{console_port()}/console/callback" for host in ("127.0.0.1", "localhost"))


def console_signed_out_pages() -> frozenset[str]:
    return frozenset(f"http://{host}:{console_port()}/console/signed-out" for host in ("127.0.0.1", "localhost"))


def openid_configuration() -> dict[str, Any]:
    base = issuer_url()
    return {"issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/.well-known/jwks.json", "end_session_endpoint": f"{base}/end-session",
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["none"], "claims_supported": ["sub", "name", "roles", "areas"]}


def environment() -> dict[str, str]:
    """What the API needs to trust this issuer: bearer tokens for the staff API, and the console's
    OpenID Connect sign-in (a public client with PKCE: no secret)."""
    return {"JWT_ISSUER": issuer_url(), "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": f"{issuer_url()}/.well-known/jwks.json",
            "OIDC_ISSUER": issuer_url(), "OIDC_CLIENT_ID": CLIENT_ID}


# ---------------------------------------------------------------- the sign-in page and the token endpoint


@dataclass
class Answer:
    """What the outbox server sends back: a status, a body, and a Location for a redirect."""

    status: int
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


class Refused(Exception):
    pass


CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded
AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
                    "code_challenge_method")

STYLE = """body{margin:0;font-family:arial,sans-serif;color:#0b0c0c;font-size:19px;line-height:1.3}
.govuk-header{background:#0b0c0c;color:#fff;padding:10px 0;border-bottom:10px solid #1d70b8}
.govuk-width-container{max-width:960px;margin:0 15px}@media(min-width:990px){.govuk-width-container{margin:0 auto}}
.govuk-header__service-name{font-weight:700;font-size:24px}.govuk-main-wrapper{padding:40px 0}
.govuk-heading-l{font-size:36px;margin:0 0 30px}.govuk-body{margin:0 0 20px}
.govuk-form-group{margin-bottom:30px}.govuk-label,.govuk-fieldset__legend{display:block;font-weight:700;margin-bottom:5px}
.govuk-hint{color:#505a5f;margin-bottom:15px}.govuk-input{font-size:19px;padding:5px;border:2px solid #0b0c0c;width:100%;max-width:30em}
.govuk-fieldset{border:0;padding:0;margin:0}.govuk-radios__item,.govuk-checkboxes__item{margin-bottom:10px}
.govuk-radios__input,.govuk-checkboxes__input{width:24px;height:24px;vertical-align:middle;margin-right:8px}
.govuk-button{background:#00703c;color:#fff;border:0;box-shadow:0 2px 0 #002d18;font-size:19px;padding:8px 10px;cursor:pointer;margin-right:15px}
.govuk-button--secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191}
.govuk-error-summary{border:5px solid #d4351c;padding:15px;margin-bottom:30px}.govuk-error-message{color:#d4351c;font-weight:700}
.govuk-tag{background:#fcd6c3;color:#6e3619;padding:2px 8px;font-weight:700;font-size:16px}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)} – Development sign-in</title>"
            f"<style>{STYLE}</style></head><body><header class=\"govuk-header\"><div class=\"govuk-width-container\">"
            f"<span class=\"govuk-header__service-name\">Development sign-in</span> <span class=\"govuk-tag\">"
            f"not for real use</span></div></header><div class=\"govuk-width-container\"><main "
            f"class=\"govuk-main-wrapper\" id=\"main-content\">{body}</main></div></body></html>")


def _problem(status: int, message: str) -> Answer:
    return Answer(status, _page("Sign-in refused", f"<h1 class=\"govuk-heading-l\">Sign-in refused</h1>"
                                                   f"<p class=\"govuk-body\">{html.escape(message)}</p>"))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _with_query(url: str, values: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(values)}"


@dataclass
class DevIssuer:
    """The development provider's state: one-time codes, in memory. Plain functions of the request's
    fields, so the tests call them without a server."""

    areas: list[str] = field(default_factory=list)
    key: Any = None  # default: the .local/ key
    clock: Callable[[], float] = time.time
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _request(self, fields: dict[str, str]) -> dict[str, str]:
        """The authorization request, checked; anything wrong is refused on a page (never redirected)."""
        if fields.get("client_id") != CLIENT_ID:
            raise Refused(f"Unknown client_id: this issuer serves only {CLIENT_ID}.")
        if fields.get("redirect_uri") not in console_callbacks():
            raise Refused("The redirect_uri is not the console's callback on this machine.")
        if fields.get("response_type") != "code":
            raise Refused("Only response_type=code is supported.")
        if fields.get("code_challenge_method") != "S256" or not CHALLENGE.fullmatch(fields.get("code_challenge", "")):
            raise Refused("A PKCE code_challenge with code_challenge_method=S256 is required.")
        for name in ("state", "nonce"):
            if not 8 <= len(fields.get(name, "")) <= 500:
                raise Refused(f"The {name} is missing.")
        return {name: fields.get(name, "") for name in AUTHORIZE_FIELDS}

    def authorize_page(self, query: dict[str, str], *, error: str | None = None,
                       chosen: dict[str, Any] | None = None) -> Answer:
        try:
            request = self._request(query)
        except Refused as exc:
            return _problem(400, str(exc))
        chosen = chosen or {}
        hidden = "".join(f"<input type=\"hidden\" name=\"{n}\" value=\"{html.escape(v)}\">" for n, v in request.items())
        role = chosen.get("role", "spoc")
        roles = "".join(
            f"<div class=\"govuk-radios__item\"><input class=\"govuk-radios__input\" id=\"role-{r}\" name=\"role\" "
            f"type=\"radio\" value=\"{r}\"{' checked' if r == role else ''}><label class=\"govuk-label govuk-radios__label\" "
            f"for=\"role-{r}\">{label}</label></div>"
            for r, label in (("spoc", "SPOC (single point of contact): works the area's cases"),
                             ("appeals", "Appeals body (the PCC's office): handles appeals"),
                             ("admin", "Administrator: both")))
        picked = set(chosen.get("areas", [])) or set(self.areas[:1])
        areas = "".join(
            f"<div class=\"govuk-checkboxes__item\"><input class=\"govuk-checkboxes__input\" id=\"area-{html.escape(a)}\" "
            f"name=\"areas\" type=\"checkbox\" value=\"{html.escape(a)}\"{' checked' if a in picked else ''}>"
            f"<label class=\"govuk-label govuk-checkboxes__label\" for=\"area-{html.escape(a)}\">"
            f"{'All areas (*)' if a == '*' else html.escape(a)}</label></div>"
            for a in [*self.areas, "*"])
        summary = (f"<div class=\"govuk-error-summary\" role=\"alert\"><h2 class=\"govuk-error-summary__title\">"
                   f"There is a problem</h2><p class=\"govuk-error-message\">{html.escape(error)}</p></div>") if error else ""
        body = (f"{summary}<h1 class=\"govuk-heading-l\">Sign in to the staff console</h1>"
                "<p class=\"govuk-body\">The development issuer signs in anyone: choose who to be. In a council "
                "this page is Microsoft Entra ID or Amazon Cognito.</p>"
                f"<form method=\"post\" action=\"{html.escape(issuer_url())}/authorize\" novalidate>{hidden}"
                "<div class=\"govuk-form-group\"><label class=\"govuk-label\" for=\"name\">Name</label>"
                f"<input class=\"govuk-input\" id=\"name\" name=\"name\" type=\"text\" value=\"{html.escape(chosen.get('name', 'Pat SPOC'))}\"></div>"
                "<div class=\"govuk-form-group\"><fieldset class=\"govuk-fieldset\"><legend class=\"govuk-fieldset__legend\">"
                f"Role</legend><div class=\"govuk-radios\">{roles}</div></fieldset></div>"
                "<div class=\"govuk-form-group\"><fieldset class=\"govuk-fieldset\"><legend class=\"govuk-fieldset__legend\">"
                "Areas</legend><div class=\"govuk-hint\">Select all that apply.</div>"
                f"<div class=\"govuk-checkboxes\">{areas}</div></fieldset></div>"
                "<button type=\"submit\" class=\"govuk-button\" name=\"action\" value=\"sign_in\">Sign in</button>"
                "<button type=\"submit\" class=\"govuk-button govuk-button--secondary\" name=\"action\" "
                "value=\"cancel\">Cancel</button></form>")
        return Answer(200 if error is None else 422, _page("Sign in", body))

    def authorize_submit(self, form: dict[str, list[str]]) -> Answer:
        """The person chose: a one-time code (2 minutes) bound to the PKCE challenge, nonce and
        redirect_uri, sent back to the console with the state."""
        fields = {k: v[-1] for k, v in form.items() if v}
        try:
            request = self._request(fields)
        except Refused as exc:
            return _problem(400, str(exc))
        if fields.get("action") == "cancel":
            return Answer(303, location=_with_query(request["redirect_uri"], {"error": "access_denied",
                                                                               "state": request["state"]}))
        name, role = fields.get("name", "").strip(), fields.get("role", "")
        areas = sorted(set(form.get("areas", [])))
        chosen = {"name": name, "role": role, "areas": areas}
        if not name or len(name) > 100:
            return self.authorize_page(fields, error="Enter a name of up to 100 characters", chosen=chosen)
        if role not in ROLES:
            return self.authorize_page(fields, error="Choose a role", chosen=chosen)
        if not areas or not set(areas) <= {*self.areas, "*"}:
            return self.authorize_page(fields, error="Choose at least one area", chosen=chosen)
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for old in [c for c, v in self.codes.items() if v["expires"] < now]:
                del self.codes[old]
            self.codes[code] = {**request, "expires": now + CODE_SECONDS,
                                "who": {"name": name, "role": role, "areas": ["*"] if "*" in areas else areas}}
        return Answer(303, location=_with_query(request["redirect_uri"], {"code": code, "state": request["state"]}))

    def token(self, form: dict[str, str]) -> Answer:
        """The code, once, with the verifier whose S256 is the challenge it was issued for."""

        def refused(error: str, status: int = 400) -> Answer:
            return Answer(status, json.dumps({"error": error}), "application/json")

        if form.get("grant_type") != "authorization_code":
            return refused("unsupported_grant_type")
        with self._lock:
            issued = self.codes.pop(form.get("code", ""), None)  # single use, even when refused below
        if issued is None or issued["expires"] < self.clock():
            return refused("invalid_grant")
        if form.get("client_id") != issued["client_id"]:
            return refused("invalid_client", 401)
        if form.get("redirect_uri") != issued["redirect_uri"]:
            return refused("invalid_grant")
        if not hmac.compare_digest(s256(form.get("code_verifier", "")), issued["code_challenge"]):
            return refused("invalid_grant")
        who, now = issued["who"], int(self.clock())
        id_claims = {**claims_for(who["role"], who["areas"], who["name"], audience=CLIENT_ID, minutes=10, now=now),
                     "nonce": issued["nonce"], "auth_time": now}
        access = claims_for(who["role"], who["areas"], who["name"], minutes=60, now=now)
        return Answer(200, json.dumps({"token_type": "Bearer", "expires_in": 3600, "id_token": sign(id_claims, self.key),
                                       "access_token": sign(access, self.key)}), "application/json")

    def end_session(self, query: dict[str, str]) -> Answer:
        target = query.get("post_logout_redirect_uri", "")
        if target in console_signed_out_pages():
            return Answer(303, location=target)
        return Answer(200, _page("Signed out", "<h1 class=\"govuk-heading-l\">You have signed out</h1>"
                                               "<p class=\"govuk-body\">You have signed out of the development issuer.</p>"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a development bearer token")
    parser.add_argument("--role", default="spoc", choices=["spoc", "appeals", "admin"])
    parser.add_argument("--area", default="derbyshire", help="area id(s), comma-separated, or * for all")
    parser.add_argument("--name", default=None)
    parser.add_argument("--minutes", type=int, default=480)
    args = parser.parse_args()
    areas = [a.strip() for a in args.area.split(",") if a.strip()]
    print(mint(args.role, areas, args.name or f"Dev {args.role.upper()} ({', '.join(areas)})", args.minutes))


if __name__ == "__main__":
    main()
