"""The console's step forms: every step of a case as a GOV.UK form, validated exactly as the staff
API validates it, and a preview of the letters it would send before anything is sent.

    GET  /console/cases/{ref}/steps/{step}        the form (step: the staff API's step name)
    POST /console/cases/{ref}/steps/{step}        action=preview | confirm | change | add_row[:<list>]
    GET  /console/cases/{ref}/actions/{action_id}  update one action of the plan
    POST /console/cases/{ref}/actions/{action_id}
    GET  /console/agency-reviews/new               an agency starts a case review
    POST /console/agency-reviews/new

preview: the form's fields become the staff API's JSON body (chalicelib.console_forms), validated
by staff_schemas.validate_staff as chalicelib/routes/staff.py's Sent.validated does, and the step
runs through CaseWork.preview (the same access, state and version checks; nothing stored or sent).
confirm: the same again, for real, guarded by the version the form was loaded at (a case that has
moved on is a 409 page and nothing is saved), then 303 to the case with ?done=<step>. Role and
area checks are CaseWork's: it is always called with the session's principal.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from chalice import Blueprint

from chalicelib.console_web import FORM, case_page

bp = Blueprint(__name__)

ACTIONS = ("preview", "confirm", "change")
_HEADING = re.compile(r"<(/?)h([12])>")


def _form_for(step: str):
    from chalicelib import inputs
    from chalicelib.console_forms import CONSOLE_STEPS, STEP_FORMS

    if step not in CONSOLE_STEPS:
        raise inputs.Problem(404, "Page not found", inputs.field_error("step", "There is no such step"))
    return STEP_FORMS[step]


def _version(fields: dict[str, Any]) -> int:
    from chalicelib import inputs

    version = inputs.ascii_int(fields.get("version") or None, field="version", low=0, high=10**9,
                               message="The form has lost the case's version: go back to the case and start again")
    if version is None:
        raise inputs.Problem(400, "The form could not be read", inputs.field_error(
            "version", "The form has lost the case's version: go back to the case and start again"))
    return version


def _area_name(area: str) -> str:
    from chalicelib import wiring

    policy = wiring.policies().get(area)
    return policy.area.name if policy else area


def _council(area: str | None) -> dict[str, Any]:
    from chalicelib import wiring

    policies = wiring.policies()
    if area in policies:
        return {"council_name": policies[area].area.csp_name}
    return {}


def _letter_body(html: str) -> Any:
    """The letter's body as the recipient sees it, to show inside the page. The letter templates
    escaped every answer when they rendered it (autoescape), so its markup is our own; its headings
    move below the page's (h1 -> h3, h2 -> h4) and its <head> (inline styles) is left out."""
    from markupsafe import Markup

    match = re.search(r"<body[^>]*>(.*)</body>", html or "", re.S)
    if not match:
        return None
    body = _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 2}>", match.group(1))
    return Markup(body)  # noqa: S704 - rendered by the letter templates with autoescape on


def _nav(form) -> str:
    return "appeals" if "appeals" in form.roles else "cases"


def _not_now(session, ref: str, message: str):
    from chalicelib.routes.console_auth import problem_page

    return problem_page(409, "You cannot do this now", message, session=session, back_path=f"/console/cases/{ref}",
                        next_path=f"/console/cases/{ref}")


def _allowed_now(step: str, case: dict[str, Any]) -> str | None:
    """Why the step cannot be taken in the case's present state (None: it can). The step itself
    checks again when it runs (CaseWork); this only spares a form that could not be sent."""
    from chalicelib.console_forms import STEP_FORMS

    status = str(case["status"]).replace("_", " ")
    title = STEP_FORMS[step].title.lower()
    if not set(STEP_FORMS[step].steps) & set(case.get("next_steps") or []):
        return f"You cannot {title} when the case is {status}."
    appeal = case.get("appeal") or {}
    if step == "acknowledgement" and case.get("acknowledgement"):
        return f"The application was already acknowledged on {case['acknowledgement'].get('on')}."
    if step == "appeal" and appeal.get("status") in ("lodged", "acknowledged"):
        return "An appeal is already open for this case."
    if step == "appeal" and not case.get("appeal_window_closes"):
        return "This case's latest decision has no appeal window open."
    if step == "appeal-acknowledgement" and appeal.get("status") != "lodged":
        return "There is no newly lodged appeal to acknowledge."
    if step == "appeal-decision" and appeal.get("status") not in ("lodged", "acknowledged"):
        return "There is no open appeal to decide."
    return None


def _first_values(step: str, case: dict[str, Any]) -> dict[str, str]:
    """What a new form starts with: the outcome from the draft plan sent, a rescheduled meeting
    from the one arranged."""
    from chalicelib.console_forms import STEP_FORMS, to_values

    form = STEP_FORMS[step]
    draft = case.get("draft_plan") or {}
    if step == "outcome" and draft.get("latest"):
        latest = draft["latest"]
        return to_values(form, {"held_on": draft.get("held_on"), "findings": latest.get("findings"),
                                "recommendations": latest.get("recommendations") or [],
                                "actions": [{k: v for k, v in a.items() if k != "id"} for a in latest.get("actions") or []]})
    if step == "meeting" and case.get("meeting"):
        return to_values(form, case["meeting"])
    return {}


