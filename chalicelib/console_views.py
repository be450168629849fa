"""What the console's case pages show, shaped from what CaseWork returns: pure functions (no AWS,
no Jinja), so the routes stay thin and every wording and rule here is unit-tested.

    list_filters(params, my_areas)   the "My cases" query: checked values, or the errors to show
    list_row(row, area_names)        one line of the list
    csv_cell(value)                  a spreadsheet cell that cannot run as a formula
    case_view(detail, principal, today, area_names)  everything the case page shows
    letter_view(letter)              a letter as its recipient saw it, for the letter page
"""
from __future__ import annotations

import hashlib
import base64
import re
from datetime import date
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from .domain.case import Status
from .domain.deadlines import deadline_current

MAX_QUERY = 100  # as the staff API's GET /cases
MAX_CURSOR = 8000  # as case_index.decode_cursor
DUE_FILTERS = {"overdue": "Overdue", "soon": "Due soon"}

STATUS_LABELS: dict[str, tuple[str, str]] = {  # status -> (words, GOV.UK tag colour)
    "awaiting_consent": ("Waiting for consent", "yellow"),
    "acknowledged": ("Assessing the threshold", "blue"),
    "threshold_not_met": ("Threshold not met", "orange"),
    "review_pending": ("Review to arrange", "light-blue"),
    "meeting_scheduled": ("Meeting arranged", "turquoise"),
    "draft_plan_sent": ("Draft plan sent", "purple"),
    "monitoring": ("Monitoring the action plan", "green"),
    "closed": ("Closed", "grey"),
    "withdrawn": ("Withdrawn", "grey"),
    "rejected": ("Rejected", "red"),
}

DEADLINE_LABELS = {
    "acknowledge": "Acknowledge the application",
    "partner_return": "Partners' returns",
    "threshold_decision": "Threshold decision",
    "review_meeting": "Case review meeting",
    "outcome_letter": "Outcome letter",
    "draft_plan_response": "Views on the draft plan",
    "appeal_acknowledge": "Acknowledge the appeal",
    "appeal_decision": "Appeal decision",
}

# The staff API's step names (chalicelib/routes/staff.py STEP_METHODS), what the link says, and
# which role takes the step there (appeal steps: the appeals body).
STEP_LINKS: dict[str, str] = {
    "consent": "Record the victim's consent",
    "acknowledgement": "Record how the application was acknowledged",
    "threshold-decision": "Decide whether the threshold is met",
    "meeting": "Arrange the case review meeting",
    "draft-plan": "Send the draft action plan",
    "outcome": "Record the outcome of the review",
    "close": "Close the case",
    "withdraw": "Record that the application is withdrawn",
    "reject": "Reject the application",
    "appeal": "Lodge an appeal",
    "appeal-acknowledgement": "Acknowledge the appeal",
    "appeal-decision": "Decide the appeal",
}
# domain step (chalicelib/domain/case.py STEPS) -> the API's step name; steps not here are worked
# elsewhere on the page (partner requests, notes, each action of the plan).
DOMAIN_STEPS = {
    "record_consent": "consent", "record_acknowledgement": "acknowledgement",
    "decide_met": "threshold-decision", "decide_accepted_below_threshold": "threshold-decision",
    "decide_not_met": "threshold-decision", "schedule_meeting": "meeting", "send_draft_plan": "draft-plan",
    "record_outcome_actions": "outcome", "record_outcome_no_further_action": "outcome", "close": "close",
    "withdraw": "withdraw", "reject": "reject", "lodge_appeal": "appeal", "acknowledge_appeal": "appeal-acknowledgement",
    "decide_appeal_not_upheld": "appeal-decision", "uphold_appeal_threshold": "appeal-decision",
    "uphold_appeal_rejection": "appeal-decision", "uphold_appeal_rejection_awaiting_consent": "appeal-decision",
    "uphold_appeal_outcome": "appeal-decision",
}

