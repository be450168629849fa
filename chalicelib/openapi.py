"""GET /openapi.json: the API, with the request schemas derived from the same pydantic models that
validate what is sent (so the documentation cannot drift from the code), and request examples that
are accepted as they are on any date (their dates are relative to `today`). tests/api/test_openapi.py
posts every example; tests/api/test_fuzz.py fuzzes every operation against the document."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from .domain.case import Status
from .schemas import MAX_BODY_BYTES, ApplicationIn, PartnerReturnIn


def example_application(today: date, area: str = "derbyshire") -> dict[str, Any]:
    """A complete application that POST /applications accepts as it is (dates relative to today,
    so the example never ages out of the six-month window)."""

    def ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    return {
        "area": area,
        "basis": "victim",
        "victim": {
            "name": "Sam Taylor",
            "address": {"line1": "12 Elm Road", "line2": "Flat 2", "town": "Matlock", "postcode": "DE4 3AG"},
            "daytime_phone": "01632 960 001",
            "mobile_phone": "07700 900 982",
            "email": "sam.taylor@example.com",
            "preferred_contact": "email",
            "type": "individual",
            "tenure": "housing_association_tenant",
            "landlord": "Peak Homes Housing Association",
        },
        "summary": "Loud music and shouting from the flat above most nights after midnight, and threats on the stairs.",
        "incidents": [
            {"happened_on": ago(70), "description": "Music and shouting from 1am to 4am.", "reported_by": "Sam Taylor",
             "reported_on": ago(69), "reported_to": "Peak Homes Housing Association", "how_reported": "phone",
             "agency_reference": "PH-20931", "hate_motivated": False},
            {"happened_on": ago(41), "description": "Music again until 3am; banging on my door when I complained.",
             "reported_by": "Sam Taylor", "reported_on": ago(40), "reported_to": "Derbyshire Constabulary",
             "how_reported": "online", "agency_reference": "DC-4471", "hate_motivated": False},
            # The same incident reported to the council too: the same description says so (without a
            # shared reference or description, two reports of one day need the SPOC's judgement).
            {"happened_on": ago(41), "description": "Music again until 3am; banging on my door when I complained.",
             "reported_by": "Sam Taylor", "reported_on": ago(38), "reported_to": "District council ASB team",
             "how_reported": "email", "hate_motivated": False},
            {"happened_on": ago(12), "description": "Threatened on the stairs by the tenant's visitor.",
             "reported_by": "Sam Taylor", "reported_on": ago(12), "reported_to": "Derbyshire Constabulary",
             "how_reported": "officer_on_site", "officer_type": "pcso", "hate_motivated": False},
        ],
        "impact": "I am not sleeping and I am anxious using the stairs.",
        "action_taken": "The housing association sent a warning letter. Police visited once.",
        "outcome_sought": "The noise to stop and the threats to be dealt with.",
        "special_circumstances": "I work early shifts.",
        "other_information": "Neighbours at number 14 have also complained.",
        "declaration": True,
        "information_sharing_consent": True,
        "keep_informed": True,
        "equalities": {"age_band": "35-44", "disability": "Prefer not to say"},
    }


def _form_fields(value: Any, path: str, dates: frozenset[str], out: dict[str, str]) -> dict[str, str]:
    """JSON answers -> the no-JavaScript form's fields (victim.address.postcode, incidents[0].happened_on.day)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _form_fields(item, f"{path}.{key}" if path else key, dates, out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _form_fields(item, f"{path}[{n}]", dates, out)
    elif isinstance(value, bool):
        out[path] = "true" if value else "false"
    elif value is not None and re.sub(r"\[\d+\]", "[]", path) in dates:
        year, month, day = str(value).split("-")
        out.update({f"{path}.day": str(int(day)), f"{path}.month": str(int(month)), f"{path}.year": year})
    elif value is not None:
        out[path] = str(value)
    return out


def example_application_form(today: date) -> dict[str, str]:
    """The victim example as the form posts it without JavaScript, sent with its Send button."""
    from .form import application_paths

    return {**_form_fields(example_application(today), "", application_paths()[1], {}), "action": "submit"}


def example_on_behalf(today: date) -> dict[str, Any]:
    example = example_application(today, area="hart")
    example["basis"] = "on_behalf"
    example["victim"]["preferred_contact"] = "post"
    example["victim"]["address"] = {"line1": "3 Mill Lane", "town": "Fleet", "postcode": "GU51 4AE"}
    example["victim_consent"] = "to_follow"
    example["applicant"] = {
        "name": "Cllr Alex Morgan", "relationship": "councillor", "organisation": "Hart District Council",
        "address": {"line1": "Civic Offices", "line2": "Harlington Way", "town": "Fleet", "postcode": "GU51 4AE"},
        "email": "alex.morgan@example.org", "preferred_contact": "email",
    }
    example.pop("equalities")
    return example


def example_return(today: date) -> dict[str, Any]:
    """A partner return that POST /partner/{token} accepts as it is (dates relative to today: report
    dates may not be in the future)."""
    return {
        "responder_name": "PC Jo Lee", "responder_role": "Neighbourhood ASB officer",
        "reports_held": "yes", "under_investigation": "no", "vulnerability_markers": "yes", "risk_assessments": "no",
        "reports": [{
            "reference": "DC-5001", "date_received": (today - timedelta(days=20)).isoformat(),
            "incident_date": (today - timedelta(days=21)).isoformat(),
            "reporting_party": "The person affected", "perpetrator": "Occupant of the flat above",
            "overview": "Loud music after midnight; third report this month.", "how_received": "phone",
            "hate_motivated": False, "action_taken": "yes", "action_detail": "Officers visited and gave words of advice.",
        }],
        "additional_information": "A risk assessment is being arranged.",
    }


def example_return_form(today: date) -> dict[str, str]:
    from .partner_returns import answers_to_form

    return {**answers_to_form(example_return(today)), "action": "submit"}


def example_meeting(today: date) -> dict[str, Any]:
    return {"date": (today + timedelta(days=30)).isoformat(), "time": "14:00", "place": "Matlock Town Hall",
            "online": False, "chair": "Head of Community Safety, High Peak",
            "agencies": ["Derbyshire Constabulary", "District council", "Peak Homes Housing Association"],
            "victim_invited": True}