def _form_page(session, form, *, values: dict[str, str], errors: list[dict[str, Any]], case: dict[str, Any] | None,
               version: int | None, action_path: str, back_path: str, add_to: str | None = None,
               status: int = 200, **extra: Any):
    from chalicelib.console_forms import views
    from chalicelib.routes.console_auth import page

    template = "steps/" + form.step.replace("-", "_")
    area = case["area"] if case else None
    return page(template, status=status, session=session, nav=_nav(form), form=form,
                fields=views(form, values, errors, add_to), case=case, version=version,
                summary_errors=[{"href": f"#{e['anchor']}", "text": e["message"]} for e in errors],
                area_name=_area_name(area) if area else None, action_path=action_path, back_path=back_path,
                **_council(area), **extra)


def _preview_page(session, form, *, result: dict[str, Any], payload: dict[str, Any], values: dict[str, str],
                  case: dict[str, Any] | None, version: int | None, action_path: str, back_path: str, **extra: Any):
    from chalicelib.console_forms import hidden_values, summary_rows
    from chalicelib.routes.console_auth import page

    letters = [{**letter, "body": _letter_body(letter.get("html") or "")} for letter in result.get("letters") or []]
    area = case["area"] if case else payload.get("area")
    return page("steps/preview", session=session, nav=_nav(form), form=form, case=case, letters=letters,
                answers=summary_rows(form, payload), hidden=hidden_values(values), version=version,
                area_name=_area_name(area) if case else None, action_path=action_path, back_path=back_path,
                **_council(area), **extra)


def _handle(session, form, fields: dict[str, Any], *, run: Callable[[Any, bool], dict[str, Any]],
            case: dict[str, Any] | None, version: int | None, action_path: str, back_path: str,
            done: Callable[[dict[str, Any]], str], **extra: Any):
    """One posted step form: back to the form (change, add a row, or errors: 422), the letters to
    check (preview), or the step taken and a 303 to where it shows (confirm)."""
    from chalicelib import inputs, staff_schemas, wiring
    from chalicelib.adapters.limits import TooLarge
    from chalicelib.clock import london_date
    from chalicelib.console_forms import add_row_target, form_errors, to_payload
    from chalicelib.console_web import see_other
    from chalicelib.schemas import InvalidInput

    action = fields.get("action") or "preview"
    posted = to_payload(form, fields)
    common = {"case": case, "version": version, "action_path": action_path, "back_path": back_path, **extra}
    add_to = add_row_target(action)
    if action == "change" or add_to is not None:
        return _form_page(session, form, values=posted.values, errors=[], add_to=add_to, **common)
    if action not in ACTIONS:
        raise inputs.Problem(400, "The form could not be read", inputs.field_error(
            "action", "Choose Preview the letters, Send or Change"))
    try:
        data = None
        if form.model is not None:
            # Exactly as the staff API's Sent.validated: the same model, the same day.
            data = staff_schemas.validate_staff(getattr(staff_schemas, form.model), posted.payload,
                                                today=london_date(wiring.utc_now()))
        result = run(data, action == "preview")
    except InvalidInput as exc:
        return _form_page(session, form, values=posted.values, errors=form_errors(form, exc.errors, posted),
                          status=422, **common)
    except TooLarge:
        raise inputs.too_large(posted.payload, "record") from None
    if action == "preview":
        return _preview_page(session, form, result=result, payload=posted.payload, values=posted.values, **common)
    return see_other(bp.current_request, done(result))


# ---------------------------------------------------------------- the steps of a case


@bp.route("/console/cases/{ref}/steps/{step}", methods=["GET"])
@case_page
def step_form(ref, step):
    from chalicelib import inputs, wiring
    from chalicelib.console_session import require_session

    session = require_session(bp.current_request)
    ref, form = inputs.reference(ref), _form_for(step)
    work = wiring.casework()
    work.check_access(session.principal, ref, *form.roles)
    case = work.detail(session.principal, ref)
    refusal = _allowed_now(step, case)
    if refusal:
        return _not_now(session, ref, refusal)
    return _form_page(session, form, values=_first_values(step, case), errors=[], case=case, version=case["version"],
                      action_path=f"/console/cases/{ref}/steps/{step}", back_path=f"/console/cases/{ref}")


@bp.route("/console/cases/{ref}/steps/{step}", methods=["POST"], content_types=[FORM])
@case_page
def step_post(ref, step):
    from chalicelib import inputs, wiring
    from chalicelib.console_forms import field_allowed
    from chalicelib.console_web import posted

    ref, form = inputs.reference(ref), _form_for(step)
    session, fields = posted(bp.current_request, allowed=lambda name: field_allowed(form, name))
    principal = session.principal
    work = wiring.casework()
    work.check_access(principal, ref, *form.roles)  # as the staff API: before what was sent is read
    version = _version(fields)
    case = work.detail(principal, ref)
    method = getattr(work, form.method)

    def run(data: Any, preview: bool) -> dict[str, Any]:
        if form.model is None:
            go = lambda: method(principal, ref, version)  # noqa: E731
        else:
            go = lambda: method(principal, ref, data, version)  # noqa: E731
        return work.preview(principal, go) if preview else go()

    return _handle(session, form, fields, run=run, case=case, version=version,
                   action_path=f"/console/cases/{ref}/steps/{step}", back_path=f"/console/cases/{ref}",
                   done=lambda result: f"/console/cases/{ref}?done={step}")


