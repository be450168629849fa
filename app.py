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
            {"field": "Content-Type", "message": "Send the application as JSON, with Content-Type: application/json"}])
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


@app.route("/openapi.json", methods=["GET"], cors=True)
def openapi():
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import build_spec

    return build_spec(london_date(utc_now()))