def staff_examples(today: date) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(path, method) -> named examples of the request body, each accepted as it is on any date by a case
    in the state the step needs (see each example's summary)."""
    day = today.isoformat()

    def ex(summary: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"summary": summary, "value": value}

    return {
        ("/cases", "post"): {"phone": ex("An application taken by phone", {
            "channel": "phone", "application": example_application(today)}),
            "paper": ex("A paper application the SPOC acknowledges by hand (then POST .../acknowledgement)", {
                "channel": "paper", "application": example_application(today), "acknowledgement": "by_staff"})},
        ("/agency-reviews", "post"): {"police": ex("The police see the threshold is met", {
            "area": "derbyshire", "agency": "Derbyshire Constabulary", "officer": "Inspector R Khan",
            "reasons": "Five reports in eight weeks from the same household, each dealt with separately.",
            "summary": "Repeated intimidation of a family by a group of young people.",
            "victim": example_application(today)["victim"]})},
        ("/cases/{ref}/partner-requests/{request_id}/reissue", "post"): {"new_date": ex(
            "Acknowledged case, request P01", {"due_on": (today + timedelta(days=21)).isoformat()})},
        ("/cases/{ref}/partner-requests/{request_id}/address", "post"): {"corrected": ex(
            "Acknowledged case, request P01", {"email": "asb.team@peakhomes.example"})},
        ("/cases/{ref}/notes", "post"): {"note": ex("Any case", {
            "text": "Spoke to the victim by phone; they would rather join the meeting online."})},
        ("/cases/{ref}/legal-hold", "post"): {"claim": ex("Any case not on hold", {
            "reason": "A claim about how the case was handled has been issued; keep everything until it ends."})},
        ("/cases/{ref}/legal-hold/lift", "post"): {"settled": ex("A case on legal hold", {
            "reason": "The claim was settled; the normal retention period applies again."})},
        ("/print-queue/printed", "post"): {"two": ex("Letters in my areas' print queue (others are reported as "
                                                      "not in your queue)", {
            "letters": [{"reference": "CT-7K3M-9QXR", "letter_id": "01"}, {"reference": "CT-7K3M-9QXR", "letter_id": "02"}]})},
        ("/cases/{ref}/acknowledgement", "post"): {"posted": ex("Entered with acknowledgement=by_staff", {
            "acknowledged_on": day, "how": "letter_by_post", "note": "Acknowledgement posted second class."})},
        ("/cases/{ref}/draft-plan", "post"): {"draft": ex("Meeting arranged for today or earlier", {
            "held_on": day, "findings": "Reports were handled by each agency alone.",
            "recommendations": ["Joint visit by police and housing"],
            "actions": [{"description": "Joint warning visit", "agency": "Peak Homes Housing Association",
                         "lead_officer": "Jamie Ward", "due_on": (today + timedelta(days=14)).isoformat(),
                         "victim_agreed": False}]})},
        ("/cases/{ref}/consent", "post"): {"written": ex("Case awaiting the victim's consent", {
            "received_on": day, "evidence": "written_consent", "note": "Signed consent form received by post."})},
        ("/cases/{ref}/threshold-decision", "post"): {
            "met": ex("Acknowledged case: threshold met, meeting arranged", {
                "decision": "met", "reasons": "Four qualifying complaints confirmed by police and housing.",
                "meeting": example_meeting(today)}),
            "not_met": ex("Acknowledged case: threshold not met", {
                "decision": "not_met", "reasons": "Only two of the reports were made within a month."}),
        },
        ("/cases/{ref}/meeting", "post"): {"arrange": ex("Threshold met (review pending) or meeting already arranged",
                                                        example_meeting(today))},
        ("/cases/{ref}/outcome", "post"): {"actions": ex("Meeting arranged for today or earlier: outcome with an action plan", {
            "held_on": day, "findings": "Reports were handled by each agency alone.",
            "recommendations": ["Joint visit by police and housing"],
            "actions": [{"description": "Joint warning visit", "agency": "Peak Homes Housing Association",
                         "lead_officer": "Jamie Ward", "due_on": (today + timedelta(days=14)).isoformat(),
                         "victim_agreed": True}],
            "not_recommended": [{"description": "Injunction now", "reason": "Evidence not yet sufficient"}]})},
        ("/cases/{ref}/actions/{action_id}", "post"): {"done": ex("Monitoring case with action A1", {
            "status": "done", "note": "Joint visit made."})},
        ("/cases/{ref}/close", "post"): {"close": ex("Monitoring case", {
            "reason": "All actions completed; the noise has stopped.", "open_actions": "hand_to_agencies",
            "handover_reason": "Any action still open continues as the agency's normal work."})},
        ("/cases/{ref}/withdraw", "post"): {"unreachable": ex("Any open case", {
            "reason": "victim_unreachable", "note": "Three calls, two letters and a visit."})},
        ("/cases/{ref}/reject", "post"): {"service_complaint": ex("Acknowledged or awaiting consent", {
            "reason": "service_complaint", "note": "About bin collections only."})},
        ("/cases/{ref}/appeal", "post"): {"threshold": ex("Threshold not met, within the appeal window", {
            "against": "threshold_decision", "lodged_on": day, "grounds": "Two more reports were missed."})},
        ("/cases/{ref}/appeal-decision", "post"): {"upheld": ex("Appeal lodged or acknowledged", {
            "upheld": True, "reasons": "The police return shows two further qualifying reports."})},
    }


PARTNER_TOKEN = {
    "name": "token", "in": "path", "required": True,
    "description": "The secure link's token from the partner request email. Signed, bound to one request, "
                   "expiring (the due date plus the area's grace period) and revocable.",
    "schema": {"type": "string", "minLength": 1},
}

HTML = {"text/html": {"schema": {"type": "string"}}}


def _unsupported(problem: dict[str, Any]) -> dict[str, Any]:
    return {"description": "The body is not sent with one of the accepted content types.", "content": problem}


def _partner_paths(problem: dict[str, Any], today: date) -> dict[str, Any]:
    html = HTML
    refused = {
        "404": {"description": "The link is not valid (tampered, unknown, or not the one issued for this request).",
                "content": {**html, **problem}},
        "409": {"description": "The SPOC has closed the assessment; returns can no longer be changed.",
                "content": {**html, **problem}},
        "410": {"description": "The link has expired or has been withdrawn.", "content": {**html, **problem}},
    }
    stored = {"type": "object", "required": ["reference", "request_id", "version", "submitted_at"], "properties": {
        "reference": {"type": "string"}, "request_id": {"type": "string"},
        "version": {"type": "integer"}, "submitted_at": {"type": "string"}}}
    return {
        "/partner/{token}": {
            "get": {
                "operationId": "partnerReturnForm", "summary": "The partner's return form (HTML, works without JavaScript)",
                "description": "Shows only what the partner needs: the people and addresses, the period, the due "
                               "date, the incidents the applicant says were reported to this partner, and the "
                               "partner's own previous answers. Refusals are HTML pages.",
                "parameters": [PARTNER_TOKEN],
                "responses": {"200": {"description": "The form", "content": html},
                              **{code: {**r, "content": html} for code, r in refused.items()}},
            },
            "post": {
                "operationId": "submitPartnerReturn", "summary": "Send or amend a partner return",
                "description": "Accepts the HTML form (application/x-www-form-urlencoded; the button `action=add_report` "
                               "shows one more report row and stores nothing) or JSON. Each accepted return is a new "
                               "version; earlier versions are kept. The threshold assessment is recomputed from the "
                               "application and every partner's latest return. The same answers twice store nothing. "
                               f"Bodies over {MAX_BODY_BYTES} bytes are refused. A JSON body is answered with JSON "
                               "(problem+json when refused), a form with an HTML page.",
                "parameters": [PARTNER_TOKEN],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/PartnerReturn"},
                                         "examples": {"police": {
                                             "summary": "The police answer a live request (the token from its email)",
                                             "value": example_return(today)}}},
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "description": "The form's fields: responder_name, reports_held, "
                                   "... and reports-<n>-<field> for each report row; action=submit or add_report."},
                        "examples": {"police": {"summary": "The same return, as the form sends it",
                                                "value": example_return_form(today)}}},
                }},
                "responses": {
                    "201": {"description": "Stored as a new version (JSON: reference, request_id, version, submitted_at; "
                                           "form: a confirmation page).",
                            "content": {**html, "application/json": {"schema": stored}}},
                    "200": {"description": "Unchanged from the last version (nothing stored), or the form with one more report row.",
                            "content": {**html, "application/json": {"schema": stored}}},
                    "400": {"description": "The body cannot be read (not JSON, a repeated key, too deep; a form "
                                           "field the form does not have).", "content": problem},
                    "413": {"description": "The body is too large, or the answers too long to store.", "content": problem},
                    "415": _unsupported(problem),
                    "422": {"description": "Every problem with the answers: JSON problem, or the form again with the "
                                           "errors and everything typed.", "content": {**html, **problem}},
                    **refused,
                },
            },
        },
        "/assets/partner.css": {"get": {"operationId": "partnerStylesheet", "summary": "The partner pages' stylesheet",
                                        "responses": {"200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}}}},
    }


def _console_cases_paths(problem: dict[str, Any]) -> dict[str, Any]:
    from .routes.console_cases import openapi_paths  # the case pages document themselves

    return openapi_paths(problem, HTML, _unsupported(problem))


def _console_auth_paths(problem: dict[str, Any]) -> dict[str, Any]:
    """The staff console's sign-in (OpenID Connect, authorization code with PKCE) and session.
    HTML pages and redirects; the session is a cookie, not the bearer token."""
    html = HTML
    redirect = {"headers": {"Location": {"schema": {"type": "string"}}}}
    cookies = ("The session cookie is `__Host-ct_session` (`ct_session` on http://127.0.0.1 or localhost): "
               "HttpOnly, SameSite=Lax, Path=/; the session ends after 30 minutes without a request or 8 hours "
               "after sign-in.")
    return {
        "/console/sign-in": {"get": {
            "operationId": "consoleSignIn", "summary": "Start signing in to the staff console",
            "description": "Sends the browser to the council's identity provider (authorization code with PKCE "
                           "S256), with a short-lived signed cookie holding the state, nonce and code verifier. "
                           "`next` is where to go afterwards: only a path inside /console/ is honoured.",
            "parameters": [{"name": "next", "in": "query", "required": False,
                            "description": "The console page to return to, e.g. /console/cases?status=acknowledged",
                            "schema": {"type": "string"}}],
            "responses": {"302": {"description": "To the identity provider's sign-in page", **redirect},
                          "503": {"description": "The identity provider cannot be reached (HTML page)",
                                  "content": html}}}},
        "/console/callback": {"get": {
            "operationId": "consoleSignInCallback", "summary": "Back from the identity provider",
            "description": "Checks the state against the sign-in cookie, exchanges the code with the code "
                           "verifier, checks the id_token (signature, issuer, audience, expiry, nonce), reads "
                           "roles and areas from the same claims as the staff API, starts a session and sends the "
                           "browser to `next`. " + cookies,
            "parameters": [
                {"name": "code", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "The provider's one-time authorization code"},
                {"name": "state", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Must match the sign-in this browser started"},
                {"name": "error", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Set by the provider when it did not sign the person in"}],
            "responses": {"303": {"description": "Signed in: to the page asked for", **redirect},
                          "400": {"description": "Not signed in: the provider refused, the sign-in expired, or "
                                                 "its answer was not valid (HTML page with a sign-in link)",
                                  "content": html},
                          "403": {"description": "Signed in at the provider, but with no role here (HTML page)",
                                  "content": html},
                          "503": {"description": "The identity provider cannot be reached (HTML page)",
                                  "content": html}}}},
        "/console/sign-out": {"post": {
            "operationId": "consoleSignOut", "summary": "Sign out of the staff console",
            "description": "Ends the session on the server (its cookie opens nothing afterwards) and sends the "
                           "browser to /console/signed-out (same-origin, as the pages' CSP form-action 'self' requires).",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"csrf_token": {"type": "string"}},
                           "description": "The form in the console's header: the session's CSRF token."}}}},
            "responses": {"303": {"description": "Signed out", **redirect},
                          "403": {"description": "The CSRF token is missing or wrong, or the form was posted from "
                                                 "another site (HTML page)", "content": html},
                          "415": _unsupported(problem)}}},
        "/console/signed-out": {"get": {
            "operationId": "consoleSignedOut", "summary": "You have signed out (HTML page)",
            "description": "When the identity provider has an end-session page, a link to it signs the person out "
                           "of their council account too, and the provider sends them back here.",
            "responses": {"200": {"description": "The page", "content": html}}}},
        "/console": {"get": {
            "operationId": "consoleHome", "summary": "The staff console's first page (HTML, needs a session)",
            "description": "Without a live session: a redirect to sign-in, and back here afterwards. " + cookies,
            "responses": {"200": {"description": "The page", "content": html},
                          "303": {"description": "Not signed in: to /console/sign-in?next=...", **redirect}}}},
    }


