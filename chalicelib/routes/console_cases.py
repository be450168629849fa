"""The console's case pages: "My cases" (filters, search, paging, CSV), a case, a letter as sent,
notes, and the partner requests' actions. Thin: CaseWork does the checks (roles, areas, states)
and chalicelib.console_views shapes what each page shows.

    GET  /console/cases                      my cases (?status&area&due&q&cursor)
    GET  /console/cases.csv                  the same filters, every matching case (at most CSV_CAP)
    GET  /console/cases/{ref}                a case (?done=<what> after a step: a success banner)
    GET  /console/cases/{ref}/letters/{id}   a letter as its recipient saw it
    POST /console/cases/{ref}/notes          add a note
    POST /console/cases/{ref}/legal-hold     place or lift a legal hold (action=place|lift, reason)
    POST /console/cases/{ref}/partner-requests/{id}/resend|revoke
    GET/POST /console/cases/{ref}/partner-requests/{id}/reissue|address   a small form
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.console_web import FORM, case_page

bp = Blueprint(__name__)

PAGE_SIZE = 25  # rows on a page of "My cases"
CSV_CAP = 10_000
CSV_PAGE = 100


def _request() -> Any:
    return bp.current_request


def _areas(principal: Any) -> tuple[list[str], dict[str, str], str | None]:
    """The person's areas, every area's name, and the council's name when they work for one."""
    from chalicelib import wiring

    policies = wiring.policies()
    mine = sorted(a for a in policies if principal.covers(a))
    names = {a: p.area.name for a, p in policies.items()}
    council = policies[mine[0]].area.csp_name if len(mine) == 1 else None
    return mine, names, council


def _today() -> Any:
    from chalicelib import wiring
    from chalicelib.clock import london_date

    return london_date(wiring.utc_now())


# ---------------------------------------------------------------- my cases


def _list_page(session: Any, *, filters: dict, errors: list, rows: list, next_href: str | None,
               status: int = 200) -> Response:
    from chalicelib import console_views as views
    from chalicelib.console_assets import console_url
    from chalicelib.domain.case import Status
    from chalicelib.routes.console_auth import page

    mine, names, council = _areas(session.principal)
    return page("cases", session=session, nav="cases", status=status, council_name=council, area_names=names,
                filters=filters, errors=errors, error_for=views.error_for(errors),
                summary=views.summary_errors(errors), rows=rows, next_href=next_href,
                statuses=[(s.value, views.status_tag(s.value)["text"]) for s in Status],
                my_areas=[(a, names[a]) for a in mine], due_options=list(views.DUE_FILTERS.items()),
                selected=[{**c, "items": [{**i, "href": console_url("/console/cases") + i["href"]} for i in c["items"]]}
                          for c in views.selected_filters(filters, names)],
                clear_href=views.list_query({"q": filters.get("q")}),
                csv_href=views.list_query(filters), first_href=views.list_query(filters) if filters.get("cursor") else None,
                csv_cap=CSV_CAP)


def _read_list(principal: Any, filters: dict, *, limit: int, cursor: str | None) -> dict:
    """One page of CaseWork.case_list; its refusals of the query as form errors (BadQueryError)."""
    from chalicelib import wiring
    from chalicelib.casework import BadCursor, BadQuery

    try:
        return wiring.casework().case_list(principal, status=filters["status"], due=filters["due"], area=filters["area"],
                                           q=filters["q"], limit=limit, cursor=cursor)
    except BadCursor:
        raise _QueryRefused([{"field": "", "message": "This page of the list is out of date or from other "
                                                            "filters: start again from the first page"}]) from None
    except BadQuery as exc:
        raise _QueryRefused([{"field": "q", "message": str(exc)}]) from None


class _QueryRefused(Exception):
    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("query refused")
        self.errors = errors


