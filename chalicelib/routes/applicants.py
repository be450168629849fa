"""The online application: JSON from the static form's script or any client, or the form posted
without JavaScript (answered with the next page). Browsers may post only from the council's own
form site (Origin); clients that send no Origin are not browsers."""
from __future__ import annotations

import os

from chalice import Blueprint, Response

from . import answers_problems

bp = Blueprint(__name__)


def form_site_url() -> str:
    return os.environ.get("FORM_SITE_URL", "http://127.0.0.1:8080")


def public_api_url() -> str:
    return os.environ.get("PUBLIC_API_URL", "http://127.0.0.1:8000")


def origin_allowed(origin: str | None) -> bool:
    from chalicelib.form import allowed_origins, origin_of

    origin = (origin or "").rstrip("/")
    # The API's own origin: the pages it answers a form post with post back to it.
    allowed = (allowed_origins() or {origin_of(form_site_url())}) | {origin_of(public_api_url())}
    return not origin or origin in allowed


def with_cors(response: Response, origin: str | None) -> Response:
    if origin and origin_allowed(origin):
        response.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                                 "Access-Control-Expose-Headers": "Idempotent-Replayed"})
    return response


def _refuse_other_sites() -> None:
    from chalicelib.inputs import Problem, field_error

    if not origin_allowed(bp.current_request.headers.get("origin")):
        raise Problem(403, "This site may not send applications here", field_error(
            "Origin", "Applications are accepted only from the council's own form"))


@bp.route("/applications", methods=["OPTIONS"])
@answers_problems
def applications_preflight():
    _refuse_other_sites()
    return Response(body="", status_code=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Max-Age": "600",
        "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key"})


def form_page(html: str, status: int) -> Response:
    from chalicelib.form import origin_of

    site, api = origin_of(form_site_url()), origin_of(public_api_url())
    csp = (f"default-src 'none'; script-src {site}; style-src {site}; img-src {site}; connect-src {api}; "
           f"form-action {api}; frame-ancestors 'none'; base-uri 'none'")
    return Response(body=html, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp, "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"})


def application_form_post(raw: bytes) -> Response:
    """The form posted without JavaScript: answer with the next page, never JSON."""
    import uuid

    from chalicelib import form, inputs, wiring
    from chalicelib.adapters.limits import TooLarge
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.clock import london_date
    from chalicelib.intake import receipt
    from chalicelib.schemas import ApplicationInvalid, validate_application

    posted = form.form_to_application(inputs.form_body(raw, allowed=form.application_field_allowed,
                                                       what="application"))
    policy = wiring.policies().get(posted.values.get("area", ""))
    if policy is None:
        raise inputs.Problem(400, "Unknown area", inputs.field_error("area", "The form names no known area"))
    renderer = wiring.renderer()
    context = form.page_context(policy, api_url=public_api_url(), site_url=form_site_url())
    key = posted.idempotency_key or str(uuid.uuid4())

    def apply_page(status: int, errors: list | None = None, rows: int | None = None) -> Response:
        errors = form.remap_errors(errors or [], posted.positions)
        anchors = {e["field"]: form.error_anchor(e["field"], posted.values) for e in errors}
        return form_page(renderer.render_form_page("apply", {
            **context, "values": posted.values, "errors": errors, "error_anchor": anchors,
            "error_for": {anchors[e["field"]]: e["message"] for e in errors},
            "incident_rows": rows or form.incident_rows(posted.values), "idempotency_key": key}), status)

    if posted.action == "add_incident":
        rows = form.incident_rows(posted.values)
        if rows >= inputs.MAX_ROWS:
            return apply_page(422, [{"field": f"incidents[{rows - 1}].description",
                                     "message": f"You can tell us about at most {inputs.MAX_ROWS} incidents"}])
        return apply_page(200, rows=rows + 1)
    if posted.action == "edit":
        return apply_page(200)
    try:
        if posted.action != "submit":  # "check": validate, store nothing, show the answers
            validate_application(posted.answers, today=london_date(wiring.utc_now()), areas=set(wiring.policies()))
            hidden = sorted(posted.values.items()) + [("idempotency_key", key)]
            return form_page(renderer.render_form_page("check", {
                **context, "values": posted.values, "errors": [], "error_for": {}, "error_anchor": {},
                "incident_rows": form.incident_rows(posted.values), "idempotency_key": key,
                "answers": form.check_answers(posted.answers), "hidden": hidden}), 200)
        created = wiring.intake().submit(posted.answers, idempotency_header=key)
    except ApplicationInvalid as exc:
        return apply_page(422, exc.errors)
    except IdempotencyConflict:
        return apply_page(422, [{"field": "summary", "message": "These answers changed after you sent them: check them and send again"}])
    except TooLarge:
        return apply_page(413, inputs.longest_fields(posted.answers))
    return form_page(renderer.render_form_page("confirmation", {**context, "receipt": receipt(created)}), 201)


@bp.route("/applications", methods=["POST"], content_types=["application/json", "application/x-www-form-urlencoded"])
@answers_problems
def submit_application():
    from chalicelib import inputs, wiring
    from chalicelib.adapters.limits import TooLarge
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.intake import BadIdempotencyKey, receipt
    from chalicelib.schemas import ApplicationInvalid

    request = bp.current_request
    _refuse_other_sites()
    raw = inputs.body_bytes(request.raw_body, what="application")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return application_form_post(raw)
    body = inputs.json_body(raw, what="application")
    try:
        created = wiring.intake().submit(body, idempotency_header=request.headers.get("idempotency-key"))
    except ApplicationInvalid as exc:
        raise inputs.Problem(422, "There is a problem with the application", exc.errors) from None
    except BadIdempotencyKey as exc:
        raise inputs.Problem(400, "The Idempotency-Key header is not valid", inputs.field_error("Idempotency-Key", str(exc))) from None
    except IdempotencyConflict:
        raise inputs.Problem(422, "This Idempotency-Key was already used for a different application", inputs.field_error(
            "Idempotency-Key", "Use a new key for a new application; reuse a key only to retry the same one")) from None
    except TooLarge:
        raise inputs.too_large(body, "application") from None
    headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
    return Response(body=receipt(created), status_code=201, headers=headers)