# Staff routes: (path, method, summary, request model name in staff_schemas or None, roles, extra response codes).
STAFF_ROUTES = [
    ("/cases", "get", "List my areas' cases (filters: status, due=soon|overdue, area)", None, "spoc", ()),
    ("/cases", "post", "Enter an application received by phone or on paper (same validation)", "StaffApplicationIn",
     "spoc", ()),
    ("/cases/{ref}", "get", "A case: application, deadlines, assessment, partner returns, letters, timeline", None,
     "spoc, appeals", ()),
    ("/agency-reviews", "post", "Start a case review without an application: an agency sees the threshold is met "
     "(2025 statutory guidance); counted as a review, not an application", "AgencyReviewIn", "spoc", ()),
    ("/cases/{ref}/consent", "post", "Record the victim's consent: acknowledges and asks partners", "ConsentIn", "spoc", ()),
    ("/cases/{ref}/acknowledgement", "post", "Record that staff acknowledged a paper or phone application themselves "
     "(entered with acknowledgement=by_staff)", "AcknowledgementIn", "spoc", ()),
    ("/cases/{ref}/threshold-decision", "post", "Record the threshold decision (met, not met, accepted below threshold)",
     "DecisionIn", "spoc", ()),
    ("/cases/{ref}/meeting", "post", "Arrange or rearrange the case review meeting (at least three agencies)", "MeetingIn", "spoc", ()),
    ("/cases/{ref}/draft-plan", "post", "After the meeting: send the draft action plan for the applicant's and "
     "victim's views, with a date to respond by", "DraftPlanIn", "spoc", ()),
    ("/cases/{ref}/outcome", "post", "Record the meeting's outcome and the final action plan (held on or after the "
     "arranged date)", "OutcomeIn", "spoc", ()),
    ("/cases/{ref}/actions/{action_id}", "post", "Update an action's progress", "ActionUpdateIn", "spoc", ()),
    ("/cases/{ref}/close", "post", "Close the case with a reason (open actions only by handing them to the agencies, "
     "with a reason)", "CloseIn", "spoc", ()),
    ("/cases/{ref}/withdraw", "post", "Withdraw (applicant asked in writing, or victim unreachable)", "WithdrawIn", "spoc", ()),
    ("/cases/{ref}/reject", "post", "Reject (anonymous, vexatious or only a service complaint)", "RejectIn", "spoc", ()),
    ("/cases/{ref}/appeal", "post", "Record an appeal, within the area's window", "AppealIn", "appeals", ()),
    ("/cases/{ref}/appeal-acknowledgement", "post", "Acknowledge the appeal (no body)", None, "appeals", ()),
    ("/cases/{ref}/appeal-decision", "post", "Decide the appeal (upheld: the case returns for review)", "AppealDecisionIn",
     "appeals", ()),
    ("/cases/{ref}/letters/{letter_id}", "get", "One letter as its recipient saw it (HTML and text; a partner "
     "email's secret link is never stored, so a placeholder stands in its place)", None, "spoc, appeals", ()),
    ("/cases/{ref}/letters/{letter_id}/printed", "post", "Mark a letter from the print queue as posted", None, "spoc", ()),
    ("/cases/{ref}/partner-requests/{request_id}/revoke", "post", "Revoke a partner's link", None, "spoc", ()),
    ("/cases/{ref}/partner-requests/{request_id}/resend", "post", "Email a partner the request again, with the same "
     "link (while the threshold is assessed)", None, "spoc", ()),
    ("/cases/{ref}/partner-requests/{request_id}/reissue", "post", "Send a partner a new link (the old one stops "
     "working), optionally with a new due date", "PartnerReissueIn", "spoc", ()),
    ("/cases/{ref}/partner-requests/{request_id}/address", "post", "Give a partner's email address (one the area's "
     "policy does not know, or a corrected one) and send the request", "PartnerAddressIn", "spoc", ()),
    ("/cases/{ref}/notes", "post", "Add a staff note to the case's audit trail (never shown to partners)", "NoteIn",
     "spoc, appeals", ()),
    ("/cases/{ref}/legal-hold", "post", "Place a legal hold: the case and its data are kept past the area's "
     "retention period until the hold is lifted", "LegalHoldIn", "spoc, admin", ()),
    ("/cases/{ref}/legal-hold/lift", "post", "Lift the legal hold: the deletion date is worked out again (one "
     "already passed deletes the case within a day or two)", "LegalHoldLiftIn", "spoc, admin", ()),
    ("/print-queue/printed", "post", "Mark several letters from the print queue as posted; each is reported on "
     "its own", "PrintedIn", "spoc", ()),
    ("/print-queue", "get", "Letters waiting to be printed and posted, in my areas", None, "spoc", ()),
    ("/reports/deadlines", "get", "Deadline report for an area and reporting year (?area=&year=): each deadline met, "
     "met late, missed, pending or ended (the case left that stage without it); and the cases overdue now", None, "spoc, appeals", ("404", "422")),
    ("/appeals", "get", "Cases with an appeal, in the areas I cover", None, "appeals", ()),
]

