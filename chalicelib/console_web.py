"""What every console page that reads or changes a case shares: reading a posted form (CSRF
checked), running a case-work use case as the signed-in person, and turning its refusals into
pages a person can act on.

    @bp.route("/console/cases/{ref}/notes", methods=["POST"], content_types=[FORM])
    @case_page
    def add_note(ref):
        session, fields = posted(bp.current_request, allowed={"text"})
        try:
            work().add_note(session.principal, ref, ...)
        except InvalidInput as exc:
            return page("case", session=session, errors=form_errors(exc), ...)   # 422, the form again
        return see_other(bp.current_request, f"/console/cases/{ref}?done=note")

A refusal raised by the use case (NotFound, Forbidden, Conflict) or by reading the form
(inputs.Problem) becomes a problem page with the right status; the pages and the staff API
enforce the same role and area checks because both call the same CaseWork methods.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
FORM_BYTES = 400_000  # as the staff API: an outcome with its whole action plan is long
MAX_FIELDS = 600


def posted(request: Any, *, allowed: Iterable[str] | Callable[[str], bool],
           multi: Iterable[str] = (), limit: int = FORM_BYTES) -> tuple[Any, dict[str, Any]]:
    """The signed-in session and the form's fields, after the CSRF check. A name in `multi`
    (checkboxes, repeated rows) gives the list of its values; any other name its last value.
    `allowed` is the set of field names the form has (csrf_token is always allowed), or a test."""
    from . import inputs
    from .console_session import check_csrf, require_session

    require_session(request)  # signed out: back to sign-in before anything is read
    accept = allowed if callable(allowed) else frozenset(allowed).__contains__
    many = frozenset(multi)
    raw = inputs.body_bytes(request.raw_body, limit=limit, what="form")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FIELDS,
                          encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise inputs.Problem(400, "The form could not be read", inputs.field_error(
            "body", "Send the form URL-encoded in UTF-8")) from None
    except ValueError:
        raise inputs.Problem(413, "The form has too many fields", inputs.field_error(
            "body", f"A form may have at most {MAX_FIELDS} fields")) from None
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name != "csrf_token" and not accept(name) and name not in many:
            raise inputs.Problem(400, "The form has a field it does not ask for", inputs.field_error(
                inputs.clip(name), "This is not a field of the form; reload the page and try again"))
        if name in many:
            fields.setdefault(name, []).append(value)
        else:
            fields[name] = value
    for name in many:
        fields.setdefault(name, [])
    session = check_csrf(request, {"csrf_token": fields.get("csrf_token") or ""})
    fields.pop("csrf_token", None)
    return session, fields


def form_errors(exc: Any, names: dict[str, str] | None = None) -> list[dict[str, str]]:
    """InvalidInput's errors ({field: "a.b.0.c", message}) as the page shows them: `field` is the id
    of the input to link to from the error summary (dots become hyphens: "actions-0-due_on"), or
    names[field] when the form calls the field something else."""
    names = names or {}
    out = []
    for error in getattr(exc, "errors", exc) or []:
        field = str(error.get("field") or "body")
        out.append({"field": field, "id": names.get(field, field.replace(".", "-")), "message": str(error.get("message"))})
    return out


def see_other(request: Any, path: str) -> Any:
    """Post-redirect-get: after a form is handled, the browser GETs the page that shows the result."""
    from chalice import Response

    from .console_session import console_base

    return Response(body="", status_code=303, headers={"Location": console_base(request) + path,
                                                       "Cache-Control": "no-store"})


def case_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """console_page (sign-in, CSRF), and the case-work refusals as pages: 404 no such case (or one
    outside your areas would be 403: the API answers the same), 403 not your role or area, 409 the
    case has moved on, 400/413 a form that cannot be read, 503 the store is busy."""
    from .routes.console_auth import console_page, problem_page

    @console_page
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from . import inputs
        from .adapters.repository import StoreBusy
        from .casework import Conflict, Forbidden, NotFound
        from .console_session import current_session
        from .routes.console_auth import bp as auth_bp

        ref = kwargs.get("ref")
        back = f"/console/cases/{ref}" if ref and isinstance(ref, str) and ref.isprintable() and len(ref) < 40 else "/console/"

        def refused(status: int, title: str, message: str, **extra: Any) -> Any:
            # Signed in (the view got that far): the page keeps the navigation and links back.
            session = current_session(auth_bp.current_request)
            return problem_page(status, title, message, next_path=back, session=session,
                                back_path=back if session else None, **extra)

        try:
            return view(*args, **kwargs)
        except NotFound:
            return refused(404, "Page not found", "There is no such case, letter or request. Check the "
                           "reference, or find the case from your case list.")
        except Forbidden:
            return refused(403, "You cannot see or do this", "Your role or areas do not allow this for "
                           "this case. If you need access, ask your administrator.")
        except Conflict as exc:
            return refused(409, "The case has moved on", f"{exc}. Nothing was saved.")
        except inputs.Problem as exc:
            detail = "; ".join(e.get("message", "") for e in exc.errors) or exc.title
            return refused(exc.status if exc.status < 500 else 400, exc.title, detail)
        except StoreBusy:
            return refused(503, "The service is busy", "Nothing was saved. Try again in a few seconds.",
                           headers={"Retry-After": "5"})

    return wrapped
