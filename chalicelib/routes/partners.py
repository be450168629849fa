"""The partner return, through the emailed secure link: a form that works without JavaScript,
and the same return as JSON. The link's token is a secret: these pages are never cached, indexed
or sent on as a Referer, and the token never reaches a log line."""
from __future__ import annotations

from chalice import Blueprint, Response

from . import answers_problems

bp = Blueprint(__name__)

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
               "revoked": "This link has been withdrawn", "case_closed": "This case is closed",
               "closed": "The assessment is closed"}
MAX_TOKEN_LENGTH = 512  # a real token is about 120 characters


def page(result) -> Response:
    return Response(body=result.html, status_code=result.status, headers=PAGE_HEADERS)


def _token(token: str) -> str:
    # Anything this long cannot be one of ours: refuse it as an invalid link without verifying it.
    return token if len(token) <= MAX_TOKEN_LENGTH else ""


@bp.route("/partner/{token}", methods=["GET"])
def partner_form(token):
    from chalicelib import wiring
    from chalicelib.partner_links import LinkRefused
    from chalicelib.partner_returns import ReturnClosed

    service = wiring.partner_returns()
    try:
        return page(service.form_page(_token(token)))
    except LinkRefused as exc:
        return page(service.error_page(exc.reason, exc.policy))
    except ReturnClosed as exc:
        return page(service.error_page("closed", exc.policy))


@bp.route("/partner/{token}", methods=["POST"],
          content_types=["application/x-www-form-urlencoded", "application/json"])
@answers_problems
def partner_return(token):
    from chalicelib import inputs, wiring
    from chalicelib.adapters.limits import TooLarge
    from chalicelib.partner_links import LinkRefused
    from chalicelib.partner_returns import Posted, ReturnClosed, form_field_allowed, form_to_answers, report_rows
    from chalicelib.schemas import ReturnInvalid

    service = wiring.partner_returns()
    request = bp.current_request
    token = _token(token)
    if request.headers.get("content-type", "").startswith("application/json"):
        posted = Posted(inputs.json_body(request.raw_body, what="return", empty={}), None, "submit")
    else:
        fields = inputs.form_body(request.raw_body, allowed=form_field_allowed, what="return")
        posted = Posted(form_to_answers(fields), fields, fields.get("action", "submit"))
    try:
        if posted.is_form and posted.action == "add_report":
            rows = report_rows(posted.fields)
            if rows >= inputs.MAX_ROWS:
                return page(service.form_page(token, status=422, values=posted.fields, rows=rows, errors=[
                    {"field": f"reports-{rows - 1}-overview",
                     "message": f"A return can list at most {inputs.MAX_ROWS} reports"}]))
            return page(service.form_page(token, values=posted.fields, rows=rows + 1))
        stored = service.submit(token, posted.answers)
    except LinkRefused as exc:
        if posted.is_form:
            return page(service.error_page(exc.reason, exc.policy))
        status = {"invalid": 404, "expired": 410, "revoked": 410, "case_closed": 410}[exc.reason]
        raise inputs.Problem(status, LINK_TITLES[exc.reason], inputs.field_error("token", LINK_TITLES[exc.reason])) from None
    except ReturnClosed as exc:
        if posted.is_form:
            return page(service.error_page("closed", exc.policy))
        raise inputs.Problem(409, LINK_TITLES["closed"], inputs.field_error("token", "Returns can no longer be changed")) from None
    except ReturnInvalid as exc:
        if posted.is_form:
            return page(service.form_page(token, status=422, values=posted.fields, errors=exc.errors,
                                          positions=posted.answers.get("__positions__", [])))
        raise inputs.Problem(422, "There is a problem with the return", exc.errors) from None
    except TooLarge:
        raise inputs.too_large(posted.answers, "return") from None
    if posted.is_form:
        return page(service.confirmation_page(token, stored))
    body = {"reference": stored.ref, "request_id": stored.request_id, "version": stored.version,
            "submitted_at": stored.submitted_at}
    return Response(body=body, status_code=200 if stored.unchanged else 201)


@bp.route("/assets/partner.css", methods=["GET"])
def partner_css():
    from chalicelib.resources import templates_dir

    css = (templates_dir() / "pages" / "partner.css").read_text(encoding="utf-8")
    return Response(body=css, status_code=200, headers={"Content-Type": "text/css; charset=utf-8",
                                                         "Cache-Control": "public, max-age=3600"})