# Each step has a dry run beside it, /preview: the same checks and validation, and the letters it
# would send, rendered, with nothing stored or sent (the console shows them before the step is taken).
_STEP_NAMES = ("consent", "acknowledgement", "threshold-decision", "meeting", "draft-plan", "outcome", "close",
               "withdraw", "reject", "appeal", "appeal-acknowledgement", "appeal-decision")
STAFF_ROUTES += [
    (f"{path}/preview", method, f"Preview, without storing or sending anything: {summary[0].lower()}{summary[1:]}",
     model, roles, extra)
    for path, method, summary, model, roles, extra in list(STAFF_ROUTES)
    if path in {f"/cases/{{ref}}/{name}" for name in _STEP_NAMES} | {"/cases/{ref}/actions/{action_id}"}]

# The case-work steps: they read If-Match and answer 409 when the case's state does not allow them.
STEP_PATHS = {"/cases/{ref}/" + name for name in ("consent", "acknowledgement", "threshold-decision", "meeting",
                                                   "draft-plan", "outcome", "close", "withdraw", "reject", "appeal",
                                                   "appeal-acknowledgement", "appeal-decision")} | {
    "/cases/{ref}/actions/{action_id}"}
STEP_PATHS |= {f"{path}/preview" for path in STEP_PATHS} | {
    "/cases/{ref}/notes", "/cases/{ref}/legal-hold", "/cases/{ref}/legal-hold/lift", *(f"/cases/{{ref}}/partner-requests/{{request_id}}/{action}"
                            for action in ("resend", "reissue", "address"))}

CASE_STATUSES = [status.value for status in Status]

STAFF_QUERY = {
    ("/cases", "get"): [
        {"name": "status", "in": "query", "required": False, "description": "only cases in this state",
         "schema": {"type": "string", "enum": CASE_STATUSES}},
        {"name": "due", "in": "query", "required": False,
         "description": "overdue: a deadline the case waits for has passed; soon: its next deadline is within "
                        "the next 3 working days (a case already overdue is listed under overdue)",
         "schema": {"type": "string", "enum": ["soon", "overdue"]}},
        {"name": "area", "in": "query", "required": False, "example": "derbyshire",
         "description": "one of the areas in the token (403 for another)", "schema": {"type": "string"}},
        {"name": "q", "in": "query", "required": False, "example": "Taylor",
         "description": "search instead of listing: a case reference (CT-XXXX-XXXX), a full postcode (the victim's "
                        "or where the behaviour happens; any spacing) or a surname or full name of the applicant or "
                        "victim (any case, accents ignored); only cases of your areas. At most `limit` matches, no "
                        "cursor. 400 if it is none of these.",
         "schema": {"type": "string", "minLength": 1, "maxLength": 100}},
        {"name": "limit", "in": "query", "required": False, "description": "rows per page (400 outside 1-100)",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
        {"name": "cursor", "in": "query", "required": False,
         "description": "the next_cursor of the previous page, with the same filters (400 if altered or from "
                        "another list)", "schema": {"type": "string"}},
    ],
    ("/reports/deadlines", "get"): [
        {"name": "area", "in": "query", "required": True, "example": "derbyshire",
         "description": "the area (404 if unknown, 403 if not in the token; 422 when absent)",
         "schema": {"type": "string"}},
        {"name": "year", "in": "query", "required": False,
         "description": "the reporting year, named by its first calendar year; the current one when absent",
         "schema": {"type": "integer", "minimum": 2014, "maximum": 2100}},
    ],
}

PATH_PARAMS = {
    "ref": {"type": "string", "pattern": "^CT-[A-Z0-9]{4}-[A-Z0-9]{4}$", "example": "CT-7K3M-9QXR"},
    "action_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$", "example": "A1"},
    "letter_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$", "example": "01"},
    "request_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
}

RESULT = {"type": "object", "required": ["reference", "status", "version", "letters"], "properties": {
    "reference": {"type": "string"}, "status": {"type": "string", "enum": CASE_STATUSES},
    "version": {"type": "integer"},
    "letters": {"type": "array", "items": {"type": "object", "properties": {
        "to": {"type": "string"}, "step": {"type": "string"}, "channel": {"type": "string"},
        "status": {"type": "string"}}}}}}

PREVIEW = {"type": "object", "required": ["reference", "step", "status", "letters"], "properties": {
    "reference": {"type": "string"}, "step": {"type": "string"},
    "status": {"type": "string", "enum": CASE_STATUSES, "description": "the state the step would lead to"},
    "letters": {"type": "array", "items": {"type": "object", "required": ["to", "step", "channel", "subject", "html", "text"],
                                           "properties": {
        "to": {"type": "string"}, "step": {"type": "string"}, "channel": {"type": "string", "enum": ["email", "post"]},
        "to_email": {"type": ["string", "null"]}, "subject": {"type": "string"},
        "html": {"type": "string", "description": "the letter as the recipient will see it"},
        "text": {"type": "string"}}}}}}