# ?done=<name> after a step or action: the banner's words. Only these names show a banner.
DONE_MESSAGES = {
    "consent": "The victim's consent is recorded",
    "acknowledgement": "The acknowledgement is recorded",
    "threshold-decision": "The threshold decision is recorded and its letters sent",
    "meeting": "The case review meeting is arranged and the letters sent",
    "draft-plan": "The draft action plan is sent",
    "outcome": "The outcome is recorded and its letters sent",
    "close": "The case is closed",
    "withdraw": "The withdrawal is recorded",
    "reject": "The application is rejected and its letters sent",
    "appeal": "The appeal is lodged",
    "appeal-acknowledgement": "The appeal is acknowledged",
    "appeal-decision": "The appeal decision is recorded and its letters sent",
    "note": "Your note is added to the case",
    "hold": "The legal hold is placed: the case will not be deleted until it is lifted",
    "hold-lifted": "The legal hold is lifted",
    "resend": "The request is sent to the partner again",
    "reissue": "The partner has a new link; the old one no longer works",
    "revoke": "The partner's link no longer works",
    "address": "The address is saved and the request sent",
    "action": "The action is updated",
}

AUDIT_LABELS = {
    "submit_complete": "Application received",
    "submit_awaiting_consent": "Application received, waiting for the victim's consent",
    "open_agency_review": "Case review started by an agency",
    "record_acknowledgement": "Acknowledgement recorded",
    "record_consent": "Victim's consent recorded",
    "decide_met": "Threshold met",
    "decide_accepted_below_threshold": "Accepted for review below the threshold",
    "decide_not_met": "Threshold not met",
    "schedule_meeting": "Case review meeting arranged",
    "send_draft_plan": "Draft action plan sent",
    "record_outcome_actions": "Outcome sent, with an action plan",
    "record_outcome_no_further_action": "Outcome sent: no further action",
    "update_action": "Action updated",
    "close": "Case closed",
    "withdraw": "Application withdrawn",
    "reject": "Application rejected",
    "resend_partner_request": "Request sent to a partner again",
    "reissue_partner_link": "New link sent to a partner",
    "add_partner_address": "Partner's address added and request sent",
    "add_note": "Note added",
    "place_legal_hold": "Legal hold placed: the case is kept until it is lifted",
    "lift_legal_hold": "Legal hold lifted",
    "revoke_partner_link": "A partner's link stopped working (revoked)",
    "lodge_appeal": "Appeal lodged",
    "acknowledge_appeal": "Appeal acknowledged",
    "decide_appeal_not_upheld": "Appeal not upheld",
    "uphold_appeal_threshold": "Appeal upheld: the threshold is assessed again",
    "uphold_appeal_rejection": "Appeal upheld: the application is considered",
    "uphold_appeal_rejection_awaiting_consent": "Appeal upheld: waiting for the victim's consent",
    "uphold_appeal_outcome": "Appeal upheld: a new case review",
    "partner_return": "Partner's return received",
    "partner_return_amended": "Partner's return amended",
    "email_bounced": "An email bounced: the SPOC was told",
}
NOTICE_LABELS = {
    "remind": "Reminder sent to the SPOC",
    "missed": "Deadline missed: the SPOC was told",
    "chase": "Partner chased",
    "escalate": "Overdue action escalated",
    "appeal_window_closed": "Appeal window closed",
    "letter_failed": "A letter could not be sent",
}
SWEEP = "the daily deadline check"

PARTNER_STATUS = {"requested": ("Waiting for a reply", "blue"), "no_address": ("No email address", "red"),
                  "returned": ("Returned", "green"), "revoked": ("Link revoked", "orange"), "closed": ("Closed", "grey")}
RULE_LABELS = {"qualifying_complaints": "Qualifying complaints", "recent_report": "A recent report",
               "hate_incident": "A hate incident", "separate_complainants": "Separate complainants",
               "related_behaviour": "Related behaviour", "senior_officer_discretion": "Senior officer discretion"}
RULE_OUTCOMES = {"pass": ("Met", "green"), "fail": ("Not met", "red"), "judgement": ("Needs your judgement", "yellow"),
                 "info": ("For you to check", "blue")}
PRE_RESULTS = {"met": "The threshold looks met", "not_met": "The threshold does not look met",
               "needs_judgement": "Needs your judgement"}
