"""The console's step forms as data: for each step, the fields of its staff_schemas model as GOV.UK
form fields, the form's values <-> the staff API's JSON payload, and the API's error paths -> the
ids of the inputs the error summary links to. Pure Python, no AWS and no Jinja.

Form field names are the payload's own paths (`meeting.date.day`, `actions[2].due_on.year`,
`meeting.agencies[1]`), so the payload the form makes is exactly what an API client would send, and
the staff API's validation (staff_schemas.validate_staff) runs on it unchanged: the same errors for
the same input. The form only decides what its inputs mean: a blank input is no answer, a row left
wholly blank is no row, "yes"/"no" are true/false, and a date's three boxes are one ISO date.

    form = STEP_FORMS["outcome"]
    posted = to_payload(form, values)          # .payload (JSON), .positions (page rows kept)
    errors = form_errors(form, exc.errors, posted)   # [{field, id, anchor, message, parts}]
    values = to_values(form, payload)          # a payload (e.g. the draft plan) as the form's values
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .schemas import LONG, MEDIUM, SHORT

YES_NO = (("yes", "Yes"), ("no", "No"))
ROW_LIMIT = 30  # the models' longest lists (actions, recommendations) take at most 30
DATE_PARTS = ("day", "month", "year")


@dataclass(frozen=True)
class Field:
    """One question. kind: text (one line), textarea (with max_length: a character count), date,
    choice (radios), bool (yes/no radios), check (one checkbox), texts (a list of one-line texts),
    rows (a list of groups: `fields` per row), group (a nested object: `fields`)."""

    name: str
    kind: str
    label: str
    hint: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    fields: tuple["Field", ...] = ()
    blank_rows: int = 1  # texts and rows: how many a new form shows
    row_label: str = "Item"  # texts and rows: "Action 1", "Agency 2"
    add_label: str | None = None  # the "Add another ..." button (texts and rows)
    switch: str | None = None  # group: a yes/no question of the form; the group is sent only after "yes"
    optional: bool = False  # group: sent only when something in it was typed
    noun: str | None = None  # date: how an error names it ("The date the meeting was held")
    missing: str | None = None  # choice, bool: the message when nothing is chosen (the GOV.UK wording)
    classes: str = ""


@dataclass(frozen=True)
class StepForm:
    step: str  # the staff API's step name (its URL), or "action-update", "agency-review"
    model: str | None  # the staff_schemas model's name (None: the step takes no body)
    title: str  # the page's heading
    fields: tuple[Field, ...] = ()
    method: str = ""  # the CaseWork method
    roles: tuple[str, ...] = ("spoc",)
    steps: tuple[str, ...] = ()  # chalicelib.domain.case step names any of which makes it allowed now
    button: str = "Preview the letters"


@dataclass
class Posted:
    payload: dict[str, Any]
    values: dict[str, str]  # as typed, shown again
    positions: dict[str, list[int]] = field(default_factory=dict)  # list path -> page rows kept, in order
    date_problems: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # path -> (message, parts)


# ---------------------------------------------------------------- the fields


def _date(name: str, label: str, noun: str, hint: str | None = None) -> Field:
    return Field(name, "date", label, hint=hint or "For example, 14 1 2027", noun=noun)


def _long(name: str, label: str, hint: str | None = None, max_length: int = LONG) -> Field:
    return Field(name, "textarea", label, hint=hint, max_length=max_length)


def _line(name: str, label: str, hint: str | None = None, classes: str = "", max_length: int = SHORT) -> Field:
    return Field(name, "text", label, hint=hint, classes=classes, max_length=max_length)


def _meeting_fields() -> tuple[Field, ...]:
    return (
        _date("date", "Date of the meeting", "The meeting date"),
        _line("time", "Time", hint="A 24-hour time, for example 14:00", classes="govuk-input--width-5",
              max_length=5),
        Field("online", "bool", "Is the meeting online?", options=YES_NO),
        _line("place", "Where is the meeting?", hint="Leave blank if the meeting is online"),
        _line("chair", "Who will chair the meeting?"),
        Field("agencies", "texts", "Agencies attending", hint="At least three agencies",
              max_length=SHORT, blank_rows=4, row_label="Agency", add_label="Add another agency"),
        Field("victim_invited", "bool", "Is the victim invited?", options=YES_NO,
              missing="Select whether the victim is invited"),
        _long("victim_not_invited_reason", "Why is the victim not invited?",
              hint="Only if the victim is not invited", max_length=MEDIUM),
    )


def _action_fields() -> tuple[Field, ...]:
    return (
        _long("description", "What will be done", max_length=MEDIUM),
        _line("agency", "Agency"),
        _line("lead_officer", "Lead officer"),
        _date("due_on", "Due by", "The date the action is due"),
        Field("victim_agreed", "bool", "Did the victim agree this action?", options=YES_NO,
              missing="Select whether the victim agreed this action"),
    )


def _actions(blank_rows: int) -> Field:
    return Field("actions", "rows", "Actions", fields=_action_fields(), blank_rows=blank_rows, row_label="Action",
                 add_label="Add another action")


def _recommendations(blank_rows: int = 2) -> Field:
    return Field("recommendations", "texts", "Recommendations", hint="Leave blank any you do not need",
                 max_length=MEDIUM, blank_rows=blank_rows, row_label="Recommendation",
                 add_label="Add another recommendation")


def _address_fields() -> tuple[Field, ...]:
    return (
        _line("line1", "Address line 1", classes=""),
        _line("line2", "Address line 2 (optional)"),
        _line("town", "Town or city", classes="govuk-!-width-two-thirds"),
        _line("postcode", "Postcode", classes="govuk-input--width-10", max_length=10),
    )


STEP_FORMS: dict[str, StepForm] = {f.step: f for f in (
    StepForm("consent", "ConsentIn", "Record the victim's consent", method="record_consent", steps=("record_consent",),
             fields=(
                 _date("received_on", "When did the consent arrive?", "The date the consent arrived"),
                 Field("evidence", "choice", "What shows the victim's consent?", options=(
                     ("written_consent", "Written consent from the victim"),
                     ("power_of_attorney", "A power of attorney"),
                     ("other_authority", "Another legal authority to act for them")),
                       missing="Select what shows the victim's consent"),
                 _long("note", "Note (optional)", max_length=MEDIUM),
             )),
    StepForm("acknowledgement", "AcknowledgementIn", "Record how the application was acknowledged",
             method="record_acknowledgement", steps=("record_acknowledgement",), fields=(
                 _date("acknowledged_on", "When was the application acknowledged?",
                       "The date the application was acknowledged"),
                 Field("how", "choice", "How was it acknowledged?", options=(
                     ("letter_by_post", "A letter by post"), ("letter_by_hand", "A letter delivered by hand"),
                     ("email", "An email"), ("phone", "A phone call"), ("in_person", "In person")),
                       missing="Select how the application was acknowledged"),
                 _long("note", "Note (optional)", max_length=MEDIUM),
             )),
    StepForm("threshold-decision", "DecisionIn", "Record the threshold decision", method="decide_threshold",
             steps=("decide_met", "decide_not_met", "decide_accepted_below_threshold"), fields=(
                 Field("decision", "choice", "Is the threshold met?", options=(
                     ("met", "Yes, the threshold is met"), ("not_met", "No, the threshold is not met"),
                     ("accepted_below_threshold", "It is not met, but a senior officer accepted the case review")),
                       missing="Select whether the threshold is met"),
                 _line("senior_officer", "Senior officer who accepted it below the threshold",
                       hint="Only if the case review was accepted below the threshold"),
                 _long("reasons", "Reasons for the decision", hint="These are sent to the applicant"),
                 Field("meeting", "group", "The case review meeting", fields=_meeting_fields(),
                       switch="meeting_arranged", hint="If it has been arranged, the letter gives its date, time and place"),
             )),
    StepForm("meeting", "MeetingIn", "Arrange the case review meeting", method="schedule_meeting",
             steps=("schedule_meeting",), fields=_meeting_fields()),
    StepForm("draft-plan", "DraftPlanIn", "Send the draft action plan", method="send_draft_plan",
             steps=("send_draft_plan",), fields=(
                 _date("held_on", "When was the meeting held?", "The date the meeting was held"),
                 _long("findings", "The meeting's findings"),
                 _recommendations(),
                 _actions(2),
                 _date("respond_by", "Respond by (optional)", "The date to respond by",
                       hint="Leave blank to use the area's usual time to respond. For example, 14 1 2027"),
             )),
    StepForm("outcome", "OutcomeIn", "Record the case review's outcome", method="record_outcome",
             steps=("record_outcome_actions", "record_outcome_no_further_action"), fields=(
                 _date("held_on", "When was the meeting held?", "The date the meeting was held"),
                 _long("findings", "The meeting's findings"),
                 _recommendations(),
                 _actions(2),
                 Field("not_recommended", "rows", "Actions considered and not recommended", fields=(
                     _long("description", "What was considered", max_length=MEDIUM),
                     _long("reason", "Why it is not recommended", max_length=MEDIUM),
                 ), blank_rows=1, row_label="Not recommended", add_label="Add another action not recommended"),
                 _long("views_on_draft", "What the applicant or victim said about the draft plan (optional)"),
             )),
    StepForm("close", "CloseIn", "Close the case", method="close", steps=("close",), fields=(
        _long("reason", "Why is the case closing?", max_length=MEDIUM),
        Field("open_actions", "check", "Open actions", hint="Only if some actions are still open", options=(
            ("hand_to_agencies", "Hand the open actions to the agencies' normal work"),)),
        _long("handover_reason", "Why are they handed over?", max_length=MEDIUM),
    )),
    StepForm("withdraw", "WithdrawIn", "Withdraw the application", method="withdraw", steps=("withdraw",), fields=(
        Field("reason", "choice", "Why is it withdrawn?", options=(
            ("applicant_request", "The applicant asked to withdraw it"),
            ("victim_unreachable", "The victim cannot be reached")), missing="Select why the application is withdrawn"),
        _long("note", "Note", hint="If the victim cannot be reached, say what was done to reach them",
              max_length=MEDIUM),
    )),
    StepForm("reject", "RejectIn", "Reject the application", method="reject", steps=("reject",), fields=(
        Field("reason", "choice", "Why is it rejected?", options=(
            ("anonymous", "It is anonymous"), ("vexatious", "It is vexatious"),
            ("service_complaint", "It is a complaint about a service, not about anti-social behaviour")),
              missing="Select why the application is rejected"),
        _long("note", "Note", hint="Say why; the letter gives the reason", max_length=MEDIUM),
    )),
    StepForm("appeal", "AppealIn", "Lodge an appeal", method="lodge_appeal", roles=("appeals",),
             steps=("lodge_appeal",), fields=(
                 Field("against", "choice", "What is the appeal against?", options=(
                     ("threshold_decision", "The threshold decision"), ("rejection", "The rejection of the application"),
                     ("review_outcome", "The case review's outcome")),
                       missing="Select what the appeal is against"),
                 _date("lodged_on", "When was the appeal received?", "The date the appeal was received"),
                 _long("grounds", "Grounds of the appeal"),
             )),
    StepForm("appeal-acknowledgement", None, "Acknowledge the appeal", method="acknowledge_appeal",
             roles=("appeals",), steps=("acknowledge_appeal",)),
    StepForm("appeal-decision", "AppealDecisionIn", "Decide the appeal", method="decide_appeal", roles=("appeals",),
             steps=("decide_appeal_not_upheld", "uphold_appeal_threshold", "uphold_appeal_rejection",
                    "uphold_appeal_rejection_awaiting_consent", "uphold_appeal_outcome"), fields=(
                 Field("upheld", "bool", "Is the appeal upheld?", options=YES_NO,
                       missing="Select whether the appeal is upheld"),
                 _long("reasons", "Reasons for the decision", hint="These are sent to the applicant"),
             )),
    StepForm("action-update", "ActionUpdateIn", "Update an action", method="update_action", steps=("update_action",),
             fields=(
                 Field("status", "choice", "Where is the action now?", options=(
                     ("open", "Still open, in progress"), ("done", "Done"), ("not_viable", "Not viable")),
                       missing="Select where the action is now"),
                 _long("note", "What happened", max_length=MEDIUM),
             )),
    StepForm("agency-review", "AgencyReviewIn", "Start a case review for an agency", method="open_agency_review",
             button="Preview the letter", fields=(
                 Field("area", "choice", "Area", missing="Select the area"),  # options: the signed-in person's areas (agency_review_form)
                 _line("agency", "Agency starting the review"),
                 _line("officer", "Officer starting the review"),
                 _long("reasons", "Why the threshold is met", hint="This is told to the victim"),
                 _long("summary", "Summary of the anti-social behaviour", max_length=MEDIUM),
                 Field("victim", "group", "The victim", fields=(
                     _line("name", "Full name"),
                     Field("address", "group", "Address", fields=_address_fields()),
                     _line("email", "Email address (optional)", max_length=254),
                     _line("daytime_phone", "Daytime phone (optional)", classes="govuk-input--width-20"),
                     _line("mobile_phone", "Mobile phone (optional)", classes="govuk-input--width-20"),
                     Field("preferred_contact", "choice", "How should we contact them?", options=(
                         ("email", "Email"), ("phone", "Phone"), ("post", "Post"))),
                 )),
                 Field("asb_location", "group", "Where the behaviour happens, if not at the victim's address", fields=(
                     _line("description", "Place (optional)"),
                     _line("postcode", "Postcode (optional)", classes="govuk-input--width-10", max_length=10),
                 ), optional=True),
             )),
)}

CONSOLE_STEPS = tuple(k for k in STEP_FORMS if k not in ("action-update", "agency-review"))


def agency_review_form(areas: Iterable[tuple[str, str]]) -> StepForm:
    """The agency review's form with the areas the signed-in person may start one in."""
    base = STEP_FORMS["agency-review"]
    fields = tuple(Field("area", "choice", "Area", options=tuple(areas), missing=f.missing) if f.name == "area" else f
                   for f in base.fields)
    return StepForm(base.step, base.model, base.title, fields, base.method, base.roles, base.steps, base.button)


