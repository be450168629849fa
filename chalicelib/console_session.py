"""The staff console's session: who is signed in, kept server-side (ConsoleSessionRecord), found
by a random id in an HttpOnly cookie. What pages call:

    principal = current_principal(request)        # a Principal, or None when signed out
    session = require_session(request)            # raises SignInRequired: a 303 to sign-in and back
    session = check_csrf(request, form_fields)    # every POST: raises CsrfRefused (403)
    token = csrf_token(session)                   # <input type="hidden" name="csrf_token" value="...">

A session ends after IDLE minutes without a request (sliding, written at most once a TOUCH_EVERY
to keep writes low) or ABSOLUTE hours after sign-in, whichever is first, and at sign-out.

Cookies are `__Host-` prefixed and Secure, except when the console runs on http://127.0.0.1 or
http://localhost (`make run`), where browsers would drop a Secure cookie. The console's public
address is CONSOLE_BASE_URL, else PUBLIC_API_URL (the same API), else the request's Host.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .auth import Principal

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)
SIGN_IN_SECONDS = 600  # how long a started sign-in may take at the provider
HOME = "/console/"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
MAX_NEXT = 2000


class SignInRequired(Exception):
    """No valid session: the person signs in, then comes back to `next_path`."""

    def __init__(self, next_path: str, base: str):
        super().__init__("sign-in required")
        self.next_path, self.base = next_path, base

    @property
    def location(self) -> str:
        return f"{self.base}/console/sign-in?{urlencode({'next': self.next_path})}"

    def response(self) -> Any:
        from chalice import Response

        return Response(body="", status_code=303, headers={"Location": self.location, "Cache-Control": "no-store"})


class CsrfRefused(Exception):
    """A POST without this session's token, with another one, or from another site."""


@dataclass(frozen=True)
class Session:
    id_hash: str
    principal: Principal
    csrf_secret: str
    created_at: datetime
    last_seen: datetime


# ---------------------------------------------------------------- where the console is


