"""Routes only: read the request, call one use case, shape the response."""
from __future__ import annotations

import json
import logging

from chalice import Chalice, Response

from chalicelib import logs

logs.configure()
log = logging.getLogger("app")

app = Chalice(app_name="community-trigger")
app.log.propagate = True

PROBLEM = "application/problem+json"


def problem(status: int, title: str, errors: list[dict[str, str]], headers: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "errors": errors}
    return Response(body=json.dumps(body), status_code=status, headers={"Content-Type": PROBLEM, **(headers or {})})


@app.middleware("http")
def every_error_is_a_problem(event, get_response):
    """Chalice answers some errors itself (an unexpected exception: 500, logged by type only through
    our formatter; a wrong Content-Type: 415). Give them the same machine-readable shape as ours."""
    response = get_response(event)
    if response.status_code == 500:
        return problem(500, "Something went wrong on our side. Nothing was stored; please try again later.", [])
    if response.status_code == 415:
        return problem(415, "Unsupported content type", [
            {"field": "Content-Type", "message": "Send JSON (Content-Type: application/json), or an HTML form where one is offered"}])
    return response


@app.route("/applications", methods=["POST"], content_types=["application/json"], cors=True)
def submit_application():
    from chalicelib import wiring
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.intake import BadIdempotencyKey, receipt
    from chalicelib.schemas import MAX_BODY_BYTES, ApplicationInvalid

    request = app.current_request
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return problem(413, "The application is too large", [
            {"field": "body", "message": f"The application must be smaller than {MAX_BODY_BYTES // 1000} KB; shorten the longest answers"}])
    if not raw.strip():
        return problem(400, "The request body is empty", [{"field": "body", "message": "Send the application as a JSON object"}])
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return problem(400, "The request body is not valid JSON", [
            {"field": "body", "message": f"Send the application as JSON: {exc.__class__.__name__} near position {getattr(exc, 'pos', 0)}"}])
    try:
        created = wiring.intake().submit(body, idempotency_header=request.headers.get("idempotency-key"))
    except ApplicationInvalid as exc:
        return problem(422, "There is a problem with the application", exc.errors)
    except BadIdempotencyKey as exc:
        return problem(400, "The Idempotency-Key header is not valid", [{"field": "Idempotency-Key", "message": str(exc)}])
    except IdempotencyConflict:
        return problem(422, "This Idempotency-Key was already used for a different application", [
            {"field": "Idempotency-Key", "message": "Use a new key for a new application; reuse a key only to retry the same one"}])
    headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
    return Response(body=receipt(created), status_code=201, headers=headers)


# Partner pages carry a secret in their URL: never send it on as a Referer, never cache, never index.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
LINK_TITLES = {"invalid": "This link is not valid", "expired": "This link has expired",
               "revoked": "This link has been withdrawn", "closed": "The assessment is closed"}


def page(result) -> Response:
    return Response(body=result.html, status_code=result.status, headers=PAGE_HEADERS)


@app.route("/partner/{token}", methods=["GET"])
def partner_form(token):
    from chalicelib import wiring
    from chalicelib.partner_links import LinkRefused
    from chalicelib.partner_returns import ReturnClosed

    service = wiring.partner_returns()
    try:
        return page(service.form_page(token))
    except LinkRefused as exc:
        return page(service.error_page(exc.reason))
    except ReturnClosed:
        return page(service.error_page("closed"))


@app.route("/partner/{token}", methods=["POST"],
           content_types=["application/x-www-form-urlencoded", "application/json"])
def partner_return(token):
    from chalicelib import wiring
    from chalicelib.partner_links import LinkRefused
    from chalicelib.partner_returns import ReturnClosed, parse_body
    from chalicelib.schemas import MAX_BODY_BYTES, ReturnInvalid

    service = wiring.partner_returns()
    request = app.current_request
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return problem(413, "The return is too large", [{"field": "body", "message": "Shorten the longest answers"}])
    try:
        posted = parse_body(raw, request.headers.get("content-type", ""))
    except (UnicodeDecodeError, ValueError):
        return problem(400, "The request body is not valid", [{"field": "body", "message": "Send the return as JSON or as a form"}])
    try:
        if posted.is_form and posted.action == "add_report":
            rows = 1 + max((int(k.split("-")[1]) for k in posted.fields if k.startswith("reports-") and k.split("-")[1].isdigit()), default=0)
            return page(service.form_page(token, values=posted.fields, rows=rows + 1))
        stored = service.submit(token, posted.answers)
    except LinkRefused as exc:
        if posted.is_form:
            return page(service.error_page(exc.reason))
        status = {"invalid": 404, "expired": 410, "revoked": 410}[exc.reason]
        return problem(status, LINK_TITLES[exc.reason], [{"field": "token", "message": LINK_TITLES[exc.reason]}])
    except ReturnClosed:
        if posted.is_form:
            return page(service.error_page("closed"))
        return problem(409, LINK_TITLES["closed"], [{"field": "token", "message": "Returns can no longer be changed"}])
    except ReturnInvalid as exc:
        if posted.is_form:
            return page(service.form_page(token, status=422, values=posted.fields, errors=exc.errors,
                                          positions=posted.answers.get("__positions__", [])))
        return problem(422, "There is a problem with the return", exc.errors)
    if posted.is_form:
        return page(service.confirmation_page(token, stored))
    body = {"reference": stored.ref, "request_id": stored.request_id, "version": stored.version,
            "submitted_at": stored.submitted_at}
    return Response(body=body, status_code=200 if stored.unchanged else 201)


@app.route("/assets/partner.css", methods=["GET"])
def partner_css():
    from chalicelib.resources import templates_dir

    css = (templates_dir() / "pages" / "partner.css").read_text(encoding="utf-8")
    return Response(body=css, status_code=200, headers={"Content-Type": "text/css; charset=utf-8",
                                                         "Cache-Control": "public, max-age=3600"})


@app.route("/openapi.json", methods=["GET"], cors=True)
def openapi():
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import build_spec

    return build_spec(london_date(utc_now()))