# ---------------------------------------------------------------- names and ids


def element_id(name: str) -> str:
    """The id of a form field: actions[2].due_on -> actions-2-due_on (the applicant's form does the same)."""
    return name.replace("[", "-").replace("]", "").replace(".", "-")


def _walk(fields: Iterable[Field], prefix: str = "") -> Iterable[tuple[str, Field]]:
    """Every field with its path pattern ([] for a row), nested ones too."""
    for f in fields:
        path = f"{prefix}{f.name}"
        yield path, f
        if f.kind == "rows":
            yield from _walk(f.fields, f"{path}[].")
        elif f.kind == "group":
            yield from _walk(f.fields, f"{path}.")


_INDEX = re.compile(r"\[(\d+)\]")


def field_allowed(form: StepForm, name: str) -> bool:
    """Strict field names: a field of this form (rows numbered 0-29), a date's box, or a control."""
    if name in ("action", "version"):
        return True
    rows = [int(n) for n in _INDEX.findall(name)]
    if any(n >= ROW_LIMIT for n in rows) or re.search(r"\[0\d", name):
        return False
    pattern = _INDEX.sub("[]", name)
    known = dict(_walk(form.fields))
    switches = {f.switch for _, f in _walk(form.fields) if f.switch}
    if pattern in switches:
        return True
    if pattern.rsplit(".", 1)[-1] in DATE_PARTS:
        base = pattern.rsplit(".", 1)[0]
        return known.get(base) is not None and known[base].kind == "date"
    if pattern.endswith("[]"):
        f = known.get(pattern[:-2])
        return f is not None and f.kind == "texts"
    f = known.get(pattern)
    return f is not None and f.kind not in ("rows", "group", "texts", "date")


