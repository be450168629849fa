"""The staff console's office pages: the print queue, the appeals body's list, reports and
subject access requests. Each calls a case-work use case as the signed-in person (the role and
area checks are there, not here) and renders a page; forms post, then redirect (303).

    GET  /console/print-queue                       letters waiting to be posted (SPOC)
    POST /console/print-queue/printed               mark the ticked letters as printed
    GET  /console/print-queue/{ref}/{letter_id}     one letter, print-ready (A4, window envelope)
    POST /console/print-queue/{ref}/{letter_id}     mark that letter as printed
    GET  /console/appeals                           appeals across my areas; cases still appealable
    POST /console/appeals                           "Lodge an appeal": a reference -> the appeal step's form
    GET  /console/reports?area=&year=               deadlines met and missed; links to the CSVs
    GET  /console/reports/figures.csv               the published figures (as /stats.csv)
    GET  /console/reports/data-return.csv           the Home Office data return (as /stats/data-return.csv)
    GET  /console/reports/deadlines.csv             the deadline report
    GET  /console/admin/subject-access?q=           find a person's cases (admin)
    POST /console/admin/subject-access              export what is held about them
    GET  /console/admin/subject-access/{id}         the export as a page; {id}.json as a download
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from ..console_web import FORM, case_page, form_errors, posted, see_other
from .console_auth import page

bp = Blueprint(__name__)

DEADLINE_LABELS = {
    "acknowledge": "Acknowledgement", "partner_return": "Partner returns", "threshold_decision": "Threshold decision",
    "review_meeting": "Case review meeting", "draft_plan_response": "Views on the draft action plan",
    "outcome_letter": "Outcome letter", "action": "Actions in the action plan",
    "appeal_acknowledge": "Appeal acknowledgement", "appeal_decision": "Appeal decision",
}
RESULTS = ("met", "met_late", "missed", "pending", "ended")
CSV_TYPE = "text/csv; charset=utf-8"


def _work() -> Any:
    from chalicelib import wiring

    return wiring.casework()


def _session() -> Any:
    from chalicelib.console_session import require_session

    return require_session(bp.current_request)


def _frame(session: Any) -> dict[str, Any]:
    """The layout's names: each area's, and the council's when the person works for one area."""
    from chalicelib import wiring

    policies = wiring.policies()
    mine = [p for a, p in sorted(policies.items()) if session.principal.covers(a)]
    return {"area_names": {p.id: p.area.name for p in mine},
            "council_name": mine[0].area.csp_name if len(mine) == 1 else None}