# What SES said became of an email (chalicelib.receipts): null until it reports.
DELIVERY = {"type": ["object", "null"], "description": "what SES reported about the email, from the event with the "
            "latest time (null: nothing yet, or a posted letter)", "required": ["state", "at", "summary"], "properties": {
    "state": {"type": "string", "enum": ["delivered", "soft_bounced", "complained", "bounced", "rejected"],
              "description": "bounced: a hard bounce (the address does not exist); soft_bounced: a transient or "
                             "undetermined bounce; rejected: SES refused to send it"},
    "at": {"type": "string", "description": "the event's own time (UTC)"},
    "reason": {"type": ["string", "null"], "example": "address does not exist"},
    "post_letter": {"type": ["string", "null"],
                    "description": "the copy queued for post after a hard bounce to the applicant or victim"},
    "spoc_told": {"type": "boolean", "description": "the SPOC was emailed about it and it is in the timeline"},
    "summary": {"type": "string", "example": "Bounced 21 Dec 10:05: address does not exist; queued for post (letter b3f0c2a91de)"}}}
REPLACES = {"type": ["string", "null"], "description": "a posted copy: the id of the email that bounced"}
CASE_LETTER = {"type": "object", "required": ["id", "to", "step", "channel", "status", "delivery"], "properties": {
    "id": {"type": "string"}, "to": {"type": "string", "enum": ["applicant", "victim", "partner", "spoc"]},
    "step": {"type": "string"}, "template": {"type": "string"}, "channel": {"type": "string", "enum": ["email", "post"]},
    "status": {"type": "string", "enum": ["pending", "sent", "print_queued", "printed", "failed", "cancelled"]},
    "created_at": {"type": "string"}, "sent_at": {"type": ["string", "null"]}, "attempts": {"type": ["integer", "null"]},
    "delivery": DELIVERY, "replaces_letter": REPLACES}}

STAFF_OK = {
    ("/cases/{ref}/letters/{letter_id}", "get"): {"type": "object", "required": [
        "reference", "letter_id", "to", "step", "channel", "status", "subject", "html", "text"], "properties": {
        "reference": {"type": "string"}, "letter_id": {"type": "string"}, "to": {"type": "string"},
        "step": {"type": "string"}, "channel": {"type": "string", "enum": ["email", "post"]},
        "to_email": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["pending", "sent", "print_queued", "printed", "failed", "cancelled"]},
        "created_at": {"type": "string"}, "sent_at": {"type": ["string", "null"]}, "subject": {"type": "string"},
        "html": {"type": "string"}, "text": {"type": "string"}, "delivery": DELIVERY, "replaces_letter": REPLACES}},
    ("/print-queue/printed", "post"): {"type": "object", "required": ["letters"], "properties": {"letters": {
        "type": "array", "items": {"type": "object", "required": ["reference", "letter_id", "status"], "properties": {
            "reference": {"type": "string"}, "letter_id": {"type": "string"},
            "status": {"type": "string", "enum": ["printed", "not_in_your_queue"]},
            "dated": {"type": "string", "format": "date", "description": "the date the letter now bears"}}}}}},
    ("/cases", "get"): {"type": "object", "required": ["cases", "next_cursor"], "properties": {
        "next_cursor": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page; null at the end"},
        "cases": {"type": "array", "description": "overdue first, then due soon, then by next deadline, then newest",
                  "items": {
        "type": "object", "required": ["reference", "area", "status"], "properties": {
            "reference": {"type": "string"}, "area": {"type": "string"}, "status": {"type": "string"},
            "received_on": {"type": ["string", "null"]},
            "basis": {"type": "string", "enum": ["victim", "on_behalf", "agency"]}, "channel": {"type": "string"},
            "applicant_name": {"type": ["string", "null"],
                               "description": "the victim's when they applied; null for an agency-started review"},
            "victim_name": {"type": ["string", "null"]},
            "next_deadline": {"type": ["object", "null"], "properties": {"name": {"type": "string"}, "due": {"type": "string"}}},
            "overdue": {"type": "array", "items": {"type": "string"}},
            "due_soon": {"type": "array", "items": {"type": "string"}}}}}}},
    ("/cases/{ref}", "get"): {"type": "object", "required": ["reference", "area", "status", "version", "next_steps"],
                              "properties": {"reference": {"type": "string"}, "area": {"type": "string"},
                                             "status": {"type": "string", "enum": CASE_STATUSES},
                                             "version": {"type": "integer"},
                                             "next_steps": {"type": "array", "items": {"type": "string"}},
                                             "application": {"type": ["object", "null"]},
                                             "partner_requests": {"type": "array"},
                                             "letters": {"type": "array", "items": CASE_LETTER},
                                             "timeline": {"type": "array"}, "notices": {"type": "array"},
                                             "views": {"type": "array"},
                                             "retention": {"type": "object", "properties": {
                                                 "deletes_on": {"type": ["string", "null"], "format": "date",
                                                                "description": "when the case and all its data are "
                                                                               "deleted; null while open, appealed or held"},
                                                 "legal_hold": {"type": ["object", "null"]},
                                                 "years": {"type": "integer"}}}}},
    ("/cases/{ref}/letters/{letter_id}/printed", "post"): {"type": "object", "properties": {
        "reference": {"type": "string"}, "letter_id": {"type": "string"}, "status": {"const": "printed"}}},
    ("/cases/{ref}/partner-requests/{request_id}/revoke", "post"): {"type": "object", "properties": {
        "reference": {"type": "string"}, "request_id": {"type": "string"}, "status": {"const": "revoked"}}},
    ("/print-queue", "get"): {"type": "object", "required": ["letters"], "properties": {"letters": {
        "type": "array", "items": {"type": "object", "properties": {
            "reference": {"type": "string"}, "letter_id": {"type": "string"}, "area": {"type": "string"},
            "to": {"type": "string"}, "subject": {"type": "string"}, "queued_at": {"type": "string"},
            "html": {"type": "string"}}}}}},
    ("/reports/deadlines", "get"): {"type": "object", "required": ["area", "reporting_year", "deadlines", "overdue_now"],
                                    "properties": {"area": {"type": "string"}, "reporting_year": {"type": "object"},
                                                   "deadlines": {"type": "object"}, "overdue_now": {"type": "array"},
                                                   "generated_on": {"type": "string", "format": "date"}}},
    ("/appeals", "get"): {"type": "object", "required": ["appeals"], "properties": {"appeals": {
        "type": "array", "items": {"type": "object", "properties": {
            "reference": {"type": "string"}, "area": {"type": "string"}, "status": {"type": "string"},
            "appeal": {"type": ["object", "null"]}}}}}},
}