# ---------------------------------------------------------------- form -> payload


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _indexes(values: dict[str, str], path: str) -> list[int]:
    """The row numbers the form posted for a list (actions[3].agency -> 3), in order."""
    found = set()
    pattern = re.compile(re.escape(path) + r"\[(\d{1,2})\]")
    for name in values:
        match = pattern.match(name)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)


def date_parts_problem(day: str, month: str, year: str) -> tuple[str, list[str]] | None:
    """What is wrong with a date's boxes before it can be a date (None: it can be tried as one)."""
    parts = {"day": day, "month": month, "year": year}
    missing = [p for p in DATE_PARTS if not parts[p]]
    if missing:
        return f"must include a {' and '.join(missing)}", missing
    bad = [p for p in DATE_PARTS if not (parts[p].isascii() and parts[p].isdigit())]
    if bad:
        return "must be a real date, written in numbers", bad
    if len(year) != 4:
        return "year must include 4 numbers", ["year"]
    if len(day) > 2 or len(month) > 2:
        return "must be a real date", [p for p in ("day", "month") if len(parts[p]) > 2]
    return None


def date_value(values: dict[str, Any], path: str) -> tuple[str | None, tuple[str, list[str]] | None]:
    """A GOV.UK date input's three boxes (<path>.day/.month/.year) as the API's one ISO field, and
    what is wrong with the boxes: (None, None) when none is typed. Boxes that are not a date are
    sent as typed, so the API's model refuses them with its own message."""
    day, month, year = (str(values.get(f"{path}.{p}", "")).strip() for p in DATE_PARTS)
    if not (day or month or year):
        return None, None
    problem = date_parts_problem(day, month, year)
    if problem is None:
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}", None
    return f"{year}-{month}-{day}", problem


