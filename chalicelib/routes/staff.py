"""Case work for staff: the area's single point of contact (SPOC) and the appeals body. Every route
needs a bearer JWT from the council's identity provider; roles and areas come from its claims and
are checked before the body is read (403)."""
from __future__ import annotations

from typing import Any, Callable

from chalice import Blueprint, Response

from . import answers_problems

bp = Blueprint(__name__)

DUE_FILTERS = ("overdue", "soon")
# Staff are signed in, and an outcome with its whole action plan is long: room for every documented
# limit, so validation (not the size check) names what is too long.
STAFF_BODY_BYTES = 400_000


@bp.authorizer(ttl_seconds=300)
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
    def register(view):
        return bp.route(path, methods=methods, authorizer=staff_auth, content_types=["application/json"])(
            answers_problems(view))

    return register


class Sent:
    """The JSON body of a staff request, read once when the step asks for it."""

    def __init__(self) -> None:
        self.data: Any = None

    def validated(self, model: type) -> Any:
        from chalicelib import inputs, wiring
        from chalicelib.clock import london_date
        from chalicelib.staff_schemas import validate_staff

        self.data = inputs.json_body(bp.current_request.raw_body, what="request", empty={}, limit=STAFF_BODY_BYTES)
        return validate_staff(model, self.data, today=london_date(wiring.utc_now()))


def run_staff(action: Callable[[Any], Any], sent: Sent | None = None) -> Any:
    """Call a case-work use case with the signed-in person; turn its refusals into answers."""
    from chalicelib import inputs
    from chalicelib.adapters.limits import TooLarge
    from chalicelib.auth import Principal
    from chalicelib.casework import Conflict, Forbidden, NotFound
    from chalicelib.schemas import InvalidInput

    principal = Principal.from_context(bp.current_request.context.get("authorizer") or {})
    try:
        return action(principal)
    except NotFound:
        raise inputs.Problem(404, "Not found", inputs.field_error("path", "There is no such case, letter or request")) from None
    except Forbidden:
        raise inputs.Problem(403, "You cannot do this", inputs.field_error(
            "authorization", "Your role or areas do not allow this for this case")) from None
    except Conflict as exc:
        raise inputs.Problem(409, str(exc), inputs.field_error("status", str(exc)),
                             extra={"current_status": exc.current_status, "version": exc.version}) from None
    except InvalidInput as exc:
        raise inputs.Problem(422, "There is a problem with what you sent", exc.errors) from None
    except TooLarge:
        raise inputs.too_large(sent.data if sent else None, "record") from None


STEP_METHODS = {
    "consent": "record_consent", "acknowledgement": "record_acknowledgement", "threshold-decision": "decide_threshold",
    "meeting": "schedule_meeting", "draft-plan": "send_draft_plan", "outcome": "record_outcome", "close": "close",
    "withdraw": "withdraw", "reject": "reject", "appeal": "lodge_appeal", "appeal-acknowledgement": "acknowledge_appeal",
    "appeal-decision": "decide_appeal",
}
STEP_MODELS = {"consent": "ConsentIn", "acknowledgement": "AcknowledgementIn", "threshold-decision": "DecisionIn",
               "meeting": "MeetingIn", "draft-plan": "DraftPlanIn", "outcome": "OutcomeIn", "close": "CloseIn",
               "withdraw": "WithdrawIn", "reject": "RejectIn", "appeal": "AppealIn", "appeal-acknowledgement": None,
               "appeal-decision": "AppealDecisionIn"}


def step(name: str, model_name: str | None, *, preview: bool = False):
    """POST /cases/{ref}/<name>: check access, validate the body, run the step, answer with the new
    state. POST /cases/{ref}/<name>/preview: the same checks and validation, and the letters the
    step would send, rendered; nothing is stored or sent. The model is looked up by name when a
    request arrives, so importing stays cheap."""

    def handler(ref):
        from chalicelib import inputs, staff_schemas, wiring

        ref = inputs.reference(ref)
        version = inputs.if_match(bp.current_request.headers)
        sent = Sent()

        def action(principal):
            work = wiring.casework()
            work.check_access(principal, ref, "appeals" if name.startswith("appeal") else "spoc")
            method = getattr(work, STEP_METHODS[name])
            if model_name is None:
                run = lambda: method(principal, ref, version)  # noqa: E731
            else:
                data = sent.validated(getattr(staff_schemas, model_name))
                run = lambda: method(principal, ref, data, version)  # noqa: E731
            return work.preview(principal, run) if preview else run()

        return run_staff(action, sent)

    handler.__name__ = f"case_{name.replace('-', '_')}{'_preview' if preview else ''}"
    return handler


for _name, _model in STEP_MODELS.items():
    staff(f"/cases/{{ref}}/{_name}", ["POST"])(step(_name, _model))
    staff(f"/cases/{{ref}}/{_name}/preview", ["POST"])(step(_name, _model, preview=True))