@bp.route("/console/cases", methods=["GET"])
@case_page
def my_cases():
    from chalicelib import console_views as views
    from chalicelib.console_session import require_session

    session = require_session(_request())
    mine, names, _ = _areas(session.principal)
    filters, errors = views.list_filters(_request().query_params, mine)
    if errors:
        return _list_page(session, filters=filters, errors=errors, rows=[], next_href=None, status=400)
    try:
        found = _read_list(session.principal, filters, limit=PAGE_SIZE, cursor=filters["cursor"])
    except _QueryRefused as exc:
        return _list_page(session, filters=filters, errors=exc.errors, rows=[], next_href=None, status=400)
    nxt = found.get("next_cursor")
    return _list_page(session, filters=filters, errors=[], rows=[views.list_row(r, names) for r in found["cases"]],
                      next_href=views.list_query(filters, cursor=nxt) if nxt else None)


@bp.route("/console/cases.csv", methods=["GET"])
@case_page
def my_cases_csv():
    import csv
    import io

    from chalicelib import console_views as views
    from chalicelib.console_session import require_session
    from chalicelib.routes.console_auth import PAGE_HEADERS

    session = require_session(_request())
    mine, names, _ = _areas(session.principal)
    filters, errors = views.list_filters(_request().query_params, mine)
    filters["cursor"] = None  # the file is every matching case, from the first
    if errors:
        return _list_page(session, filters=filters, errors=errors, rows=[], next_href=None, status=400)
    rows: list[dict] = []
    cursor, more = None, False
    try:
        while True:
            found = _read_list(session.principal, filters, limit=CSV_PAGE, cursor=cursor)
            rows += found["cases"]
            cursor = found.get("next_cursor")
            if cursor is None:
                break
            if len(rows) >= CSV_CAP:
                more = True
                break
    except _QueryRefused as exc:
        return _list_page(session, filters=filters, errors=exc.errors, rows=[], next_href=None, status=400)
    more = more or len(rows) > CSV_CAP
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(views.CSV_HEAD)
    for row in rows[:CSV_CAP]:
        writer.writerow(views.csv_line(row, names))
    if more:
        writer.writerow([f"Only the first {CSV_CAP:,} matching cases are in this file: narrow the filters to get the rest"])
    today = _today()
    return Response(body=out.getvalue(), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="cases-{today.isoformat()}.csv"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": PAGE_HEADERS["Referrer-Policy"]})


# ---------------------------------------------------------------- a case


def _case_page(session: Any, ref: str, *, status: int = 200, errors: list | None = None,
               note_text: str = "", hold_reason: str = "") -> Response:
    from chalicelib import console_views as views
    from chalicelib import wiring
    from chalicelib.routes.console_auth import page

    detail = wiring.casework().detail(session.principal, ref)
    mine, names, _ = _areas(session.principal)
    council = wiring.policies()[detail["area"]].area.csp_name
    done = (_request().query_params or {}).get("done") if status == 200 else None
    return page("case", session=session, nav="cases", status=status, council_name=council, area_names=names,
                case=views.case_view(detail, session.principal, _today(), names), done=views.done_message(done),
                errors=errors or [], error_for=views.error_for(errors or []), summary=views.summary_errors(errors or []),
                note_text=note_text, note_max=_note_max(), hold_reason=hold_reason, hold_max=_hold_max())


def _hold_max() -> int:
    from chalicelib.schemas import MEDIUM

    return MEDIUM


def _note_max() -> int:
    from chalicelib.schemas import LONG

    return LONG


@bp.route("/console/cases/{ref}", methods=["GET"])
@case_page
def a_case(ref):
    from chalicelib import inputs
    from chalicelib.console_session import require_session

    session = require_session(_request())
    return _case_page(session, inputs.reference(ref))


@bp.route("/console/cases/{ref}/letters/{letter_id}", methods=["GET"])
@case_page
def a_letter(ref, letter_id):
    from chalicelib import console_views as views
    from chalicelib import inputs, wiring
    from chalicelib.console_session import require_session
    from chalicelib.routes.console_auth import PAGE_HEADERS, page

    session = require_session(_request())
    ref, letter_id = inputs.reference(ref), inputs.item_id(letter_id, "letter_id")
    letter = views.letter_view(wiring.casework().letter(session.principal, ref, letter_id))
    _, names, council = _areas(session.principal)
    headers = {}
    if letter["style_hash"]:
        # The letter is shown in a sandboxed frame (srcdoc), which takes this page's policy: its
        # own stylesheet, by hash, is the only inline style allowed.
        headers["Content-Security-Policy"] = PAGE_HEADERS["Content-Security-Policy"].replace(
            "style-src 'self'", f"style-src 'self' {letter['style_hash']}")
    return page("letter", session=session, nav="cases", area_names=names, council_name=council, letter=letter,
                headers=headers)


# ---------------------------------------------------------------- notes


@bp.route("/console/cases/{ref}/notes", methods=["POST"], content_types=[FORM])
@case_page
def add_note(ref):
    from chalicelib import inputs, staff_schemas, wiring
    from chalicelib.console_web import form_errors, posted, see_other
    from chalicelib.schemas import InvalidInput

    session, fields = posted(_request(), allowed={"text"})
    ref = inputs.reference(ref)
    work = wiring.casework()
    work.check_access(session.principal, ref, "spoc", "appeals")  # before the note is validated, as the API
    try:
        data = staff_schemas.validate_staff(staff_schemas.NoteIn, {"text": fields.get("text", "")}, today=_today())
        work.add_note(session.principal, ref, data, None)
    except InvalidInput as exc:
        return _case_page(session, ref, status=422, errors=form_errors(exc, {"text": "note-text"}),
                          note_text=fields.get("text", ""))
    return see_other(_request(), f"/console/cases/{ref}?done=note#notes")


# ---------------------------------------------------------------- legal hold


@bp.route("/console/cases/{ref}/legal-hold", methods=["POST"], content_types=[FORM])
@case_page
def legal_hold(ref):
    from chalicelib import inputs, staff_schemas, wiring
    from chalicelib.console_web import form_errors, posted, see_other
    from chalicelib.schemas import InvalidInput

    session, fields = posted(_request(), allowed={"reason", "action"})
    ref = inputs.reference(ref)
    lift = fields.get("action") == "lift"
    work = wiring.casework()
    work.check_access(session.principal, ref, "spoc", "admin")  # before the reason is validated, as the API
    model = staff_schemas.LegalHoldLiftIn if lift else staff_schemas.LegalHoldIn
    try:
        data = staff_schemas.validate_staff(model, {"reason": fields.get("reason", "")}, today=_today())
        (work.lift_legal_hold if lift else work.place_legal_hold)(session.principal, ref, data, None)
    except InvalidInput as exc:
        return _case_page(session, ref, status=422, errors=form_errors(exc, {"reason": "hold-reason"}),
                          hold_reason=fields.get("reason", ""))
    return see_other(_request(), f"/console/cases/{ref}?done={'hold-lifted' if lift else 'hold'}#retention")


# ---------------------------------------------------------------- partner requests

PARTNER_FORMS = {"reissue": ("PartnerReissueIn", "Send a new link"), "address": ("PartnerAddressIn", "Add an email address")}


def _request_of(session: Any, ref: str, request_id: str) -> tuple[dict, dict]:
    """The case (as CaseWork.detail shows it, so the access checks are the same) and one request."""
    from chalicelib import wiring
    from chalicelib.casework import NotFound

    detail = wiring.casework().detail(session.principal, ref)
    match = next((r for r in detail["partner_requests"] if r["id"] == request_id), None)
    if match is None:
        raise NotFound(f"{ref} request {request_id}")
    return detail, match


def _partner_form(session: Any, ref: str, request_id: str, action: str, *, status: int = 200,
                  errors: list | None = None, values: dict | None = None) -> Response:
    from chalicelib import console_views as views
    from chalicelib import wiring
    from chalicelib.routes.console_auth import page

    detail, request = _request_of(session, ref, request_id)
    _, names, _ = _areas(session.principal)
    row = next(r for r in views.partner_rows(detail, session.principal) if r["id"] == request_id)
    return page("partner_request", session=session, nav="cases", status=status, area_names=names,
                council_name=wiring.policies()[detail["area"]].area.csp_name, action=action,
                title=PARTNER_FORMS[action][1], reference=ref, request=row, errors=errors or [], values=values or {},
                error_for=views.error_for(errors or []), summary=views.summary_errors(errors or []))


def _partner_action(ref: str, request_id: str, action: str) -> Response:
    from chalicelib import inputs, staff_schemas, wiring
    from chalicelib.console_web import form_errors, posted, see_other
    from chalicelib.schemas import InvalidInput

    allowed = {"reissue": {"due_on.day", "due_on.month", "due_on.year"}, "address": {"email"}}.get(action, set())
    session, fields = posted(_request(), allowed=allowed)
    ref, request_id = inputs.reference(ref), inputs.item_id(request_id, "request_id")
    work = wiring.casework()
    work.check_access(session.principal, ref, "spoc")  # before the form is read, as the staff API
    if action == "revoke":
        work.revoke_partner_link(session.principal, ref, request_id)
        return see_other(_request(), f"/console/cases/{ref}?done=revoke#partner-requests")
    data = None
    if action in PARTNER_FORMS:
        body = _reissue_body(fields) if action == "reissue" else {"email": fields.get("email", "")}
        try:
            data = staff_schemas.validate_staff(getattr(staff_schemas, PARTNER_FORMS[action][0]), body, today=_today())
            work.partner_request(session.principal, ref, request_id, action, data, None)
        except InvalidInput as exc:
            return _partner_form(session, ref, request_id, action, status=422,
                                 errors=form_errors(exc, {"due_on": "due_on-day"}), values=fields)
    else:
        work.partner_request(session.principal, ref, request_id, action, None, None)
    return see_other(_request(), f"/console/cases/{ref}?done={action}#partner-requests")


def _reissue_body(fields: dict) -> dict:
    """The date input's three boxes as the API's one field (none typed: no new date), read as the
    step forms read theirs, so the same model names what is wrong."""
    from chalicelib.console_forms import date_value

    value, _ = date_value(fields, "due_on")
    return {} if value is None else {"due_on": value}


def _partner_get(ref: str, request_id: str, action: str) -> Response:
    from chalicelib import inputs, wiring
    from chalicelib.console_session import require_session

    session = require_session(_request())
    ref, request_id = inputs.reference(ref), inputs.item_id(request_id, "request_id")
    # The form is for whoever may send it (the SPOC): the appeals body is refused it, as its POST is.
    wiring.casework().check_access(session.principal, ref, "spoc")
    return _partner_form(session, ref, request_id, action)


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/resend", methods=["POST"], content_types=[FORM])
@case_page
def resend_partner_request(ref, request_id):
    return _partner_action(ref, request_id, "resend")


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/revoke", methods=["POST"], content_types=[FORM])
@case_page
def revoke_partner_link(ref, request_id):
    return _partner_action(ref, request_id, "revoke")


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/reissue", methods=["GET"])
@case_page
def reissue_form(ref, request_id):
    return _partner_get(ref, request_id, "reissue")


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/reissue", methods=["POST"], content_types=[FORM])
@case_page
def reissue_partner_link(ref, request_id):
    return _partner_action(ref, request_id, "reissue")


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/address", methods=["GET"])
@case_page
def address_form(ref, request_id):
    return _partner_get(ref, request_id, "address")


@bp.route("/console/cases/{ref}/partner-requests/{request_id}/address", methods=["POST"], content_types=[FORM])
@case_page
def add_partner_address(ref, request_id):
    return _partner_action(ref, request_id, "address")


# ---------------------------------------------------------------- /openapi.json


def openapi_paths(problem: dict[str, Any], html: dict[str, Any], unsupported: dict[str, Any]) -> dict[str, Any]:
    """These pages in /openapi.json (chalicelib/openapi.py): HTML for a signed-in browser session."""
    redirect = {"headers": {"Location": {"schema": {"type": "string"}}}}
    signed_out = {"description": "Not signed in: to /console/sign-in?next=... (and back afterwards)", **redirect}
    refusals = {
        "400": {"description": "A query or form that cannot be used: the page with the error summary", "content": html},
        "403": {"description": "Not your role or area, or (a form) the CSRF token is wrong (HTML page)", "content": html},
        "404": {"description": "No such case, letter or request (HTML page)", "content": html},
        "409": {"description": "The case has moved on: nothing was done (HTML page)", "content": html},
        "413": {"description": "The form is too large (HTML page)", "content": html},
        "503": {"description": "The store is busy: try again (HTML page)", "content": html},
    }

    def path(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}

    def query(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}

    ref = path("ref", "The case reference, e.g. CT-AB12-CD34")
    request_id = path("request_id", "The partner request's id, e.g. P01")
    filters = [query("status", "One case status (awaiting_consent, acknowledged, ...)"),
               query("area", "One of your areas"), query("due", "overdue or soon"),
               query("q", "A case reference, a surname or full name, or a postcode (at most 100 characters)"),
               query("cursor", "The next page's cursor, from the page before (same filters)")]

    def get(op: str, summary: str, params: list, extra: str = "") -> dict[str, Any]:
        return {"get": {"operationId": op, "summary": summary, "description": "An HTML page for a console session. " + extra,
                        "parameters": params, "responses": {"200": {"description": "The page", "content": html},
                                                            "303": signed_out, **refusals}}}

    def post(op: str, summary: str, params: list, fields: dict[str, Any]) -> dict[str, Any]:
        return {"post": {"operationId": op, "summary": summary,
                         "description": "A console form (post-redirect-get): on success a 303 to the case page with "
                                        "?done=<what>; with errors, the form again (422).",
                         "parameters": params,
                         "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                             "type": "object", "properties": {"csrf_token": {"type": "string"}, **fields}}}}},
                         "responses": {"303": {"description": "Done (to the case), or not signed in (to sign-in)", **redirect},
                                       "415": unsupported, "422": {"description": "The form again, with the errors",
                                                                   "content": html}, **refusals}}}

    partner = "/console/cases/{ref}/partner-requests/{request_id}"
    due_parts = {f"due_on.{p}": {"type": "string"} for p in ("day", "month", "year")}
    return {
        "/console/cases": get("consoleMyCases", "My cases: filters, search and paging", filters,
                              "Overdue first, then due soon, then by next deadline."),
        "/console/cases.csv": {"get": {**get("consoleMyCasesCsv", "My cases as CSV", filters[:4])["get"],
                                       "responses": {"200": {"description": f"Every matching case (at most {CSV_CAP:,})",
                                                             "content": {"text/csv": {"schema": {"type": "string"}}}},
                                                     "303": signed_out, **refusals}}},
        "/console/cases/{ref}": get("consoleCase", "A case", [ref, query("done", "What was just done: a success banner")]),
        "/console/cases/{ref}/letters/{letter_id}": get("consoleLetter", "A letter as its recipient saw it",
                                                         [ref, path("letter_id", "The letter's id, e.g. 01")]),
        "/console/cases/{ref}/notes": post("consoleAddNote", "Add a staff note", [ref], {"text": {"type": "string"}}),
        "/console/cases/{ref}/legal-hold": post("consoleLegalHold", "Place or lift a legal hold", [ref], {
            "action": {"type": "string", "enum": ["place", "lift"]}, "reason": {"type": "string"}}),
        f"{partner}/resend": post("consoleResendPartnerRequest", "Send a partner request again", [ref, request_id], {}),
        f"{partner}/revoke": post("consoleRevokePartnerLink", "Stop a partner's link working", [ref, request_id], {}),
        f"{partner}/reissue": {**get("consoleReissueForm", "A new link for a partner: the form", [ref, request_id]),
                               **post("consoleReissuePartnerLink", "Send a partner a new link", [ref, request_id], due_parts)},
        f"{partner}/address": {**get("consoleAddressForm", "A partner's email address: the form", [ref, request_id]),
                               **post("consoleAddPartnerAddress", "Give a partner's email address and send the request",
                                      [ref, request_id], {"email": {"type": "string"}})},
    }