def _staff_paths(problem: dict[str, Any], components: dict[str, Any], today: date) -> dict[str, Any]:
    from . import staff_schemas

    conflict = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/CaseConflict"}}}
    examples = staff_examples(today)
    paths: dict[str, Any] = {}
    for path, method, summary, model_name, roles, extra in STAFF_ROUTES:
        is_step = path in STEP_PATHS
        description = (f"Role: {roles} (admin may do anything). Only for cases in the areas in the token."
                       + (" Accepts If-Match: <case version>; a stale version, a concurrent change or a step not "
                          "allowed from the case's state gets 409 with the current state and version." if is_step else ""))
        parameters = [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
                      for name in ("ref", "action_id", "letter_id", "request_id") if f"{{{name}}}" in path]
        parameters += STAFF_QUERY.get((path, method), [])
        reads_body = model_name is not None
        responses: dict[str, Any] = {
            "401": {"description": "No token, or not a valid one (signature, issuer, audience, expiry)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Unauthorized"}}}},
            "403": {"description": "Your role or areas do not allow this", "content": problem},
            "415": _unsupported(problem),
        }
        ok = PREVIEW if path.endswith("/preview") else STAFF_OK.get((path, method), RESULT)
        if (path, method) == ("/agency-reviews", "post"):
            responses["201"] = {"description": "The review is opened and the victim told",
                                "content": {"application/json": {"schema": ok}}}
        elif path == "/cases" and method == "post":
            responses["201"] = {"description": "Stored", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Receipt"}}}}
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "As for POST /applications: a retry with the same key and body "
                                              "stores nothing new.",
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
        else:
            responses["200"] = {"description": "Done" if method == "post" else "The result",
                                "content": {"application/json": {"schema": ok}}}
        bad_request = []
        if reads_body:
            bad_request.append("the body is not JSON (or repeats a key, or nests too deeply)")
        if is_step:
            parameters.append({"name": "If-Match", "in": "header", "required": False,
                               "schema": {"type": "string", "pattern": "^(W/)?\"?[0-9]{1,9}\"?$"},
                               "description": "the case version you last saw: a number, optionally quoted (400 if not)"})
            bad_request.append("If-Match is not a version number")
            responses["409"] = {"description": "Not allowed from the case's current state, or the case changed",
                                "content": conflict}
        if path == "/cases" and method == "post":
            bad_request.append("the Idempotency-Key is not valid")
            responses["503"] = {"description": "Too busy to store it in time: nothing was stored; send the same "
                                               "request again after Retry-After seconds", "content": problem}
        if (path, method) == ("/cases", "get"):
            bad_request.append("status or due is not one of its values, limit is not 1-100, the cursor is not one we "
                               "gave, or q is not a reference, postcode or name")
        if bad_request:
            responses["400"] = {"description": "The request cannot be read: " + "; ".join(bad_request) + ".",
                                "content": problem}
        if reads_body:
            responses["413"] = {"description": "The body is too large, or what it would store is too long (the "
                                               "longest answers are named).", "content": problem}
            responses["422"] = {"description": "Every problem with what was sent", "content": problem}
        if "{ref}" in path:
            responses["404"] = {"description": "No such case (or letter, request or action in it)", "content": problem}
        for code in extra:
            if code == "404":
                responses["404"] = {"description": "No such area", "content": problem}
            if code == "422":
                responses["422"] = {"description": "Every problem with what was sent (no area; a year that is "
                                                   "not a four-digit year from 2014)", "content": problem}
        operation: dict[str, Any] = {"summary": summary, "description": description,
                                     "security": [{"staffBearer": []}], "parameters": parameters,
                                     "responses": dict(sorted(responses.items()))}
        if model_name:
            schema = getattr(staff_schemas, model_name).model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            if model_name == "StaffApplicationIn":
                schema["properties"]["application"] = {"$ref": "#/components/schemas/Application"}
            components[model_name] = schema
            content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{model_name}"}}
            example_key = (path.removesuffix("/preview"), method)
            if example_key in examples:
                content["examples"] = examples[example_key]
            operation["requestBody"] = {"required": True, "content": {"application/json": content}}
        operation["operationId"] = "".join(w.capitalize() for w in (method + path).replace("{", "").replace("}", "")
                                           .replace("/", " ").replace("-", " ").split())
        paths.setdefault(path, {})[method] = operation
    return paths


IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "the ETag of the copy you hold: 304 with no body while it is still current"}

ORIGIN = {"name": "Origin", "in": "header", "required": False, "schema": {"type": "string"},
          "description": "Sent by browsers: only the council's form sites may post (403 otherwise). Clients that "
                         "send no Origin are not limited by it."}


def _data_return_example() -> str:
    from .domain.stats import FIELDS, data_return_csv

    counts = dict(zip(FIELDS, (14, 1, 5, 6, 4, 2, 1)))
    return data_return_csv([{"area": "hart", "area_name": "Hart", "year": "2026 to 2027", "year_from": "2026-04-01",
                             "year_to": "2027-03-31", **counts, "decision_working_days": [6, 9, 11, 12, 12, 14, 15, 20]}])


def _stats_paths(problem: dict[str, Any]) -> dict[str, Any]:
    from .domain.stats import COUNTS

    params = [
        {"name": "area", "in": "query", "required": False, "schema": {"type": "string"}, "example": "hart",
         "description": "the area id (one of the areas in /openapi.json's examples); or use appeals_body"},
        {"name": "appeals_body", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "an appeals body (e.g. office-of-the-police-and-crime-commissioner-for-derbyshire): "
                        "the sum of every area it covers"},
        {"name": "year", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 2014, "maximum": 2100},
         "description": "one reporting year, named by its first calendar year (2026 = April 2026 to March 2027 "
                        "for a financial year); all years when absent"},
    ]
    params.append(IF_NONE_MATCH)
    cache = {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}},
             "Access-Control-Allow-Origin": {"schema": {"type": "string"}}}
    errors = {"304": {"description": "Not modified (If-None-Match matched the ETag)"},
              "400": {"description": "No area, or a malformed year", "content": problem},
              "404": {"description": "Unknown area or appeals body", "content": problem}}
    counts = {"type": "object", "properties": {name: {"type": "integer", "minimum": 0, "description": label}
                                               for name, label in COUNTS}}
    body = {"type": "object", "properties": {
        "area": {"type": ["string", "null"]}, "areas": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"}, "reporting_year": {"type": "object"}, "labels": {"type": "object"},
        "years": {"type": "array", "items": {"type": "object", "properties": {
            "year": {"type": "integer"}, "label": {"type": "string"}, "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"}, "counts": counts}}},
        "generated_at": {"type": "string", "description": "when these counts last changed"}}}
    summary = ("The yearly counts every area must publish (Schedule 4): applications, times the threshold was not "
               "met, reviews carried out, reviews with recommendations; reviews an agency started without an "
               "application (2025 guidance); and appeals. Public; no personal data; "
               "years with no activity show zeros.")
    return {
        "/stats": {"get": {"operationId": "getStats", "summary": "Published counts as JSON", "description": summary,
                           "parameters": params, "responses": {"200": {"description": "The counts", "headers": cache,
                                                                       "content": {"application/json": {"schema": body}}}, **errors}}},
        "/stats.csv": {"get": {"operationId": "getStatsCsv", "summary": "Published counts as CSV (a header row, one row "
                               "per area and year)", "parameters": params,
                               "responses": {"200": {"description": "CSV", "headers": cache,
                                                     "content": {"text/csv": {"schema": {"type": "string"}}}}, **errors}}},
        "/stats/data-return.csv": {"get": {
            "operationId": "getStatsDataReturn", "summary": "The Home Office data return as CSV (a header row, one row "
            "per area and year)", "parameters": params,
            "description": "The published counts with, for each reporting year, the number of threshold decisions "
                           "(met, not met, or accepted below the threshold) and the median working days from the "
                           "completed application (received, or the victim's consent recorded) to the decision, "
                           "blank when none was made. A decision made again after an upheld appeal is not timed. "
                           "Public; no personal data.",
            "responses": {"200": {"description": "CSV", "headers": cache, "content": {"text/csv": {
                "schema": {"type": "string"}, "example": _data_return_example()}}}, **errors}}},
        "/stats/fragment.html": {"get": {"operationId": "getStatsFragment", "summary": "The counts as an accessible HTML "
                                         "table, for pages that cannot run scripts", "parameters": params,
                                         "responses": {"200": {"description": "An HTML table", "headers": cache,
                                                               "content": {"text/html": {"schema": {"type": "string"}}}}, **errors}}},
        "/stats/widget.js": {"get": {"operationId": "getStatsWidget", "summary": "The embeddable widget: "
                                     "<script src=\".../stats/widget.js\" data-area=\"hart\" defer></script>",
                                     "parameters": [IF_NONE_MATCH],
                                     "responses": {"200": {"description": "JavaScript", "headers": cache,
                                                           "content": {"text/javascript": {"schema": {"type": "string"}}}},
                                                   "304": errors["304"]}}},
    }