RECIPIENTS = {"applicant": "Applicant", "victim": "Victim", "partner": "Partner", "spoc": "SPOC"}
LETTER_STATUS = {"sent": ("Sent", "green"), "pending": ("Waiting to send", "blue"), "print_queued": ("To print", "yellow"),
                 "printed": ("Printed", "green"), "failed": ("Not sent", "red"), "cancelled": ("Cancelled", "grey"),
                 "sending": ("Sending", "blue")}
CHANNELS = {"online": "Online form", "phone": "Phone", "paper": "Paper form", "email": "Email", "post": "Post",
            "in_person": "In person", "agency": "Started by an agency"}
RETURN_LABELS = {"responder_name": "Answered by", "responder_role": "Their role",
                 "reports_held": "Holds ASB reports from the named people",
                 "under_investigation": "Complaints being investigated",
                 "vulnerability_markers": "Holds vulnerability markers", "risk_assessments": "Holds risk assessments",
                 "additional_information": "Anything else"}
REPORT_LABELS = {"reference": "Reference", "date_received": "Received", "incident_date": "Incident",
                 "reporting_party": "Reported by", "perpetrator": "About", "overview": "Overview",
                 "how_received": "How received", "hate_motivated": "Hate motivated", "action_taken": "Action taken",
                 "action_detail": "What was done"}