# ---------------------------------------------------------------- one action of the plan


def _plan_action(case: dict[str, Any], ref: str, action_id: str) -> dict[str, Any]:
    from chalicelib.casework import NotFound

    match = next((a for a in (case.get("outcome") or {}).get("actions") or [] if a.get("id") == action_id), None)
    if match is None:
        raise NotFound(f"{ref} action {action_id}")
    return match


@bp.route("/console/cases/{ref}/actions/{action_id}", methods=["GET"])
@case_page
def action_form(ref, action_id):
    from chalicelib import inputs, wiring
    from chalicelib.console_forms import STEP_FORMS
    from chalicelib.console_session import require_session

    session = require_session(bp.current_request)
    ref, action_id = inputs.reference(ref), inputs.item_id(action_id, "action_id")
    form = STEP_FORMS["action-update"]
    work = wiring.casework()
    work.check_access(session.principal, ref, "spoc")
    case = work.detail(session.principal, ref)
    plan_action = _plan_action(case, ref, action_id)
    if "update_action" not in case["next_steps"]:
        return _not_now(session, ref, f"You cannot update an action when the case is {case['status'].replace('_', ' ')}.")
    return _form_page(session, form, values={"status": plan_action.get("status") or ""}, errors=[], case=case,
                      version=case["version"], action_path=f"/console/cases/{ref}/actions/{action_id}",
                      back_path=f"/console/cases/{ref}", plan_action=plan_action)


@bp.route("/console/cases/{ref}/actions/{action_id}", methods=["POST"], content_types=[FORM])
@case_page
def action_post(ref, action_id):
    from chalicelib import inputs, wiring
    from chalicelib.console_forms import STEP_FORMS, field_allowed
    from chalicelib.console_web import posted

    ref, action_id = inputs.reference(ref), inputs.item_id(action_id, "action_id")
    form = STEP_FORMS["action-update"]
    session, fields = posted(bp.current_request, allowed=lambda name: field_allowed(form, name))
    principal = session.principal
    work = wiring.casework()
    work.check_access(principal, ref, "spoc")
    version = _version(fields)
    case = work.detail(principal, ref)
    plan_action = _plan_action(case, ref, action_id)

    def run(data: Any, preview: bool) -> dict[str, Any]:
        go = lambda: work.update_action(principal, ref, action_id, data, version)  # noqa: E731
        return work.preview(principal, go) if preview else go()

    return _handle(session, form, fields, run=run, case=case, version=version,
                   action_path=f"/console/cases/{ref}/actions/{action_id}", back_path=f"/console/cases/{ref}",
                   done=lambda result: f"/console/cases/{ref}?done=action-update", plan_action=plan_action)


# ---------------------------------------------------------------- a review an agency starts


def _agency_form(principal):
    from chalicelib import wiring
    from chalicelib.casework import Forbidden
    from chalicelib.console_forms import agency_review_form

    if not principal.has_role("spoc"):
        raise Forbidden("open a review")  # as the staff API's route: before the form is read
    policies = wiring.policies()
    return agency_review_form((a, policies[a].area.name) for a in sorted(policies) if principal.covers(a))


@bp.route("/console/agency-reviews/new", methods=["GET"])
@case_page
def agency_review_form_page():
    from chalicelib.console_session import require_session

    session = require_session(bp.current_request)
    form = _agency_form(session.principal)
    values = {"area": form.fields[0].options[0][0]} if len(form.fields[0].options) == 1 else {}
    return _form_page(session, form, values=values, errors=[], case=None, version=None,
                      action_path="/console/agency-reviews/new", back_path="/console/cases")


@bp.route("/console/agency-reviews/new", methods=["POST"], content_types=[FORM])
@case_page
def agency_review_post():
    from chalicelib import wiring
    from chalicelib.console_web import posted

    session, fields = posted(bp.current_request, allowed=_agency_form_names())
    principal = session.principal
    form = _agency_form(principal)
    work = wiring.casework()

    def run(data: Any, preview: bool) -> dict[str, Any]:
        go = lambda: work.open_agency_review(principal, data)  # noqa: E731
        return work.preview(principal, go) if preview else go()

    return _handle(session, form, fields, run=run, case=None, version=None, action_path="/console/agency-reviews/new",
                   back_path="/console/cases", done=lambda result: f"/console/cases/{result['reference']}?done=agency-review")


def _agency_form_names() -> Callable[[str], bool]:
    from chalicelib.console_forms import STEP_FORMS, field_allowed

    form = STEP_FORMS["agency-review"]
    return lambda name: name != "version" and field_allowed(form, name)