def _date_value(values: dict[str, str], path: str, posted: Posted) -> str | None:
    value, problem = date_value(values, path)
    if problem is not None:
        posted.date_problems[path] = problem  # the form names the wrong box (form_errors)
    return value


def _convert(fields: Iterable[Field], values: dict[str, str], prefix: str, posted: Posted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        path = f"{prefix}{f.name}"
        if f.kind == "date":
            value = _date_value(values, path, posted)
        elif f.kind == "bool":
            raw = values.get(path, "")
            value = None if _blank(raw) else {"yes": True, "no": False}.get(raw.strip(), raw)
        elif f.kind == "texts":
            kept = [(n, values[f"{path}[{n}]"]) for n in _indexes(values, path)
                    if not _blank(values.get(f"{path}[{n}]"))]
            posted.positions[path] = [n for n, _ in kept]
            value = [v for _, v in kept]
        elif f.kind == "rows":
            rows = []
            posted.positions[path] = []
            for n in _indexes(values, path):
                row = _convert(f.fields, values, f"{path}[{n}].", posted)
                if row:  # a row left wholly blank is no row
                    rows.append(row)
                    posted.positions[path].append(n)
            value = rows
        elif f.kind == "group":
            if f.switch and values.get(f.switch) != "yes":
                continue
            value = _convert(f.fields, values, f"{path}.", posted)
            if f.optional and not value:
                continue
        else:
            raw = values.get(path)
            value = None if _blank(raw) else raw
        if value is not None:
            out[f.name] = value
    return out


def to_payload(form: StepForm, values: dict[str, Any]) -> Posted:
    """The form's fields (as posted: names -> strings) as the staff API's JSON body for the step."""
    kept = {k: v for k, v in values.items() if k not in ("action", "version") and isinstance(v, str)}
    posted = Posted(payload={}, values=kept)
    posted.payload = _convert(form.fields, kept, "", posted)
    return posted


# ---------------------------------------------------------------- payload -> form


def to_values(form: StepForm, payload: dict[str, Any]) -> dict[str, str]:
    """A payload (what was sent before, or the draft plan the outcome starts from) as the form's values."""
    out: dict[str, str] = {}

    def fill(fields: Iterable[Field], data: dict[str, Any], prefix: str) -> None:
        for f in fields:
            path, value = f"{prefix}{f.name}", data.get(f.name)
            if value is None:
                continue
            if f.kind == "date":
                text = value.isoformat() if hasattr(value, "isoformat") else str(value)
                match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
                if match:
                    out[f"{path}.year"], out[f"{path}.month"], out[f"{path}.day"] = (
                        match.group(1), str(int(match.group(2))), str(int(match.group(3))))
            elif f.kind == "bool":
                out[path] = "yes" if value else "no"
            elif f.kind == "texts":
                for n, item in enumerate(value):
                    out[f"{path}[{n}]"] = str(item)
            elif f.kind == "rows":
                for n, row in enumerate(value):
                    fill(f.fields, row, f"{path}[{n}].")
            elif f.kind == "group":
                if f.switch:
                    out[f.switch] = "yes"
                fill(f.fields, value, f"{path}.")
            else:
                out[path] = str(value)

    fill(form.fields, payload, "")
    return out


# ---------------------------------------------------------------- errors -> the form's fields


def _find(form: StepForm, pattern: str) -> Field | None:
    return dict(_walk(form.fields)).get(pattern)


def _first_input(f: Field, name: str) -> str:
    """The id of the first input of a field (what the error summary links to)."""
    if f.kind == "date":
        return f"{element_id(name)}-day"
    if f.kind == "texts":
        return f"{element_id(name)}-0"
    if f.kind in ("rows", "group"):
        return _first_input(f.fields[0], f"{name}[0].{f.fields[0].name}" if f.kind == "rows"
                            else f"{name}.{f.fields[0].name}")
    return element_id(name)


def form_errors(form: StepForm, errors: list[dict[str, str]], posted: Posted | None = None) -> list[dict[str, Any]]:
    """The API's errors ({field: "actions[1].due_on", message}) on the form: `name` the form field
    (rows at their place on the page: the payload skips blank rows), `id` the field's id (where its
    message is shown), `anchor` the input the summary links to, `parts` a date's boxes to mark.
    In the form's order."""
    posted = posted or Posted({}, {})
    order = [path for path, _ in _walk(form.fields)]
    out = []
    for error in errors:
        api_path, message = str(error.get("field") or "body"), str(error.get("message") or "")
        # Back to the page's rows: payload index n is page row positions[list path][n].
        name, walked = "", ""
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", api_path):
            if part.startswith("["):
                n = int(part[1:-1])
                rows = posted.positions.get(walked)
                name += f"[{rows[n] if rows is not None and n < len(rows) else n}]"
                walked += "[]"
            else:
                name += f".{part}" if name else part
                walked += f".{part}" if walked else part
        pattern = walked
        f = _find(form, pattern)
        item = None
        if f is None and pattern.endswith("[]"):  # one item of a list of texts, or one row as a whole
            f, item = _find(form, pattern[:-2]), name
        if f is None:
            first = form.fields[0] if form.fields else None
            out.append({"field": api_path, "name": first.name if first else "", "message": message, "parts": None,
                        "id": element_id(first.name) if first else "main-content",
                        "anchor": _first_input(first, first.name) if first else "main-content", "rank": len(order)})
            continue
        parts = None
        if item is not None and f.kind == "texts":
            fid = anchor = element_id(item)
        elif item is not None and f.kind == "rows":
            sub = f.fields[0]
            fid = element_id(f"{item}.{sub.name}")
            anchor = _first_input(sub, f"{item}.{sub.name}")
        elif f.kind == "group" and f.switch:
            fid = anchor = element_id(f.switch)  # "A meeting is only arranged when...": the yes/no question
        elif f.kind == "texts":
            fid = element_id(name)
            anchor = _first_input(f, name)  # the list as a whole: its first box
        else:
            fid, anchor = element_id(name), _first_input(f, name)
        if f.kind == "date":
            message, parts = _date_message(f, name, message, posted)
        elif f.missing and _blank(posted.values.get(name)):
            message = f.missing  # nothing chosen: "Select ...", as GOV.UK radios say
        out.append({"field": api_path, "name": name, "id": fid, "anchor": anchor, "message": message, "parts": parts,
                    "rank": order.index(pattern) if pattern in order else order.index(pattern[:-2])
                    if pattern[:-2] in order else len(order)})
    out.sort(key=lambda e: (e["rank"], [int(n) for n in _INDEX.findall(e["name"])]))
    seen, unique = set(), []
    for e in out:  # one message per field (the error summary links each once)
        if e["id"] not in seen:
            seen.add(e["id"])
            unique.append({k: v for k, v in e.items() if k != "rank"})
    return unique


def _date_message(f: Field, name: str, message: str, posted: Posted) -> tuple[str, list[str] | None]:
    """A date's error as the GOV.UK pattern words it, naming the box that is wrong."""
    from .schemas import _label

    noun = f.noun or f.label
    problem = posted.date_problems.get(name)
    if problem is not None:
        return f"{noun} {problem[0]}", problem[1]
    if "real date" in message:
        return f"{noun} must be a real date", None
    api_label = _label((f.name,))
    if message.startswith(api_label + " "):
        return noun + message[len(api_label):], None
    return message, None


def row_count(f: Field, values: dict[str, str], prefix: str = "", extra: int = 0) -> int:
    """How many rows to show: what was posted (at least the blank ones a new form has), plus `extra`."""
    indexes = _indexes(values, f"{prefix}{f.name}")
    return min(ROW_LIMIT, max(f.blank_rows, (indexes[-1] + 1) if indexes else 0) + extra)


# ---------------------------------------------------------------- what the templates show


def add_row_target(action: str) -> str | None:
    """action=add_row (the actions: the button the outcome's and draft plan's forms have) or
    add_row:<list path> ("add_row:meeting.agencies"): which list gets one more blank row."""
    if action == "add_row":
        return "actions"
    if action.startswith("add_row:"):
        return action.split(":", 1)[1]
    return None


def views(form: StepForm, values: dict[str, str], errors: list[dict[str, Any]] = (), add_to: str | None = None
          ) -> dict[str, dict[str, Any]]:
    """Each top-level field of the form as the step macros render it: name, id, label, hint, the
    value typed, the error shown by it; lists with their rows (the posted ones, at least the blank
    ones a new form shows, one more in `add_to`)."""
    by_id = {e["id"]: e for e in errors}

    def view(f: Field, name: str) -> dict[str, Any]:
        fid = element_id(name)
        error = by_id.get(fid)
        out: dict[str, Any] = {"kind": f.kind, "name": name, "id": fid, "label": f.label, "hint": f.hint,
                               "options": list(f.options), "max_length": f.max_length, "classes": f.classes,
                               "error": error["message"] if error else None,
                               "parts": error["parts"] if error else None}
        if f.kind == "date":
            out["value"] = {p: values.get(f"{name}.{p}", "") for p in DATE_PARTS}
        elif f.kind == "texts":
            count = row_count(f, values, name[: -len(f.name)], 1 if add_to == name else 0)
            out["items"] = [{"name": f"{name}[{n}]", "id": f"{fid}-{n}", "label": f"{f.row_label} {n + 1}",
                             "value": values.get(f"{name}[{n}]", ""),
                             "error": (by_id.get(f"{fid}-{n}") or {}).get("message")} for n in range(count)]
            out["add_value"], out["add_label"] = f"add_row:{name}", f.add_label
            out["full"] = count >= ROW_LIMIT
        elif f.kind == "rows":
            count = row_count(f, values, name[: -len(f.name)], 1 if add_to == name else 0)
            out["rows"] = [{"legend": f"{f.row_label} {n + 1}",
                            "fields": {s.name: view(s, f"{name}[{n}].{s.name}") for s in f.fields}} for n in range(count)]
            out["add_value"] = "add_row" if name == "actions" else f"add_row:{name}"
            out["add_label"], out["full"] = f.add_label, count >= ROW_LIMIT
        elif f.kind == "group":
            out["fields"] = {s.name: view(s, f"{name}.{s.name}") for s in f.fields}
            if f.switch:
                # A checkbox, not yes/no radios: GOV.UK's conditional reveal sets aria-expanded on the
                # input it opens from, which ARIA allows on a checkbox but not on a radio (axe).
                out["switch"] = view(Field(f.switch, "check", f.label, hint=f.hint, options=(
                    ("yes", "The meeting has been arranged"),)), f.switch)
        elif f.kind == "check":
            out["value"] = [values[name]] if values.get(name) else []
        else:
            out["value"] = values.get(name, "")
        return out

    return {f.name: view(f, f.name) for f in form.fields}


def hidden_values(values: dict[str, str]) -> list[tuple[str, str]]:
    """The typed values the preview page carries to Send and Change (blank ones are no answer)."""
    return sorted((k, v) for k, v in values.items() if isinstance(v, str) and v.strip())


def summary_rows(form: StepForm, payload: dict[str, Any]) -> list[dict[str, str]]:
    """What was entered, in words, for the preview page: label -> the answer (options by their labels)."""
    from markupsafe import Markup, escape

    from .letters import long_date

    rows: list[dict[str, str]] = []

    def say(f: Field, value: Any) -> str:
        if f.kind == "date":
            try:
                from datetime import date

                return long_date(date.fromisoformat(str(value)))
            except ValueError:
                return str(value)
        if f.kind == "bool":
            return "Yes" if value else "No"
        if f.options:
            return dict(f.options).get(str(value), str(value))
        return str(value)

    def add(fields: Iterable[Field], data: dict[str, Any], prefix: str) -> None:
        for f in fields:
            value = data.get(f.name)
            if value in (None, "", []):
                continue
            label = f"{prefix}{f.label}"
            if f.kind == "texts":
                # One per line, each escaped: the joined value is shown as HTML.
                rows.append({"key": label, "value": Markup("<br>").join(escape(str(v)) for v in value)})
            elif f.kind == "rows":
                for n, row in enumerate(value, start=1):
                    add(f.fields, row, f"{f.row_label} {n}: ")
            elif f.kind == "group":
                add(f.fields, value, f"{prefix}{f.label}: " if not f.switch else prefix)
            else:
                rows.append({"key": label, "value": say(f, value)})

    add(form.fields, payload, "")
    return rows
