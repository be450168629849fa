"""Routes only: read the request, call one use case, shape the response."""
from __future__ import annotations

import json
import logging

from chalice import Chalice, Cron, Response

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
    if event.path == "/applications":
        response = with_cors(response, event.headers.get("origin"))
    if response.status_code == 500:
        return problem(500, "Something went wrong on our side. Nothing was stored; please try again later.", [])
    if response.status_code == 415:
        return problem(415, "Unsupported content type", [
            {"field": "Content-Type", "message": "Send JSON (Content-Type: application/json), or an HTML form where one is offered"}])
    return response


def form_site_url() -> str:
    import os

    return os.environ.get("FORM_SITE_URL", "http://127.0.0.1:8080")


def public_api_url() -> str:
    import os

    return os.environ.get("PUBLIC_API_URL", "http://127.0.0.1:8000")


def origin_allowed(origin: str | None = None) -> bool:
    """Browsers send Origin on every POST: only the configured form sites may post. Clients that
    send no Origin (servers, curl) are not browsers and are not limited by it."""
    from chalicelib.form import allowed_origins, origin_of

    if origin is None:
        origin = app.current_request.headers.get("origin")
    origin = (origin or "").rstrip("/")
    # The API's own origin: the pages it answers a form post with post back to it.
    allowed = (allowed_origins() or {origin_of(form_site_url())}) | {origin_of(public_api_url())}
    return not origin or origin in allowed


def with_cors(response: Response, origin: str | None) -> Response:
    if origin and origin_allowed(origin):
        response.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                                 "Access-Control-Expose-Headers": "Idempotent-Replayed"})
    return response


@app.route("/applications", methods=["OPTIONS"])
def applications_preflight():
    if not origin_allowed():
        return problem(403, "This site may not send applications here", [{"field": "Origin", "message": "Not a configured form site"}])
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

    from chalicelib import form, wiring
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.clock import london_date
    from chalicelib.intake import receipt
    from chalicelib.schemas import ApplicationInvalid, validate_application

    posted = form.form_to_application(form.parse_fields(raw))
    policy = wiring.policies().get(posted.values.get("area", ""))
    if policy is None:
        return problem(400, "Unknown area", [{"field": "area", "message": "The form names no known area"}])
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
        return apply_page(200, rows=form.incident_rows(posted.values) + 1)
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
    return form_page(renderer.render_form_page("confirmation", {**context, "receipt": receipt(created)}), 201)


@app.route("/applications", methods=["POST"], content_types=["application/json", "application/x-www-form-urlencoded"])
def submit_application():
    from chalicelib import wiring
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.intake import BadIdempotencyKey, receipt
    from chalicelib.schemas import MAX_BODY_BYTES, ApplicationInvalid

    request = app.current_request
    if not origin_allowed():
        return problem(403, "This site may not send applications here", [
            {"field": "Origin", "message": "Applications are accepted only from the council's own form"}])
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return problem(413, "The application is too large", [
            {"field": "body", "message": f"The application must be smaller than {MAX_BODY_BYTES // 1000} KB; shorten the longest answers"}])
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return application_form_post(raw)
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


# ---------------------------------------------------------------- staff (bearer JWT, roles and areas)


@app.authorizer(ttl_seconds=300)
def staff_auth(auth_request):
    """Checks the JWT's signature (issuer's JWKS), issuer, audience and expiry. Roles and areas are
    passed to the routes, which answer 403 when they do not allow the request."""
    from chalice import AuthResponse

    from chalicelib import wiring
    from chalicelib.auth import InvalidToken, unauthorized

    try:
        principal = wiring.verifier().verify(auth_request.token)
    except InvalidToken:
        raise unauthorized() from None
    return AuthResponse(routes=["*"], principal_id=principal.subject, context=principal.to_context())


def staff(path: str, methods: list[str]):
    return app.route(path, methods=methods, authorizer=staff_auth, content_types=["application/json"])


def run_staff(action):
    """Call a case-work use case with the signed-in person; turn its refusals into answers."""
    from chalicelib.auth import Principal
    from chalicelib.casework import Conflict, Forbidden, NotFound
    from chalicelib.schemas import InvalidInput

    principal = Principal.from_context(app.current_request.context.get("authorizer") or {})
    try:
        return action(principal)
    except NotFound:
        return problem(404, "Not found", [{"field": "path", "message": "There is no such case, letter or request"}])
    except Forbidden:
        return problem(403, "You cannot do this", [{"field": "authorization",
                                                     "message": "Your role or areas do not allow this for this case"}])
    except Conflict as exc:
        body = {"type": "about:blank", "title": str(exc), "status": 409, "current_status": exc.current_status,
                "version": exc.version, "errors": [{"field": "status", "message": str(exc)}]}
        return Response(body=json.dumps(body), status_code=409, headers={"Content-Type": PROBLEM})
    except InvalidInput as exc:
        return problem(422, "There is a problem with what you sent", exc.errors)