def _console_office_paths(problem: dict[str, Any]) -> dict[str, Any]:
    """The console's office pages (chalicelib/routes/console_office.py): HTML pages and CSV or JSON
    downloads behind the console's session; forms post URL-encoded with the CSRF token and redirect."""
    html = HTML
    redirect = {"headers": {"Location": {"schema": {"type": "string"}}}}
    refused = {"303": {"description": "Not signed in: to /console/sign-in?next=...", **redirect},
               "403": {"description": "Not your role or area, or a bad CSRF token (HTML page)", "content": html},
               "404": {"description": "No such case, letter or export (HTML page)", "content": html}}

    def path_param(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}

    def query(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}

    def get(op: str, summary: str, params: list | None = None, content: dict | None = None) -> dict[str, Any]:
        return {"get": {"operationId": op, "summary": summary, "parameters": params or [], "responses": {
            "200": {"description": "The page or download", "content": content or html},
            "422": {"description": "Something asked for is not valid (HTML page with the errors)", "content": html},
            **refused}}}

    def post(op: str, summary: str, fields: dict[str, Any], params: list | None = None) -> dict[str, Any]:
        return {"post": {"operationId": op, "summary": summary, "parameters": params or [],
                         "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                             "schema": {"type": "object", "properties": {"csrf_token": {"type": "string"}, **fields}}}}},
                         "responses": {"303": {"description": "Done: to the page that shows it", **redirect},
                                       "400": {"description": "The form cannot be read (HTML page)", "content": html},
                                       "422": {"description": "The form again, with its errors", "content": html},
                                       "415": _unsupported(problem), **refused}}}

    csv_type = {"text/csv": {"schema": {"type": "string"}}}
    report = [query("area", "An area id of yours (default: your first)"),
              query("year", "The first year of the reporting year, e.g. 2026 (default: this one)")]
    letter = [path_param("ref", "The case reference"), path_param("letter_id", "The letter's id, e.g. 01")]
    many = {"type": "array", "items": {"type": "string"}}
    return {
        "/console/print-queue": get("consolePrintQueue", "Letters waiting to be printed and posted (SPOC)", [
            query("printed", "After marking: how many were marked (the success banner)"),
            query("missed", "After marking: how many were no longer in the queue")]),
        "/console/print-queue/printed": post("consoleMarkPrinted", "Mark the selected letters as printed",
                                             {"letter": {**many, "description": "<reference>/<letter id>, one per box"}}),
        "/console/print-queue/{ref}/{letter_id}": {
            **get("consolePrintLetter", "One letter, print-ready (A4, address in a window-envelope position)", letter),
            **post("consoleMarkLetterPrinted", "Mark this letter as printed", {}, letter)},
        "/console/appeals": {
            **get("consoleAppeals", "Appeals in your areas, and cases that can still be appealed (appeals body)"),
            **post("consoleLodgeAppealStart", "Lodge an appeal: a case reference, then the appeal step's form",
                   {"reference": {"type": "string"}})},
        "/console/reports": get("consoleReports", "Deadlines met and missed, for one area and reporting year", report),
        "/console/reports/figures.csv": get("consoleFiguresCsv", "The published figures (as /stats.csv)", report,
                                            csv_type),
        "/console/reports/data-return.csv": get("consoleDataReturnCsv", "The Home Office data return (as "
                                                "/stats/data-return.csv)", report, csv_type),
        "/console/reports/deadlines.csv": get("consoleDeadlinesCsv", "The deadline report as CSV", report, csv_type),
        "/console/admin/subject-access": {
            **get("consoleSubjectAccess", "Find a person's cases for a subject access request (admin)",
                  [query("q", "A surname, full name, postcode or case reference")]),
            **post("consoleSubjectAccessExport", "Export what is held about the person (kept 30 days)",
                   {"q": {"type": "string"}, "person": {**many, "description": "<reference>/<victim|applicant>"},
                    "requester": {"type": "string"}, "reason": {"type": "string"}})},
        "/console/admin/subject-access/{export_id}": get(
            "consoleSubjectAccessExportView", "An export as a page, or with .json after the id as a download",
            [path_param("export_id", "The export's id, optionally followed by .json")],
            {**html, "application/json": {"schema": {"type": "object"}}}),
    }


def _console_paths(problem: dict[str, Any]) -> dict[str, Any]:
    from .console_assets import CONTENT_TYPES

    text = {"schema": {"type": "string"}}
    return {"/console/assets/{kind}/{name}": {"get": {
        "operationId": "getConsoleAsset", "summary": "The staff console's stylesheet, scripts and icons",
        "description": "Public, no personal data. CSS and JavaScript names carry a hash of their content and are "
                       "cached for a year (immutable); icons keep the names the stylesheet gives them and are "
                       "cached for a day. Pages link to them through the build's manifest.",
        "parameters": [
            {"name": "kind", "in": "path", "required": True, "schema": {"type": "string", "enum": sorted(CONTENT_TYPES)}},
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
             "example": "icon-document.svg", "description": "a file name the build wrote (e.g. console-<hash>.css)"}],
        "responses": {
            "200": {"description": "The file", "headers": {
                "Cache-Control": {"schema": {"type": "string"}}, "X-Content-Type-Options": {"schema": {"type": "string"}}},
                "content": {"text/css": text, "text/javascript": text, "image/svg+xml": text}},
            "404": {"description": "No such file", "content": problem}}}}}


def _console_steps_paths(problem: dict[str, Any]) -> dict[str, Any]:
    """The console's step forms (chalicelib/routes/console_steps.py): HTML pages and form posts that
    validate as the staff API's steps do, preview their letters, and take the step on Send."""
    redirect = {"headers": {"Location": {"schema": {"type": "string"}}}}
    page = {"description": "The page", "content": HTML}
    refused = {"303": {"description": "Not signed in: to /console/sign-in?next=...", **redirect},
               "403": {"description": "Not your role or area, or the form's CSRF token is missing or wrong "
                                      "(HTML page)", "content": HTML},
               "404": {"description": "No such case, step or action (HTML page)", "content": HTML},
               "409": {"description": "Not allowed in the case's present state, or the case has moved on since "
                                      "the form was loaded: nothing was saved (HTML page)", "content": HTML}}
    form = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "description": "The step's fields, named by the staff API's paths (meeting.date.day, "
        "actions[2].agency), with csrf_token, version (the case version the form was loaded at) and action: "
        "preview, confirm, change, add_row or add_row:<list>.", "additionalProperties": {"type": "string"}}}}}
    posted = {"200": {"description": "The letters to check before sending (preview), or the form again "
                                     "(change, add_row)", "content": HTML},
              "303": {"description": "Sent (confirm): to /console/cases/{ref}?done=<step>, or signed out: to "
                                     "sign-in", **redirect},
              "400": {"description": "A field the form does not have, or no case version (HTML page)",
                      "content": HTML},
              "403": refused["403"], "404": refused["404"], "409": refused["409"],
              "415": _unsupported(problem),
              "422": {"description": "The form again with its errors (the staff API's validation)", "content": HTML}}
    ref = {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}, "example": "CT-7K3M-Q9PX"}

    def pair(op: str, summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {"get": {"operationId": f"console{op}Form", "summary": f"{summary} (HTML form)", "parameters": params,
                        "responses": {"200": page, **refused}},
                "post": {"operationId": f"console{op}Post", "summary": f"{summary}: preview, confirm or change",
                         "parameters": params, "requestBody": form, "responses": posted}}

    return {
        "/console/cases/{ref}/steps/{step}": pair("Step", "A step of a case", [ref, {
            "name": "step", "in": "path", "required": True, "schema": {"type": "string", "enum": [
                "consent", "acknowledgement", "threshold-decision", "meeting", "draft-plan", "outcome", "close",
                "withdraw", "reject", "appeal", "appeal-acknowledgement", "appeal-decision"]}}]),
        "/console/cases/{ref}/actions/{action_id}": pair("ActionUpdate", "Update one action of the plan", [ref, {
            "name": "action_id", "in": "path", "required": True, "schema": {"type": "string"}, "example": "A1"}]),
        "/console/agency-reviews/new": pair("AgencyReview", "An agency starts a case review", []),
    }


def _field_error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "title", "status", "errors"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": {"type": "string", "description": "path of the answer, e.g. incidents[2].reported_on"},
                        "message": {"type": "string", "description": "what is wrong, in plain words"},
                    },
                },
            },
        },
    }