def _params() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _count(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 3 else 0


# ---------------------------------------------------------------- CSV


def csv_safe(cell: Any) -> str:
    """A spreadsheet runs a cell that starts with = + - @ (or a tab or CR) as a formula: such a
    cell is written with a leading apostrophe, which the spreadsheet shows as text."""
    text = "" if cell is None else str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def safe_csv(text: str) -> str:
    """A CSV made elsewhere (the published figures), every cell made safe as above."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def csv_rows(header: list[str], rows: list[list[Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def download(body: str, filename: str, content_type: str = CSV_TYPE) -> Response:
    return Response(body=body, status_code=200, headers={
        "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


# ---------------------------------------------------------------- the print queue


def letter_body(html: str) -> Any:
    """What is inside a stored letter's <body>. The letter was rendered by our own templates with
    autoescaping on (every value a person typed is escaped there), so its markup is ours; its own
    <head> (an inline <style>, which the console's CSP forbids) is left out: the console's
    stylesheet lays the letter out for print instead."""
    import re

    from markupsafe import Markup

    found = re.search(r"<body[^>]*>(.*)</body>", html, re.S | re.I)
    return Markup(found.group(1) if found else "")


def recipient_name(html: str) -> str:
    """Who a stored letter is addressed to: the first line of its address block, as text."""
    import html as markup
    import re

    found = re.search(r'<div class="recipient">\s*<p>(.*?)</p>', html, re.S)
    return markup.unescape(found.group(1)).strip() if found else ""


def _queue(principal: Any) -> list[dict[str, Any]]:
    return [{**l, "recipient_name": recipient_name(l["html"])} for l in _work().print_queue(principal)]


@bp.route("/console/print-queue", methods=["GET"])
@case_page
def print_queue_page():
    session = _session()
    letters = _queue(session.principal)
    params = _params()
    return page("print_queue", session=session, nav="print", letters=letters, errors=[],
                printed=_count(params.get("printed")), missed=_count(params.get("missed")), **_frame(session))


@bp.route("/console/print-queue/printed", methods=["POST"], content_types=[FORM])
@case_page
def print_queue_printed():
    from chalicelib.casework import Forbidden
    from chalicelib.clock import london_date
    from chalicelib.schemas import InvalidInput
    from chalicelib import wiring
    from chalicelib.staff_schemas import PrintedIn, validate_staff

    session, fields = posted(bp.current_request, allowed=(), multi={"letter"})
    principal = session.principal
    if not principal.has_role("spoc"):
        raise Forbidden("print queue")  # as the API: refused before the letters are looked at
    # Each box's value is "<reference>/<letter id>", as the API's {"reference", "letter_id"}.
    letters = [dict(zip(("reference", "letter_id"), value.split("/", 1))) if "/" in value
               else {"reference": value, "letter_id": ""} for value in fields["letter"]]
    work = _work()
    error = "Choose at least one letter to mark as printed" if not letters else None
    if error is None:
        try:
            data = validate_staff(PrintedIn, {"letters": letters}, today=london_date(wiring.utc_now()))
        except InvalidInput as exc:
            error = form_errors(exc)[0]["message"]
    if error is not None:
        return page("print_queue", status=422, session=session, nav="print", letters=_queue(principal),
                    errors=[{"field": "letter", "id": "letter", "message": error}], printed=0, missed=0,
                    **_frame(session))
    results = work.mark_many_printed(principal, data.letters)["letters"]
    done = sum(1 for r in results if r["status"] == "printed")
    return see_other(bp.current_request, f"/console/print-queue?printed={done}&missed={len(results) - done}")


def _print_letter_page(ref: str, letter_id: str, *, status: int = 200, errors: list | None = None) -> Response:
    from chalicelib import inputs

    ref, letter_id = inputs.reference(ref), inputs.item_id(letter_id, "letter_id")
    session = _session()
    # The print room is the SPOC's (as the queue and "mark printed" are): the appeals body reads
    # a case's letters from the case page.
    _work().check_access(session.principal, ref, "spoc")
    letter = _work().letter(session.principal, ref, letter_id)
    return page("print_letter", status=status, session=session, nav="print", letter=letter,
                body=letter_body(letter["html"]), errors=errors or [], **_frame(session))


@bp.route("/console/print-queue/{ref}/{letter_id}", methods=["GET"])
@case_page
def print_letter(ref, letter_id):
    return _print_letter_page(ref, letter_id)


@bp.route("/console/print-queue/{ref}/{letter_id}", methods=["POST"], content_types=[FORM])
@case_page
def print_letter_printed(ref, letter_id):
    from chalicelib import inputs

    ref, letter_id = inputs.reference(ref), inputs.item_id(letter_id, "letter_id")
    session, _ = posted(bp.current_request, allowed=())
    _work().mark_printed(session.principal, ref, letter_id)
    return see_other(bp.current_request, "/console/print-queue?printed=1")


# ---------------------------------------------------------------- appeals


def _appeals_page(session: Any, *, status: int = 200, errors: list | None = None, typed: str = "") -> Response:
    from chalicelib.clock import london_date
    from chalicelib import wiring

    work = _work()
    rows = []
    for item in work.appeals(session.principal):
        appeal = item["appeal"] or {}
        rows.append({**item, "appeal": appeal, "decide_by": item["decide_by"] or appeal.get("decide_by"),
                     "can_acknowledge": appeal.get("status") == "lodged",
                     "can_decide": appeal.get("status") in ("lodged", "acknowledged")})
    today = london_date(wiring.utc_now()).isoformat()
    return page("appeals", status=status, session=session, nav="appeals", appeals=rows,
                appealable=work.appealable(session.principal), today=today, errors=errors or [], typed=typed,
                **_frame(session))


@bp.route("/console/appeals", methods=["GET"])
@case_page
def appeals_page():
    return _appeals_page(_session())


@bp.route("/console/appeals", methods=["POST"], content_types=[FORM])
@case_page
def lodge_appeal_start():
    """'Lodge an appeal': the case's reference, checked, then its appeal form (part "steps")."""
    from chalicelib import inputs
    from chalicelib.casework import Forbidden, NotFound
    from chalicelib.domain.reference import normalise_reference

    session, fields = posted(bp.current_request, allowed={"reference"})
    typed = (fields.get("reference") or "").strip()
    if not typed:
        message = "Enter the case reference, like CT-AB12-CD34"
    else:
        ref = normalise_reference(typed[:40]) or ""
        try:
            inputs.reference(ref)
            _work().check_access(session.principal, ref, "appeals")
            return see_other(bp.current_request, f"/console/cases/{ref}/steps/appeal")
        except inputs.Problem:
            message = "Enter a case reference in the right format, like CT-AB12-CD34"
        except (NotFound, Forbidden):
            # A case outside your areas is answered as one that does not exist: nothing is learned.
            message = "There is no case with this reference in your areas"
    return _appeals_page(session, status=422, typed=typed[:40],
                         errors=[{"field": "reference", "id": "reference", "message": message}])


# ---------------------------------------------------------------- reports


def _report_query(session: Any) -> tuple[str | None, int | None, list[dict[str, str]], list[str]]:
    """The area (default: the person's first) and year asked for, and what is wrong with them."""
    from chalicelib import inputs, wiring

    params = _params()
    areas = [a for a in sorted(wiring.policies()) if session.principal.covers(a)]
    area = params.get("area") or (areas[0] if areas else None)
    errors = []
    if area is not None and area not in areas:
        errors.append({"field": "area", "id": "area", "message": "Choose one of your areas"})
        area = None
    year = None
    try:
        year = inputs.ascii_int(params.get("year") or None, field="year", low=2014, high=2100, status=422,
                                message="Enter the year like 2026 (the year the reporting year starts)")
    except inputs.Problem as exc:
        errors.append({"field": "year", "id": "year", "message": exc.errors[0]["message"]})
    return area, year, errors, areas


@bp.route("/console/reports", methods=["GET"])
@case_page
def reports():
    session = _session()
    area, year, errors, areas = _report_query(session)
    report = _work().deadline_report(session.principal, area, year) if area and not errors else None
    rows = []
    if report:
        for name, counts in report["deadlines"].items():
            rows.append({"name": name, "label": DEADLINE_LABELS.get(name, name.replace("_", " ").capitalize()),
                         **{k: counts.get(k, 0) for k in RESULTS}})
        order = list(DEADLINE_LABELS)
        rows.sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    typed_year = _params().get("year") or ""
    return page("reports", status=422 if errors else 200, session=session, nav="reports", report=report, rows=rows,
                area=area, year=year, typed_year=typed_year[:10], areas=areas, errors=errors, **_frame(session))


def _report_csv_query(session: Any) -> tuple[str, int | None]:
    from chalicelib import inputs

    area, year, errors, _ = _report_query(session)
    if errors or area is None:
        raise inputs.Problem(422, "The report cannot be made", errors or [
            {"field": "area", "message": "You have no areas"}])
    return area, year


def _published(session: Any, decision_days: bool) -> tuple[str, dict[str, Any]]:
    from chalicelib import wiring
    from chalicelib.casework import Forbidden

    if not session.principal.has_role("spoc", "appeals"):
        raise Forbidden("reports")
    area, year = _report_csv_query(session)
    service = wiring.published()
    return area, service.read(service.areas_for(area, None), year, decision_days=decision_days)


@bp.route("/console/reports/figures.csv", methods=["GET"])
@case_page
def report_figures_csv():
    from chalicelib.published import PublishedStats

    area, data = _published(_session(), False)
    return download(safe_csv(PublishedStats.csv(data)), f"{area}-figures.csv")


@bp.route("/console/reports/data-return.csv", methods=["GET"])
@case_page
def report_data_return_csv():
    from chalicelib.published import PublishedStats

    area, data = _published(_session(), True)
    return download(safe_csv(PublishedStats.data_return(data)), f"{area}-data-return.csv")


@bp.route("/console/reports/deadlines.csv", methods=["GET"])
@case_page
def report_deadlines_csv():
    session = _session()
    area, year = _report_csv_query(session)
    report = _work().deadline_report(session.principal, area, year)
    span = report["reporting_year"]
    rows = [[area, span["from"], span["to"], name, *[counts.get(k, 0) for k in RESULTS]]
            for name, counts in sorted(report["deadlines"].items())]
    return download(csv_rows(["area", "year_from", "year_to", "deadline", *RESULTS], rows),
                    f"{area}-deadlines-{span['from'][:4]}.csv")


# ---------------------------------------------------------------- subject access (admin)


def _sar_page(session: Any, *, status: int = 200, q: str = "", found: list | None = None,
              errors: list | None = None, values: dict | None = None) -> Response:
    from chalicelib import subject_access

    return page("subject_access", status=status, session=session, q=q, found=found, errors=errors or [],
                values=values or {}, keep_days=subject_access.KEEP_FOR.days, **_frame(session))


@bp.route("/console/admin/subject-access", methods=["GET"])
@case_page
def subject_access_find():
    from chalicelib import subject_access
    from chalicelib.casework import BadQuery

    session = _session()
    subject_access.require_admin(session.principal)  # refused before anything is read
    q = (_params().get("q") or "").strip()
    if "q" not in _params():
        return _sar_page(session)
    if not q or len(q) > 100:
        return _sar_page(session, status=422, q=q[:100], errors=[{"field": "q", "id": "q", "message":
                         "Enter the person's name or postcode, or a case reference" if not q else
                         "Enter at most 100 characters"}])
    try:
        found = subject_access.find(_work(), session.principal, q)
    except BadQuery as exc:
        return _sar_page(session, status=422, q=q, errors=[{"field": "q", "id": "q", "message": str(exc)}])
    return _sar_page(session, q=q, found=found)


@bp.route("/console/admin/subject-access", methods=["POST"], content_types=[FORM])
@case_page
def subject_access_export():
    from chalicelib import inputs, subject_access

    session, fields = posted(bp.current_request, allowed={"q", "requester", "reason"}, multi={"person"})
    subject_access.require_admin(session.principal)
    q = (fields.get("q") or "").strip()[:100]
    requester, reason = (fields.get("requester") or "").strip(), (fields.get("reason") or "").strip()
    chosen, errors = [], []
    for value in fields["person"]:
        ref, _, role = value.partition("/")
        if not inputs.REF.fullmatch(ref) or role not in subject_access.ROLES:
            raise inputs.Problem(400, "The form could not be read", inputs.field_error(
                "person", "Reload the page and choose again"))
        chosen.append((ref, role))
    if not chosen:
        errors.append({"field": "person", "id": "person", "message": "Choose whose information to export"})
    elif len(chosen) > subject_access.MAX_CASES:
        errors.append({"field": "person", "id": "person", "message":
                       f"Choose at most {subject_access.MAX_CASES} cases for one export"})
    if not requester:
        errors.append({"field": "requester", "id": "requester", "message": "Enter who asked for their information"})
    elif len(requester) > subject_access.REQUESTER_MAX:
        errors.append({"field": "requester", "id": "requester",
                       "message": f"Enter at most {subject_access.REQUESTER_MAX} characters"})
    if not reason:
        errors.append({"field": "reason", "id": "reason", "message": "Enter why the export is made, e.g. the request's date and how the requester's identity was checked"})
    elif len(reason) > subject_access.REASON_MAX:
        errors.append({"field": "reason", "id": "reason", "message": f"Enter at most {subject_access.REASON_MAX} characters"})
    values = {"requester": requester, "reason": reason, "person": [f"{r}/{p}" for r, p in chosen]}
    if errors:
        found = subject_access.find(_work(), session.principal, q) if q and "@" not in q else None
        return _sar_page(session, status=422, q=q, found=found, errors=errors, values=values)
    try:
        export_id = subject_access.export(_work(), session.principal, chosen, requester=requester, reason=reason)
    except subject_access.ExportTooLarge:
        found = subject_access.find(_work(), session.principal, q) if q and "@" not in q else None
        return _sar_page(session, status=422, q=q, found=found, values=values, errors=[{
            "field": "person", "id": "person", "message": "These cases hold too much for one export: choose fewer"}])
    return see_other(bp.current_request, f"/console/admin/subject-access/{export_id}")


@bp.route("/console/admin/subject-access/{export_id}", methods=["GET"])
@case_page
def subject_access_view(export_id):
    import json
    import re

    from chalicelib import subject_access, wiring
    from chalicelib.casework import NotFound

    session = _session()
    as_json = export_id.endswith(".json")
    ident = export_id.removesuffix(".json")
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,40}", ident):
        subject_access.require_admin(session.principal)  # a non-admin learns only that it is refused
        raise NotFound(ident)
    data = subject_access.read(session.principal, ident, wiring.utc_now())
    if as_json:
        return download(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
                        f"subject-access-{ident}.json", "application/json; charset=utf-8")
    return page("subject_access_export", session=session, export=data, export_id=ident,
                deadline_labels=DEADLINE_LABELS, **_frame(session))