def words(value: str | None) -> str:
    """An identifier as words: "housing_association_tenant" -> "Housing association tenant"."""
    text = str(value or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def status_tag(status: str) -> dict[str, str]:
    text, colour = STATUS_LABELS.get(status, (words(status), "grey"))
    return {"text": text, "colour": colour}


def deadline_label(name: str) -> str:
    if name.startswith("action_"):
        return f"Action {name.removeprefix('action_')}"
    return DEADLINE_LABELS.get(name, words(name))


def long_date(value: str | date | None) -> str:
    from .letters import london_time

    return london_time(value) if value else ""


# ---------------------------------------------------------------- the list


def list_filters(params: Mapping[str, str] | None, my_areas: Iterable[str]) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """The list's query (status, area, due, q, cursor) checked: the values to use, and the errors
    to show by each field (the error summary links to the field's id)."""
    params = params or {}
    errors: list[dict[str, str]] = []
    statuses = {s.value for s in Status}
    out: dict[str, str | None] = {}
    status = (params.get("status") or "").strip() or None
    if status is not None and status not in statuses:
        errors.append({"field": "status", "message": "Choose a status from the list"})
        status = None
    area = (params.get("area") or "").strip() or None
    if area is not None and area not in set(my_areas):
        errors.append({"field": "area", "message": "Choose one of your areas"})
        area = None
    due = (params.get("due") or "").strip() or None
    if due is not None and due not in DUE_FILTERS:
        errors.append({"field": "due", "message": "Choose overdue or due soon"})
        due = None
    q = params.get("q")
    q = q.strip() if q is not None else None
    if q == "":
        q = None
    if q is not None and len(q) > MAX_QUERY:
        errors.append({"field": "q", "message": f"Search for at most {MAX_QUERY} characters: a reference, a postcode or a name"})
    cursor = params.get("cursor") or None
    if cursor is not None and (len(cursor) > MAX_CURSOR or not cursor.isascii()):
        # No field to link to: the summary says it, and the filters' own links start again.
        errors.append({"field": "", "message": "This page of the list is out of date: start again from the first page"})
        cursor = None
    out.update(status=status, area=area, due=due, q=q, cursor=cursor)
    return out, errors


def error_for(errors: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """{field id: message}: the message shown by each field (the first, when several)."""
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.get("id") or e.get("field") or "", e.get("message") or "")
    return out


def summary_errors(errors: Iterable[Mapping[str, str]]) -> list[dict[str, str | None]]:
    """The error summary's lines, each linking to its field's id ({href, text}); a problem with
    no field (an out-of-date page) is said without a link."""
    out = []
    for e in errors:
        target = e.get("id") or e.get("field")
        out.append({"href": f"#{target}" if target else None, "text": e.get("message") or ""})
    return out


def list_query(filters: Mapping[str, str | None], **changes: str | None) -> str:
    """The query string that keeps the filters (for the next page, the CSV, removing one filter)."""
    merged = {**{k: v for k, v in filters.items() if k != "cursor"}, **changes}
    pairs = [(k, v) for k, v in merged.items() if v]
    return ("?" + urlencode(pairs)) if pairs else ""


def selected_filters(filters: Mapping[str, str | None], area_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The MOJ filter's "Selected filters": each chosen value, with a link that removes it."""
    categories = []
    for name, heading, text in (("status", "Status", status_tag(filters["status"])["text"] if filters.get("status") else None),
                                ("area", "Area", area_names.get(filters.get("area") or "", filters.get("area"))),
                                ("due", "Deadline", DUE_FILTERS.get(filters.get("due") or ""))):
        if filters.get(name) and text:
            categories.append({"heading": heading, "items": [{"text": text, "href": list_query(filters, **{name: None})}]})
    return categories


def list_row(row: Mapping[str, Any], area_names: Mapping[str, str]) -> dict[str, Any]:
    nxt = row.get("next_deadline")
    return {
        "reference": row["reference"],
        "applicant": row.get("applicant_name") or "",
        "victim": row.get("victim_name") or "",
        "area": area_names.get(row["area"], row["area"]),
        "status": status_tag(row["status"]),
        "next_deadline": {"text": deadline_label(nxt["name"]), "due": nxt["due"], "due_text": long_date(nxt["due"])} if nxt else None,
        "overdue": bool(row.get("overdue")),
        "due_soon": bool(row.get("due_soon")) and not row.get("overdue"),
    }


CSV_HEAD = ["Reference", "Applicant", "Victim", "Area", "Status", "Next deadline", "Due", "Overdue", "Due soon",
            "Received"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting = + - @ tab or CR would run as a formula
    (CSV injection), so it starts with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(row: Mapping[str, Any], area_names: Mapping[str, str]) -> list[str]:
    line = list_row(row, area_names)
    nxt = line["next_deadline"]
    return [csv_cell(v) for v in (line["reference"], line["applicant"], line["victim"], line["area"],
                                  line["status"]["text"], nxt["text"] if nxt else "", nxt["due"] if nxt else "",
                                  "yes" if line["overdue"] else "no", "yes" if row.get("due_soon") else "no",
                                  row.get("received_on") or "")]


# ---------------------------------------------------------------- a case


def _contact(person: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not person:
        return None
    address = person.get("address") or {}
    lines = [address.get(k) for k in ("line1", "line2", "town", "postcode") if address.get(k)]
    return {"name": person.get("name") or "", "address": lines, "email": person.get("email"),
            "phones": [p for p in (person.get("daytime_phone"), person.get("mobile_phone")) if p],
            "preferred": words(person.get("preferred_contact")) if person.get("preferred_contact") else None,
            "relationship": words(person.get("relationship")) if person.get("relationship") else None,
            "organisation": person.get("organisation")}


def step_links(detail: Mapping[str, Any], principal: Any) -> list[dict[str, str]]:
    """The steps this person can take now, as links to the step pages: what the case's state allows
    (detail's next_steps), for this person's role (appeal steps: the appeals body), and only what
    the appeal's own state allows (one appeal open at a time)."""
    ref = detail["reference"]
    appeal = detail.get("appeal") or {}
    appeal_open = appeal.get("status") in ("lodged", "acknowledged")
    seen: list[str] = []
    for domain_step in detail.get("next_steps") or []:
        step = DOMAIN_STEPS.get(domain_step)
        if step is None or step in seen:
            continue
        if step.startswith("appeal"):
            if not principal.has_role("appeals"):
                continue
            if step == "appeal" and (appeal_open or not detail.get("appeal_window_closes")):
                continue
            if step == "appeal-acknowledgement" and appeal.get("status") != "lodged":
                continue
            if step == "appeal-decision" and not appeal_open:
                continue
        elif not principal.has_role("spoc"):
            continue
        seen.append(step)
    text = dict(STEP_LINKS)
    if detail.get("meeting"):
        text["meeting"] = "Change the case review meeting"
    return [{"step": s, "text": text[s], "href": f"/console/cases/{ref}/steps/{s}"} for s in seen]


def action_links(detail: Mapping[str, Any], principal: Any) -> list[dict[str, Any]]:
    """The action plan's actions, each with a link to update it while the plan is monitored."""
    ref = detail["reference"]
    can_update = "update_action" in (detail.get("next_steps") or []) and principal.has_role("spoc")
    out = []
    for action in (detail.get("outcome") or {}).get("actions") or []:
        out.append({"id": action.get("id"), "description": action.get("description") or "",
                    "agency": action.get("agency") or "", "due": long_date(action.get("due_on")),
                    "status": words(action.get("status")),
                    "href": f"/console/cases/{ref}/actions/{action.get('id')}" if can_update else None})
    return out


def deadline_rows(detail: Mapping[str, Any], today: date) -> list[dict[str, Any]]:
    """Each stage's deadline: due, and met (on time or late), missed, pending, or no longer needed
    (the case left that stage without it)."""
    status = Status(detail["status"])
    appeal = detail.get("appeal") or {}
    appeal_open = appeal.get("status") in ("lodged", "acknowledged")
    rows = []
    for name, d in (detail.get("deadlines") or {}).items():
        due = d.get("due")
        met_on = d.get("met_on")
        if met_on and due:
            state = ("Met", "green") if met_on <= due else ("Met late", "orange")
        elif met_on:
            state = ("Met", "green")
        elif not due:
            continue
        elif not deadline_current(name, status, appeal_open):
            state = ("No longer needed", "grey")
        elif date.fromisoformat(due) < today:
            state = ("Missed", "red")
        else:
            state = ("Pending", "blue")
        rows.append({"name": deadline_label(name), "due": due, "due_text": long_date(due),
                     "met_text": long_date(met_on) if met_on else "", "state": {"text": state[0], "colour": state[1]}})
    return sorted(rows, key=lambda r: (r["due"] or "", r["name"]))


def threshold_view(pre: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The pre-assessment rule by rule: each rule's result and why, and how each reported incident counted."""
    if not pre:
        return None
    return {
        "result": PRE_RESULTS.get(pre.get("result") or "", words(pre.get("result"))),
        "assessed_on": long_date(pre.get("assessed_on")),
        "rules": [{"rule": RULE_LABELS.get(r.get("rule") or "", words(r.get("rule"))),
                   "outcome": dict(zip(("text", "colour"), RULE_OUTCOMES.get(r.get("outcome") or "", (words(r.get("outcome")), "grey")))),
                   "reason": r.get("reason") or ""} for r in pre.get("rules") or []],
        "reports": [{"number": (r.get("index") or 0) + 1, "happened_on": long_date(r.get("happened_on")),
                     "reported_to": r.get("reported_to") or "", "counts": bool(r.get("counts")),
                     "reasons": "; ".join(r.get("reasons") or [])} for r in pre.get("reports") or []],
        "occasions": [long_date(d) for d in pre.get("qualifying_occasions") or []],
    }


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value in ("yes", "no"):
        return words(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return long_date(value)
    return "" if value is None else str(value)


def return_view(answers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not answers:
        return None
    rows = [{"key": label, "value": _answer(answers.get(key))} for key, label in RETURN_LABELS.items()
            if answers.get(key) not in (None, "")]
    reports = [[{"key": label, "value": words(_answer(r.get(key))) if key == "how_received" else _answer(r.get(key))}
                for key, label in REPORT_LABELS.items() if r.get(key) not in (None, "")]
               for r in answers.get("reports") or []]
    return {"rows": rows, "reports": reports}


def partner_rows(detail: Mapping[str, Any], principal: Any) -> list[dict[str, Any]]:
    """Each partner request with what can be done to it now: while the threshold is assessed
    (the only state the case work allows it), a SPOC can send it again, stop its link, send a new
    link, or give an address; the same status rules as CaseWork.partner_request."""
    ref = detail["reference"]
    workable = detail["status"] == Status.ACKNOWLEDGED.value and principal.has_role("spoc")
    out = []
    for r in detail.get("partner_requests") or []:
        status = r.get("status") or ""
        text, colour = PARTNER_STATUS.get(status, (words(status), "grey"))
        base = f"/console/cases/{ref}/partner-requests/{r['id']}"
        actions = {
            "resend": workable and status == "requested" and bool(r.get("email")),
            "revoke": principal.has_role("spoc") and status == "requested",
            "reissue": workable and status in ("requested", "revoked") and bool(r.get("email")),
            "address": workable and status in ("no_address", "requested", "revoked"),
        }
        out.append({"id": r["id"], "partner": r.get("partner") or "", "kind": words(r.get("kind")),
                    "email": r.get("email"), "status": {"text": text, "colour": colour},
                    "due": long_date(r.get("due_on")), "expires": long_date(r.get("expires_on")),
                    "version": r.get("latest_version") or 0, "answers": return_view(r.get("return")),
                    "actions": {k: f"{base}/{k}" for k, allowed in actions.items() if allowed}})
    return out


def letter_rows(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    ref = detail["reference"]
    out = []
    for l in detail.get("letters") or []:
        text, colour = LETTER_STATUS.get(l.get("status") or "", (words(l.get("status")), "grey"))
        out.append({"id": l["id"], "href": f"/console/cases/{ref}/letters/{l['id']}",
                    "to": RECIPIENTS.get(l.get("to") or "", words(l.get("to"))), "step": words(l.get("step")),
                    "channel": CHANNELS.get(l.get("channel") or "", words(l.get("channel"))),
                    "status": {"text": text, "colour": colour},
                    "queued": long_date(l.get("created_at")), "sent": long_date(l.get("sent_at")),
                    # What SES said became of it (chalicelib.receipts.delivery_summary), or nothing yet.
                    "delivery": (l.get("delivery") or {}).get("summary") or "",
                    "delivery_problem": (l.get("delivery") or {}).get("state") in ("bounced", "rejected", "complained")})
    return out


def _event_text(event: Mapping[str, Any]) -> str:
    parts = []
    if event.get("from") and event.get("to") and event["from"] != event["to"]:
        parts.append(f"{status_tag(event['from'])['text']} to {status_tag(event['to'])['text']}.")
    detail = event.get("detail") or {}
    if event.get("action") == "add_note" and detail.get("note"):
        parts.append(str(detail["note"]))
    if detail.get("partner"):
        parts.append(f"Partner: {detail['partner']}.")
    if detail.get("reason") and isinstance(detail["reason"], str):
        parts.append(f"Reason: {words(detail['reason'])}.")
    if event.get("action") == "email_bounced":
        parts.append(f"Letter {detail.get('letter')} to the {words(detail.get('to')).lower()}.")
        if detail.get("post_letter"):
            parts.append(f"Queued for post as letter {detail['post_letter']}.")
    if detail.get("action") and event.get("action") == "update_action":
        parts.append(f"Action {detail['action']}: {words(detail.get('status'))}.")
    return " ".join(parts)


def _notice_text(notice: Mapping[str, Any]) -> str:
    detail = notice.get("detail") or {}
    parts = []
    if detail.get("deadline"):
        parts.append(f"{deadline_label(detail['deadline'])}")
    if detail.get("due_on"):
        parts.append(f"due {long_date(detail['due_on'])}")
    if detail.get("request"):
        parts.append(f"request {detail['request']}")
    if detail.get("level"):
        parts.append(f"to the {words(detail['level']).lower()}")
    if detail.get("letter"):
        parts.append(f"letter {detail['letter']}")
    return (", ".join(parts) + ".")[:1].upper() + (", ".join(parts) + ".")[1:] if parts else ""


def timeline_items(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every audit event and every notice of the sweep, newest first, in words: who, when, what."""
    items = [{"label": AUDIT_LABELS.get(e.get("action") or "", words(e.get("action"))), "datetime": e.get("at") or "",
              "byline": e.get("actor") or "", "text": _event_text(e)} for e in detail.get("timeline") or []]
    items += [{"label": NOTICE_LABELS.get(n.get("kind") or "", words(n.get("kind"))), "datetime": n.get("at") or "",
               "byline": SWEEP, "text": _notice_text(n)} for n in detail.get("notices") or []]
    return sorted(items, key=lambda i: i["datetime"], reverse=True)


def view_rows(detail: Mapping[str, Any]) -> list[dict[str, str]]:
    def what(value: str) -> str:
        return f"Letter {value.removeprefix('letter:')}" if value.startswith("letter:") else "The case"

    return [{"by": v.get("by") or "", "when": long_date(v.get("at")), "what": what(v.get("what") or "")}
            for v in detail.get("views") or []]


def case_view(detail: Mapping[str, Any], principal: Any, today: date, area_names: Mapping[str, str]) -> dict[str, Any]:
    """Everything the case page shows, from CaseWork.detail()."""
    application = detail.get("application") or {}
    basis = application.get("basis")
    victim = _contact(application.get("victim"))
    applicant = _contact(application.get("applicant")) if basis == "on_behalf" else None
    started_by = application.get("started_by") or None
    return {
        "reference": detail["reference"], "area": area_names.get(detail["area"], detail["area"]),
        "status": status_tag(detail["status"]), "version": detail.get("version"),
        "received": long_date(detail.get("received_at") or detail.get("received_on")),
        "channel": CHANNELS.get(detail.get("channel") or "", words(detail.get("channel"))),
        "basis": basis, "applicant": applicant, "victim": victim, "started_by": started_by,
        "summary": application.get("summary") or "",
        "steps": step_links(detail, principal), "actions": action_links(detail, principal),
        "can_note": "add_note" in (detail.get("next_steps") or []) and principal.has_role("spoc", "appeals"),
        "deadlines": deadline_rows(detail, today), "threshold": threshold_view(detail.get("pre_assessment")),
        "partners": partner_rows(detail, principal), "letters": letter_rows(detail),
        "notes": sorted(({"by": n.get("by") or "", "when": long_date(n.get("at")), "at": n.get("at") or "",
                          "text": n.get("text") or ""} for n in detail.get("notes") or []),
                        key=lambda n: n["at"], reverse=True),
        "timeline": timeline_items(detail), "views": view_rows(detail),
        "retention": retention_view(detail, principal),
    }


def retention_view(detail: Mapping[str, Any], principal: Any) -> dict[str, Any]:
    """What the case page says of the case's deletion, and whether this person may hold it (the
    area's SPOC or an administrator)."""
    retention = detail.get("retention") or {}
    hold = retention.get("legal_hold")
    if hold:
        text = f"Legal hold since {long_date(hold.get('since'))} ({hold.get('reason') or ''})"
    elif retention.get("deletes_on"):
        text = f"Deleted on {long_date(retention['deletes_on'])} unless held"
    else:
        text = "Kept while the case is open or an appeal is under way"
    return {"text": text, "held": bool(hold), "years": retention.get("years"), "can_hold": principal.has_role("spoc")}


def done_message(done: str | None) -> str | None:
    return DONE_MESSAGES.get(done or "")


# ---------------------------------------------------------------- a letter

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def style_hash(html: str) -> str | None:
    """The CSP hash ('sha256-...') of the letter's own stylesheet: the page lets exactly that
    stylesheet apply inside the letter's sandboxed frame, and no other inline style."""
    match = _STYLE.search(html or "")
    if match is None:
        return None
    return "'sha256-" + base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode() + "'"


def text_paragraphs(text: str) -> list[list[str]]:
    """The plain-text version as paragraphs of lines (shown without a <pre>, so it wraps)."""
    blocks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    return [block.split("\n") for block in blocks if block.strip()]


def letter_view(letter: Mapping[str, Any]) -> dict[str, Any]:
    text, colour = LETTER_STATUS.get(letter.get("status") or "", (words(letter.get("status")), "grey"))
    return {"id": letter["letter_id"], "reference": letter["reference"], "subject": letter.get("subject") or "",
            "to": RECIPIENTS.get(letter.get("to") or "", words(letter.get("to"))), "to_email": letter.get("to_email"),
            "step": words(letter.get("step")), "channel": CHANNELS.get(letter.get("channel") or "", words(letter.get("channel"))),
            "status": {"text": text, "colour": colour}, "queued": long_date(letter.get("created_at")),
            "sent": long_date(letter.get("sent_at")), "html": letter.get("html") or "",
            "style_hash": style_hash(letter.get("html") or ""), "paragraphs": text_paragraphs(letter.get("text") or "")}