def build_spec(today: date, server_url: str | None = None) -> dict[str, Any]:
    schema = ApplicationIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["Application"] = schema
    partner = PartnerReturnIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(partner.pop("$defs", {}))
    components["PartnerReturn"] = partner
    components["Problem"] = _field_error_schema()
    conflict = _field_error_schema()
    conflict["required"] = [*conflict["required"], "current_status", "version"]
    conflict["properties"].update({
        "current_status": {"type": "string", "description": "the case's state now"},
        "version": {"type": ["integer", "null"], "description": "the case's version now (send it as If-Match)"}})
    components["CaseConflict"] = conflict
    components["Unauthorized"] = {"type": "object", "required": ["message"],
                                  "properties": {"message": {"type": "string", "enum": ["Unauthorized"]}}}
    components["Receipt"] = {
        "type": "object",
        "required": ["reference", "status", "area", "received_on", "acknowledgement_due", "letters"],
        "properties": {
            "reference": {"type": "string", "pattern": "^CT-[A-Z0-9]{4}-[A-Z0-9]{4}$", "example": "CT-7K3M-9QXR"},
            "status": {"type": "string", "enum": ["acknowledged", "awaiting_consent"]},
            "area": {"type": "string"},
            "received_on": {"type": "string", "format": "date"},
            "acknowledgement_due": {"type": ["string", "null"], "format": "date",
                                    "description": "the working day by which the application must be acknowledged; "
                                                   "null while the victim's consent is awaited (nothing is due until "
                                                   "it is recorded)"},
            "decision_due": {"type": ["string", "null"], "format": "date",
                             "description": "when the threshold decision is due; null while the victim's consent is awaited"},
            "letters": {"type": "array", "items": {"type": "object", "properties": {
                "to": {"type": "string", "enum": ["applicant", "victim"]},
                "channel": {"type": "string", "enum": ["email", "post"]},
                "status": {"type": "string", "enum": ["pending", "sent", "print_queued"]},
                "subject": {"type": "string"}}}},
        },
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Community Trigger (ASB Case Review) API",
            "version": "1.0.0",
            "description": "Apply for an anti-social behaviour case review (the Community Trigger) under the "
                           "Anti-social Behaviour, Crime and Policing Act 2014, section 104.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": {
            "/applications": {
                "post": {
                    "operationId": "submitApplication",
                    "summary": "Apply for an ASB case review",
                    "description": "Stores the application, then answers with its reference and dates. "
                                   "The acknowledgement (or, for a third party without the victim's consent, "
                                   "the consent-required letter) is sent by the applicant's preferred channel. "
                                   f"Bodies over {MAX_BODY_BYTES} bytes are refused.",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "required": False,
                        "description": "Any unique string (e.g. a UUID). Retrying with the same key and body "
                                       "returns the first answer and stores nothing new, for 7 days.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }, ORIGIN],
                    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                        "examples": {"victim": {"summary": "The victim example, as the form sends it",
                                                "value": example_application_form(today)}},
                        "schema": {"type": "object", "description":
                                   "The council's form without JavaScript: fields named by the JSON paths "
                                   "(victim.address.postcode, incidents[0].happened_on.day/.month/.year), plus "
                                   "area, idempotency_key and action (add_incident, check, edit, submit). The "
                                   "answer is the next HTML page: the form again (one more incident, or the "
                                   "errors with everything typed), the answers to check, or the confirmation."}},
                        "application/json": {
                        "schema": {"$ref": "#/components/schemas/Application"},
                        "examples": {
                            "victim": {"summary": "The victim applies", "value": example_application(today)},
                            "on_behalf": {"summary": "A councillor applies for a victim; consent to follow",
                                          "value": example_on_behalf(today)},
                        },
                    }}},
                    "responses": {
                        "200": {"description": "A form post (not JSON): the next page (one more incident row, the "
                                               "answers to check, or the form to edit).", "content": HTML},
                        "201": {"description": "Stored. The reference and the dates (a form post: the confirmation page).",
                                "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]},
                                                                    "description": "present when this answers a retry"}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}},
                                            **HTML}},
                        "400": {"description": "The body is not JSON, or a header is malformed, or a form post names "
                                               "no known area.", "content": problem},
                        "403": {"description": "Sent by a browser from a site that is not one of the council's "
                                               "form sites (the Origin check).", "content": problem},
                        "413": {"description": "The body is too large, or the answers too long to store (the "
                                               "longest are named; a form post: the form again).",
                                "content": {**problem, **HTML}},
                        "415": {"description": "The body is not sent as application/json (or as the form).",
                                "content": problem},
                        "422": {"description": "Every problem with the answers, each naming its field; "
                                               "or an Idempotency-Key reused with a different body (a form post: "
                                               "the form again with the errors).",
                                "content": {**problem, **HTML}},
                        "503": {"description": "Too busy to store it in time: nothing was stored; send the same "
                                               "request (same Idempotency-Key) again after Retry-After seconds.",
                                "headers": {"Retry-After": {"schema": {"type": "string"}}}, "content": problem},
                    },
                }
            },
            **_partner_paths(problem, today),
            **_staff_paths(problem, components, today),
            **_stats_paths(problem),
            **_console_paths(problem),
            **_console_auth_paths(problem),
            **_console_cases_paths(problem),
            **_console_office_paths(problem),
            **_console_steps_paths(problem),
            "/openapi.json": {
                "get": {"operationId": "getOpenApi", "summary": "This document",
                        "responses": {"200": {"description": "OpenAPI 3.1 document",
                                              "content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
        },
        "components": {"schemas": components, "securitySchemes": {"staffBearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A token from the council's identity provider (Cognito or Entra ID), checked against its "
                           "JWKS, issuer, audience and expiry. Roles (spoc, appeals, admin) and areas come from claims."}}},
    }
    spec["paths"]["/applications"]["options"] = {
        "operationId": "applicationsPreflight", "summary": "CORS preflight for the council's form sites",
        "parameters": [ORIGIN],
        "description": "204 with Access-Control-Allow-Origin for a configured form site (FORM_ORIGINS); 403 otherwise.",
        "responses": {"204": {"description": "Allowed"}, "403": {"description": "Not a form site", "content": problem}}}
    if server_url:
        spec["servers"] = [{"url": server_url}]
    return spec