def staff_body(model):
    """The request's JSON validated against a step's model (422 lists every problem)."""
    from chalicelib.clock import london_date, utc_now
    from chalicelib.schemas import InvalidInput
    from chalicelib.staff_schemas import validate_staff

    raw = app.current_request.raw_body or b""
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput([{"field": "body", "message": "Send JSON"}]) from None
    from chalicelib import wiring

    return validate_staff(model, data, today=london_date(wiring.utc_now()))


def expected_version() -> int | None:
    """If-Match: the case version the person last saw; a stale one gets 409, changing nothing."""
    from chalicelib.schemas import InvalidInput

    value = (app.current_request.headers.get("if-match") or "").strip().strip('"').removeprefix("W/").strip('"')
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput([{"field": "If-Match", "message": "If-Match must be the case's version number"}])
    return int(value)


def step(name: str, model_name: str | None):
    """POST /cases/{ref}/<name>: validate the body, run the case-work step, answer with the new state.
    The model is looked up by name when a request arrives, so importing app.py stays cheap."""

    def handler(ref):
        from chalicelib import staff_schemas, wiring

        def action(principal):
            work = wiring.casework()
            work.check_access(principal, ref, "appeals" if name.startswith("appeal") else "spoc")
            method = getattr(work, STEP_METHODS[name])
            if model_name is None:
                return method(principal, ref, expected_version())
            return method(principal, ref, staff_body(getattr(staff_schemas, model_name)), expected_version())

        return run_staff(action)

    handler.__name__ = f"case_{name.replace('-', '_')}"
    return handler


STEP_METHODS = {
    "consent": "record_consent", "threshold-decision": "decide_threshold", "meeting": "schedule_meeting",
    "outcome": "record_outcome", "close": "close", "withdraw": "withdraw", "reject": "reject",
    "appeal": "lodge_appeal", "appeal-acknowledgement": "acknowledge_appeal", "appeal-decision": "decide_appeal",
}


STEP_MODELS = {"consent": "ConsentIn", "threshold-decision": "DecisionIn", "meeting": "MeetingIn",
               "outcome": "OutcomeIn", "close": "CloseIn", "withdraw": "WithdrawIn", "reject": "RejectIn",
               "appeal": "AppealIn", "appeal-acknowledgement": None, "appeal-decision": "AppealDecisionIn"}


def _register_steps() -> None:
    for name, model_name in STEP_MODELS.items():
        staff(f"/cases/{{ref}}/{name}", ["POST"])(step(name, model_name))


@staff("/cases", ["GET"])
def list_cases():
    from chalicelib import wiring

    params = app.current_request.query_params or {}
    return run_staff(lambda p: {"cases": wiring.casework().list_cases(
        p, status=params.get("status"), due=params.get("due"), area=params.get("area"))})


@staff("/cases", ["POST"])
def enter_case():
    """An application received by phone or on paper, typed in by staff: the same validation."""
    from chalicelib import wiring
    from chalicelib.casework import Forbidden
    from chalicelib.intake import receipt
    from chalicelib.staff_schemas import StaffApplicationIn

    def action(principal):
        if not principal.has_role("spoc"):
            raise Forbidden("enter a case")
        body = staff_body(StaffApplicationIn)
        area = str(body.application.get("area", ""))
        if not principal.has_role("spoc") or not principal.covers(area):
            raise Forbidden(area)
        created = wiring.intake().submit(body.application, idempotency_header=app.current_request.headers.get("idempotency-key"),
                                         channel=body.channel, actor=principal.actor)
        return Response(body=receipt(created), status_code=201)

    return run_staff(action)


@staff("/cases/{ref}", ["GET"])
def case_detail(ref):
    from chalicelib import wiring

    return run_staff(lambda p: wiring.casework().detail(p, ref))


@staff("/cases/{ref}/actions/{action_id}", ["POST"])
def update_action(ref, action_id):
    from chalicelib import wiring
    from chalicelib.staff_schemas import ActionUpdateIn

    def action(principal):
        work = wiring.casework()
        work.check_access(principal, ref, "spoc")
        return work.update_action(principal, ref, action_id, staff_body(ActionUpdateIn), expected_version())

    return run_staff(action)


@staff("/cases/{ref}/letters/{letter_id}/printed", ["POST"])
def letter_printed(ref, letter_id):
    from chalicelib import wiring

    return run_staff(lambda p: wiring.casework().mark_printed(p, ref, letter_id))


@staff("/cases/{ref}/partner-requests/{request_id}/revoke", ["POST"])
def revoke_partner_link(ref, request_id):
    from chalicelib import wiring

    return run_staff(lambda p: wiring.casework().revoke_partner_link(p, ref, request_id))


