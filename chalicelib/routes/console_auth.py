"""Signing in to the staff console with the council's identity provider (OpenID Connect,
authorization code with PKCE), signing out, and the signed-in landing page.

    GET  /console/sign-in?next=/console/...   start: a 302 to the provider
    GET  /console/callback?code&state         back from the provider: a session, then `next`
    POST /console/sign-out                    end the session (CSRF-checked)
    GET  /console/signed-out                  "You have signed out", with the provider's own sign-out
    GET  /console/                            who is signed in (the lead's pages replace it)

Pages are HTML with the console's headers (strict CSP, no-store); they work without JavaScript.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from chalice import Blueprint, Response

bp = Blueprint(__name__)
log = logging.getLogger("console.auth")

SERVICE_NAME = "ASB case review (Community Trigger)"
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # the Origin stays real on our POSTs (CSRF check); no case URL leaves the site
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
MAX_PARAM = 2048  # a real code or state is a few hundred characters at most


def page(name: str, *, status: int = 200, session: Any = None, nav: str | None = None,
         headers: dict[str, str] | list | None = None, **context: Any) -> Response:
    """A console page from templates/console/<name>.html.j2, with the layout's context."""
    from chalicelib import wiring
    from chalicelib.console_session import csrf_token

    principal = session.principal if session else None
    # The letters' renderer: its Jinja environment has the console's globals (asset_url, console_url).
    html = wiring.renderer().render_console(name, {
        "principal": principal, "csrf_token": csrf_token(session) if session else "",
        "nav": nav, "service_name": SERVICE_NAME, **council_header(principal), **context})
    return Response(body=html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def council_header(principal: Any) -> dict[str, Any]:
    """Whose service it is, for the header: the partnership of the one area a person works in, else
    the deployment's COUNCIL_NAME (one deployment can serve several areas); and each area's name."""
    import os

    from chalicelib import wiring

    policies = wiring.policies()
    names = {area_id: policy.area.name for area_id, policy in policies.items()}
    council = os.environ.get("COUNCIL_NAME") or ""
    if principal is not None:
        mine = [p for a, p in sorted(policies.items()) if principal.covers(a)]
        if len(mine) == 1:
            council = mine[0].area.csp_name
    return {"council_name": council or None, "area_names": names}


def problem_page(status: int, title: str, message: str, *, next_path: str = "/console/",
                 headers: dict[str, Any] | None = None, session: Any = None, back_path: str | None = None) -> Response:
    """What went wrong and the way on: back to `back_path` when signed in, else sign in again (and
    back to `next_path`)."""
    from urllib.parse import urlencode

    return page("problem", status=status, title=title, message=message, headers=headers, session=session,
                back_path=back_path, sign_in_query=urlencode({"next": next_path}))


def console_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """For every console route: no session is a 303 to sign-in (and back here afterwards); a
    refused CSRF check is a 403 page."""
    from chalicelib.console_session import CsrfRefused, SignInRequired

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except SignInRequired as exc:
            return exc.response()
        except CsrfRefused:
            return problem_page(403, "This form has expired", "Your form was not sent: it was out of date or not "
                                "from this service. Go back, reload the page and try again.")

    return wrapped


def _redirect(location: str, status: int = 303, cookies: list[str] | None = None) -> Response:
    headers: dict[str, Any] = {"Location": location, "Cache-Control": "no-store"}
    if cookies:
        headers["Set-Cookie"] = cookies  # Chalice sends a list as one header each
    return Response(body="", status_code=status, headers=headers)


@bp.route("/console/sign-in", methods=["GET"])
@console_page
def start_sign_in():
    from chalicelib import oidc, wiring
    from chalicelib.console_session import console_base, safe_next, seal_sign_in, set_cookie, sign_in_cookie_name

    request = bp.current_request
    params = request.query_params or {}
    base = console_base(request)
    target = safe_next(params.get("next"))
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_code_verifier()
    try:
        location = wiring.oidc().authorization_url(redirect_uri=f"{base}/console/callback", state=state,
                                                   nonce=nonce, code_verifier=verifier)
    except oidc.SignInUnavailable as exc:
        log.warning("console sign-in unavailable", extra={"error": str(exc)})
        return problem_page(503, "Sign-in is not available", "The council's sign-in service cannot be reached "
                            "just now. Try again in a few minutes.", next_path=target, headers={"Retry-After": "30"})
    sealed = seal_sign_in({"state": state, "nonce": nonce, "verifier": verifier, "next": target})
    return _redirect(location, 302, [set_cookie(base, sign_in_cookie_name(base), sealed, max_age=600)])


@bp.route("/console/callback", methods=["GET"])
@console_page
def sign_in_callback():
    from chalicelib import oidc, wiring
    from chalicelib.console_session import (
        console_base, current_session, end_session, open_sign_in, safe_next, session_cookie_name, set_cookie,
        sign_in_cookie_name, start_session)

    request = bp.current_request
    params = request.query_params or {}
    base = console_base(request)
    code, state, error = params.get("code") or "", params.get("state") or "", params.get("error")
    started = open_sign_in(request)
    target = safe_next(started.get("next")) if started else "/console/"
    clear = set_cookie(base, sign_in_cookie_name(base), "", max_age=0)

    def refused(status: int, title: str, message: str) -> Response:
        return problem_page(status, title, message, next_path=target, headers={"Set-Cookie": [clear]})

    if error is not None:
        # The provider's own text is not shown: anyone can put it in a link.
        log.info("console sign-in refused by the provider")
        return refused(400, "You have not been signed in", "The council's sign-in service did not sign you in. "
                       "You may have cancelled, or your account may not be allowed to use this service.")
    if started is None:
        return refused(400, "Your sign-in has expired", "Signing in took too long, or was started in another "
                       "browser or tab. Start again.")
    import hmac

    if not state or len(state) > MAX_PARAM or not hmac.compare_digest(state.encode(), started["state"].encode()):
        return refused(400, "Your sign-in could not be checked", "The answer from the sign-in service did not "
                       "match the sign-in this browser started. Start again.")
    if not code or len(code) > MAX_PARAM:
        return refused(400, "Your sign-in could not be checked", "The sign-in service sent no code. Start again.")
    try:
        principal = wiring.oidc().sign_in(code=code, code_verifier=started["verifier"],
                                          redirect_uri=f"{base}/console/callback", nonce=started["nonce"])
    except oidc.SignInFailed as exc:
        log.info("console sign-in refused", extra={"error": str(exc)})
        return refused(400, "Your sign-in could not be checked", "The sign-in service's answer was not valid "
                       "or had already been used. Start again.")
    except oidc.SignInUnavailable as exc:
        log.warning("console sign-in unavailable", extra={"error": str(exc)})
        return refused(503, "Sign-in is not available", "The council's sign-in service cannot be reached just "
                       "now. Try again in a few minutes.")
    if not principal.roles:
        return refused(403, "You do not have access to this service", "Your account has no role here (spoc, "
                       "appeals or admin). Ask your administrator to give you one.")
    if current_session(request) is not None:
        end_session(request)  # a fresh session id at every sign-in: no fixation
    session_id, _ = start_session(principal)
    log.info("console sign-in")
    return _redirect(base + target, 303, [set_cookie(base, session_cookie_name(base), session_id), clear])


@bp.route("/console/sign-out", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@console_page
def sign_out():
    from chalicelib import inputs
    from chalicelib.console_session import (
        check_csrf, console_base, current_session, end_session, session_cookie_name, set_cookie)

    request = bp.current_request
    base = console_base(request)
    try:
        fields = inputs.form_body(request.raw_body, allowed=lambda name: name == "csrf_token", limit=4000)
    except inputs.Problem:
        fields = {}
    if current_session(request) is not None:
        check_csrf(request, fields)
        end_session(request)
    # Same-origin: the console's CSP (form-action 'self') makes browsers refuse a form's redirect to
    # another site, so the provider's own sign-out is a link on the signed-out page.
    return _redirect(f"{base}/console/signed-out", 303, [set_cookie(base, session_cookie_name(base), "", max_age=0)])


@bp.route("/console/signed-out", methods=["GET"])
@console_page
def signed_out():
    from chalicelib import oidc, wiring
    from chalicelib.console_session import console_base

    try:
        provider = wiring.oidc().end_session_url(f"{console_base(bp.current_request)}/console/signed-out")
    except oidc.SignInUnavailable:
        provider = None
    return page("signed_out", provider_sign_out=provider)


@bp.route("/console", methods=["GET"])
@console_page
def home():
    from chalicelib.console_session import require_session

    session = require_session(bp.current_request)
    return page("home", session=session)