@staff("/cases", ["GET"])
def list_cases():
    from chalicelib import inputs, wiring
    from chalicelib.domain.case import Status

    from chalicelib.casework import BadCursor, BadQuery

    params = bp.current_request.query_params or {}
    status = inputs.choice(params.get("status"), field="status", options=[s.value for s in Status])
    due = inputs.choice(params.get("due"), field="due", options=DUE_FILTERS)
    area = params.get("area") or None
    limit = inputs.ascii_int(params.get("limit"), field="limit", low=1, high=100,
                             message="The limit must be a whole number from 1 to 100")
    cursor = params.get("cursor") or None
    q = params.get("q")
    if q is not None and not 1 <= len(q.strip()) <= 100:
        raise inputs.Problem(400, "The search is not valid", inputs.field_error(
            "q", "Type a case reference, a postcode or a name (at most 100 characters)"))

    def action(principal):
        try:
            return wiring.casework().case_list(principal, status=status, due=due, area=area, q=q, cursor=cursor,
                                               limit=limit or 25)
        except BadCursor:
            raise inputs.Problem(400, "The cursor is not valid", inputs.field_error(
                "cursor", "Use the next_cursor of the page before, with the same filters, or start again without it")) from None
        except BadQuery as exc:
            raise inputs.Problem(400, "The search is not valid", inputs.field_error("q", str(exc))) from None

    return run_staff(action)


@staff("/cases", ["POST"])
def enter_case():
    """An application received by phone or on paper, typed in by staff: the same validation."""
    from chalicelib import wiring
    from chalicelib.adapters.repository import IdempotencyConflict
    from chalicelib.casework import Forbidden
    from chalicelib.intake import BadIdempotencyKey, receipt
    from chalicelib.inputs import Problem, field_error
    from chalicelib.staff_schemas import StaffApplicationIn

    sent = Sent()

    def action(principal):
        if not principal.has_role("spoc"):
            raise Forbidden("enter a case")
        body = sent.validated(StaffApplicationIn)
        area = str(body.application.get("area", ""))
        if not principal.covers(area):
            raise Forbidden(area)
        try:
            created = wiring.intake().submit(body.application, channel=body.channel, actor=principal.actor,
                                             idempotency_header=bp.current_request.headers.get("idempotency-key"),
                                             acknowledge=body.acknowledgement == "send")
        except BadIdempotencyKey as exc:
            raise Problem(400, "The Idempotency-Key header is not valid", field_error("Idempotency-Key", str(exc))) from None
        except IdempotencyConflict:
            raise Problem(422, "This Idempotency-Key was already used for a different application", field_error(
                "Idempotency-Key", "Use a new key for a new application; reuse a key only to retry the same one")) from None
        headers = {"Idempotent-Replayed": "true"} if created.replayed else {}
        return Response(body=receipt(created), status_code=201, headers=headers)

    return run_staff(action, sent)


@staff("/agency-reviews", ["POST"])
def open_agency_review():
    """An agency starts a case review itself, seeing the threshold is met, without an application."""
    from chalicelib import wiring
    from chalicelib.staff_schemas import AgencyReviewIn

    from chalicelib.casework import Forbidden

    sent = Sent()

    def action(principal):
        if not principal.has_role("spoc"):
            raise Forbidden("open a review")  # before the body is read
        return Response(body=wiring.casework().open_agency_review(principal, sent.validated(AgencyReviewIn)),
                        status_code=201)

    return run_staff(action, sent)


@staff("/cases/{ref}", ["GET"])
def case_detail(ref):
    from chalicelib import inputs, wiring

    ref = inputs.reference(ref)
    return run_staff(lambda p: wiring.casework().detail(p, ref))


def _update_action(ref: str, action_id: str, *, preview: bool) -> Any:
    from chalicelib import inputs, wiring
    from chalicelib.staff_schemas import ActionUpdateIn

    ref, action_id = inputs.reference(ref), inputs.item_id(action_id, "action_id")
    version = inputs.if_match(bp.current_request.headers)
    sent = Sent()

    def action(principal):
        work = wiring.casework()
        work.check_access(principal, ref, "spoc")
        data = sent.validated(ActionUpdateIn)
        run = lambda: work.update_action(principal, ref, action_id, data, version)  # noqa: E731
        return work.preview(principal, run) if preview else run()

    return run_staff(action, sent)


@staff("/cases/{ref}/actions/{action_id}", ["POST"])
def update_action(ref, action_id):
    return _update_action(ref, action_id, preview=False)


@staff("/cases/{ref}/actions/{action_id}/preview", ["POST"])
def update_action_preview(ref, action_id):
    return _update_action(ref, action_id, preview=True)


@staff("/cases/{ref}/letters/{letter_id}", ["GET"])
def read_letter(ref, letter_id):
    from chalicelib import inputs, wiring

    ref, letter_id = inputs.reference(ref), inputs.item_id(letter_id, "letter_id")
    return run_staff(lambda p: wiring.casework().letter(p, ref, letter_id))