def console_base(request: Any = None) -> str:
    """The console's public address without a trailing slash; pages are at <base>/console/..."""
    configured = os.environ.get("CONSOLE_BASE_URL") or os.environ.get("PUBLIC_API_URL")
    if configured:
        return configured.rstrip("/")
    headers = getattr(request, "headers", None) or {}
    host = headers.get("host", "127.0.0.1")
    proto = headers.get("x-forwarded-proto") or ("http" if host.split(":")[0] in LOOPBACK else "https")
    stage = ((getattr(request, "context", None) or {}).get("stage") or "") if ".execute-api." in host else ""
    return f"{proto}://{host}" + (f"/{stage}" if stage else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_secure(base: str) -> bool:
    parts = urlsplit(base)
    return not (parts.scheme == "http" and parts.hostname in LOOPBACK)


def session_cookie_name(base: str) -> str:
    return "__Host-ct_session" if is_secure(base) else "ct_session"


def sign_in_cookie_name(base: str) -> str:
    return "__Host-ct_sign_in" if is_secure(base) else "ct_sign_in"


def set_cookie(base: str, name: str, value: str, *, max_age: int | None = None) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax (the provider's redirect back is a top-level GET),
    Path=/ (required by __Host-), Secure unless on http localhost."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if is_secure(base):
        parts.append("Secure")
    return "; ".join(parts)


def read_cookies(request: Any) -> dict[str, str]:
    """The request's cookies; the first of a repeated name wins (the most specific path, as sent)."""
    found: dict[str, str] = {}
    for part in ((request.headers or {}).get("cookie") or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


# ---------------------------------------------------------------- where to go back to


def safe_next(value: Any) -> str:
    """Only a path inside the console on this site: never another site (`//evil`, `https://evil`,
    `/\\evil`), never a climb out of /console/ (`..`, encoded or not)."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT or not value.isascii():
        return HOME
    if value == "/console":
        return HOME
    lowered = value.lower()
    if (not value.startswith(HOME) or "\\" in value or "//" in value or ".." in value
            or any(bad in lowered for bad in ("%2e", "%2f", "%5c", "%00"))
            or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def current_path(request: Any) -> str:
    """The path and query of this request as the console sees it (without any API stage)."""
    path = HOME if request.path == "/console" else request.path  # API Gateway drops the trailing slash
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    params = request.query_params or {}
    pairs = [(k, v) for k in params for v in (params.getlist(k) if hasattr(params, "getlist") else [params[k]])]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


def _return_path(request: Any) -> str:
    """After signing in again: the page itself for a GET; for a POST (whose form is lost) the page
    the form was on, when the Referer says it was one of ours."""
    if request.method == "GET":
        return safe_next(current_path(request))
    referer = (request.headers or {}).get("referer") or ""
    base = console_base(request)
    if referer.startswith(base + "/"):
        return safe_next(referer[len(base):])
    return HOME


# ---------------------------------------------------------------- the session store


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now() -> datetime:
    from . import wiring

    return wiring.utc_now()


def _expiry(created: datetime, last_seen: datetime) -> datetime:
    return min(last_seen + IDLE, created + ABSOLUTE)


def start_session(principal: Principal) -> tuple[str, Session]:
    """A new session for who just signed in: the cookie's value (returned once, never stored) and the session."""
    from .adapters.tables import ConsoleSessionRecord

    session_id, now = secrets.token_urlsafe(32), _now()
    session = Session(id_hash=_hash(session_id), principal=principal, csrf_secret=secrets.token_urlsafe(32),
                      created_at=now, last_seen=now)
    context = principal.to_context()
    ConsoleSessionRecord(session.id_hash, subject=context["subject"], name=context["name"], roles=context["roles"],
                         areas=context["areas"], csrf_secret=session.csrf_secret, created_at=now.isoformat(),
                         last_seen=now.isoformat(), expires_at=_expiry(now, now)).save(
        condition=ConsoleSessionRecord.session_hash.does_not_exist())
    return session_id, session


def _session_id(request: Any) -> str | None:
    value = read_cookies(request).get(session_cookie_name(console_base(request)), "")
    return value if SESSION_ID.fullmatch(value) else None


def current_session(request: Any) -> Session | None:
    """The request's live session, its last-seen time moved on; None when there is none, it was
    ended, or it is past its idle or absolute limit."""
    from pynamodb.exceptions import DoesNotExist, UpdateError

    from .adapters.tables import ConsoleSessionRecord

    session_id = _session_id(request)
    if session_id is None:
        return None
    try:
        record = ConsoleSessionRecord.get(_hash(session_id))
    except DoesNotExist:
        return None
    now = _now()
    created, last_seen = datetime.fromisoformat(record.created_at), datetime.fromisoformat(record.last_seen)
    if now >= _expiry(created, last_seen):
        return None  # DynamoDB's TTL removes the item later
    if now - last_seen >= TOUCH_EVERY:
        try:
            record.update(actions=[ConsoleSessionRecord.last_seen.set(now.isoformat()),
                                   ConsoleSessionRecord.expires_at.set(_expiry(created, now))],
                          condition=ConsoleSessionRecord.session_hash.exists())
        except UpdateError:
            return None  # signed out meanwhile
        last_seen = now
    principal = Principal.from_context({"subject": record.subject, "name": record.name, "roles": record.roles,
                                        "areas": record.areas})
    return Session(id_hash=record.session_hash, principal=principal, csrf_secret=record.csrf_secret,
                   created_at=created, last_seen=last_seen)


def current_principal(request: Any) -> Principal | None:
    session = current_session(request)
    return session.principal if session else None


def require_session(request: Any) -> Session:
    session = current_session(request)
    if session is None:
        raise SignInRequired(_return_path(request), console_base(request))
    return session


def end_session(request: Any) -> bool:
    """Sign-out: the session is deleted, so its cookie opens nothing even if it was copied."""
    from .adapters.tables import ConsoleSessionRecord

    session_id = _session_id(request)
    if session_id is None:
        return False
    ConsoleSessionRecord(_hash(session_id)).delete()
    return True


# ---------------------------------------------------------------- CSRF


def csrf_token(session: Session) -> str:
    """The synchronizer token every console form carries as the hidden field csrf_token."""
    return session.csrf_secret


def same_origin(request: Any) -> bool:
    """A POST from a page of ours: its Origin (or, when a browser sends none, its Referer) is the
    console's. Neither header: allowed, the token still has to match."""
    headers = request.headers or {}
    expected = _origin(console_base(request))
    origin = headers.get("origin")
    if origin is not None:
        return origin.lower() == expected
    referer = headers.get("referer")
    if referer is not None:
        return _origin(referer) == expected
    return True


def check_csrf(request: Any, form_fields: dict[str, str]) -> Session:
    """For every console POST: the signed-in session (SignInRequired when there is none), the
    form's csrf_token equal to the session's, and a same-origin request (else CsrfRefused)."""
    session = require_session(request)
    sent = form_fields.get("csrf_token") or ""
    if not same_origin(request) or not hmac.compare_digest(sent.encode(), session.csrf_secret.encode()):
        raise CsrfRefused()
    return session


# ---------------------------------------------------------------- the sign-in's own short-lived cookie


def _signing_keys() -> list[bytes]:
    """Derived from the partner-link secret's link keys (newest last) for this one purpose, so the
    console needs no second secret and a value signed for one use cannot pass as the other. Any
    key verifies: a sign-in started just before a rotation still completes after it."""
    from .adapters.secrets import link_secret

    return [hmac.new(k, b"community-trigger console sign-in cookie", hashlib.sha256).digest()
            for k in link_secret().link_keys]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_sign_in(values: dict[str, str]) -> str:
    """state, nonce, PKCE verifier and next, signed, with an expiry, for the cookie."""
    payload = _b64(json.dumps({**values, "exp": int(_now().timestamp()) + SIGN_IN_SECONDS},
                              separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(_signing_keys()[-1], payload.encode(), hashlib.sha256).digest())}"


def open_sign_in(request: Any) -> dict[str, str] | None:
    """The sign-in this browser started, if its cookie is intact and not expired."""
    value = read_cookies(request).get(sign_in_cookie_name(console_base(request)), "")
    payload, _, signature = value.partition(".")
    if not payload or len(value) > 4000:
        return None
    try:
        expected = [_b64(hmac.new(k, payload.encode(), hashlib.sha256).digest()) for k in _signing_keys()]
        if not any(hmac.compare_digest(e, signature) for e in expected):
            return None
        values = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, dict) or not isinstance(values.get("exp"), int) or values["exp"] < _now().timestamp():
        return None
    return {k: str(v) for k, v in values.items() if k != "exp"}