@staff("/reports/deadlines", ["GET"])
def deadline_report():
    from chalicelib import wiring
    from chalicelib.schemas import InvalidInput

    params = app.current_request.query_params or {}
    year = params.get("year")

    def action(principal):
        if not params.get("area"):
            raise InvalidInput([{"field": "area", "message": "Choose an area, e.g. ?area=hart"}])
        if year is not None and not (year.isdigit() and 2014 <= int(year) <= 2100):
            raise InvalidInput([{"field": "year", "message": "The year must be like 2026 (the first year of a financial year)"}])
        return wiring.casework().deadline_report(principal, params["area"], int(year) if year else None)

    return run_staff(action)


@staff("/print-queue", ["GET"])
def print_queue():
    from chalicelib import wiring

    return run_staff(lambda p: {"letters": wiring.casework().print_queue(p)})


@staff("/appeals", ["GET"])
def list_appeals():
    from chalicelib import wiring

    return run_staff(lambda p: {"appeals": wiring.casework().appeals(p)})


_register_steps()


# ---------------------------------------------------------------- published statutory counts (public)

STATS_CACHE = "public, max-age=300"


def cached(body: str, content_type: str) -> Response:
    """ETag from the body (whose generated_at only moves when a count moves), 304 when unchanged."""
    import hashlib

    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": STATS_CACHE, "Vary": "Accept-Encoding"}
    if etag in [t.strip() for t in (app.current_request.headers.get("if-none-match") or "").split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body, status_code=200, headers={**headers, "Content-Type": content_type})


def stats_data():
    """Read ?area= (or ?appeals_body=) and ?year=; answer a problem for anything malformed."""
    from chalicelib import wiring
    from chalicelib.published import UnknownArea

    params = app.current_request.query_params or {}
    area, body, year = params.get("area"), params.get("appeals_body"), params.get("year")
    if not area and not body:
        return None, problem(400, "Say which area", [{"field": "area", "message": "Add ?area=<area id>, e.g. ?area=hart"}])
    if year is not None and not (year.isdigit() and len(year) == 4 and 2014 <= int(year) <= 2100):
        return None, problem(400, "The year is not valid", [{"field": "year", "message": "Give the year as four digits, e.g. 2026"}])
    service = wiring.published()
    try:
        policies = service.areas_for(area, body)
    except UnknownArea:
        field = "area" if area else "appeals_body"
        return None, problem(404, "Unknown area", [{"field": field, "message": f"There is no area or appeals body '{area or body}' here"}])
    return service.read(policies, int(year) if year else None), None


@app.route("/stats", methods=["GET"], cors=True)
def stats_json():
    data, error = stats_data()
    return error or cached(json.dumps(data), "application/json")


@app.route("/stats.csv", methods=["GET"], cors=True)
def stats_csv():
    from chalicelib.published import PublishedStats

    data, error = stats_data()
    return error or cached(PublishedStats.csv(data), "text/csv; charset=utf-8")


@app.route("/stats/fragment.html", methods=["GET"], cors=True)
def stats_fragment():
    from chalicelib import wiring

    data, error = stats_data()
    return error or cached(wiring.renderer().render_page("stats_fragment", {"data": data}), "text/html; charset=utf-8")


@app.route("/stats/widget.js", methods=["GET"], cors=True)
def stats_widget():
    from chalicelib.resources import templates_dir

    script = (templates_dir() / "pages" / "stats-widget.js").read_text(encoding="utf-8")
    return cached(script, "text/javascript; charset=utf-8")


# ---------------------------------------------------------------- the scheduled deadline sweep

# EventBridge cron is UTC: hourly 06:00-19:00 UTC, Monday to Friday, covers 07:00-19:00 London in
# both GMT and BST. The handler decides by London time.
@app.schedule(Cron("0", "6-19", "?", "*", "MON-FRI", "*"), name="deadline_sweep")
def deadline_sweep(event):
    """Takes "now" from the event, so any date can be driven (tests, `make sweep AT=...`)."""
    from datetime import datetime, timezone

    from chalicelib import wiring
    from chalicelib.domain.deadlines import in_working_hours

    now = datetime.fromisoformat(event.time.replace("Z", "+00:00")) if event.time else datetime.now(timezone.utc)
    if not in_working_hours(now):
        log.info("sweep_skipped_outside_working_hours")
        return {"skipped": True}
    report = wiring.sweep().run(now)
    return {"skipped": False, "cases_checked": report.cases_checked, "effects": report.effects,
            "letters_retried": report.letters_retried, "letters_failed": report.letters_failed}


@app.route("/openapi.json", methods=["GET"], cors=True)
def openapi():
    from chalicelib.clock import london_date, utc_now
    from chalicelib.openapi import build_spec

    return build_spec(london_date(utc_now()))