@staff("/cases/{ref}/letters/{letter_id}/printed", ["POST"])
def letter_printed(ref, letter_id):
    from chalicelib import inputs, wiring

    ref, letter_id = inputs.reference(ref), inputs.item_id(letter_id, "letter_id")
    return run_staff(lambda p: wiring.casework().mark_printed(p, ref, letter_id))


def _partner_request(ref: str, request_id: str, action: str, model_name: str | None) -> Any:
    from chalicelib import inputs, staff_schemas, wiring

    ref, request_id = inputs.reference(ref), inputs.item_id(request_id, "request_id")
    version = inputs.if_match(bp.current_request.headers)
    sent = Sent()

    def run(principal):
        work = wiring.casework()
        work.check_access(principal, ref, "spoc")
        data = sent.validated(getattr(staff_schemas, model_name)) if model_name else None
        return work.partner_request(principal, ref, request_id, action, data, version)

    return run_staff(run, sent)


@staff("/cases/{ref}/partner-requests/{request_id}/resend", ["POST"])
def resend_partner_request(ref, request_id):
    return _partner_request(ref, request_id, "resend", None)


@staff("/cases/{ref}/partner-requests/{request_id}/reissue", ["POST"])
def reissue_partner_link(ref, request_id):
    return _partner_request(ref, request_id, "reissue", "PartnerReissueIn")


@staff("/cases/{ref}/partner-requests/{request_id}/address", ["POST"])
def add_partner_address(ref, request_id):
    return _partner_request(ref, request_id, "address", "PartnerAddressIn")


@staff("/cases/{ref}/notes", ["POST"])
def add_note(ref):
    from chalicelib import inputs, wiring
    from chalicelib.staff_schemas import NoteIn

    ref = inputs.reference(ref)
    version = inputs.if_match(bp.current_request.headers)
    sent = Sent()

    def run(principal):
        work = wiring.casework()
        work.check_access(principal, ref, "spoc", "appeals")
        return work.add_note(principal, ref, sent.validated(NoteIn), version)

    return run_staff(run, sent)


def _legal_hold(ref: str, lift: bool):
    from chalicelib import inputs, wiring
    from chalicelib.staff_schemas import LegalHoldIn, LegalHoldLiftIn

    ref = inputs.reference(ref)
    version = inputs.if_match(bp.current_request.headers)
    sent = Sent()

    def run(principal):
        work = wiring.casework()
        work.check_access(principal, ref, "spoc", "admin")
        if lift:
            return work.lift_legal_hold(principal, ref, sent.validated(LegalHoldLiftIn), version)
        return work.place_legal_hold(principal, ref, sent.validated(LegalHoldIn), version)

    return run_staff(run, sent)


@staff("/cases/{ref}/legal-hold", ["POST"])
def place_legal_hold(ref):
    """Keep the case past its retention date until the hold is lifted (SPOC of the area, or admin)."""
    return _legal_hold(ref, lift=False)


@staff("/cases/{ref}/legal-hold/lift", ["POST"])
def lift_legal_hold(ref):
    return _legal_hold(ref, lift=True)


@staff("/print-queue/printed", ["POST"])
def letters_printed():
    from chalicelib import wiring
    from chalicelib.casework import Forbidden
    from chalicelib.staff_schemas import PrintedIn

    sent = Sent()

    def run(principal):
        if not principal.has_role("spoc"):
            raise Forbidden("print queue")  # before the body is read
        return wiring.casework().mark_many_printed(principal, sent.validated(PrintedIn).letters)

    return run_staff(run, sent)


@staff("/cases/{ref}/partner-requests/{request_id}/revoke", ["POST"])
def revoke_partner_link(ref, request_id):
    from chalicelib import inputs, wiring

    ref, request_id = inputs.reference(ref), inputs.item_id(request_id, "request_id")
    return run_staff(lambda p: wiring.casework().revoke_partner_link(p, ref, request_id))


@staff("/reports/deadlines", ["GET"])
def deadline_report():
    from chalicelib import inputs, wiring

    params = bp.current_request.query_params or {}
    if not params.get("area"):
        raise inputs.Problem(422, "There is a problem with what you sent", inputs.field_error(
            "area", "Choose an area, e.g. ?area=hart"))
    year = inputs.ascii_int(params.get("year"), field="year", low=2014, high=2100, status=422,
                            message="The year must be like 2026 (the first year of a financial year)")
    return run_staff(lambda p: wiring.casework().deadline_report(p, params["area"], year))


@staff("/print-queue", ["GET"])
def print_queue():
    from chalicelib import wiring

    return run_staff(lambda p: {"letters": wiring.casework().print_queue(p)})


@staff("/appeals", ["GET"])
def list_appeals():
    from chalicelib import wiring

    return run_staff(lambda p: {"appeals": wiring.casework().appeals(p)})
