"""The application as it arrives (Derbyshire form Q1-Q10 plus Dacorum's contact fields), and
its validation into plain-words errors: every problem at once, each naming its field.

Field names are the JSON keys; error fields are paths like `incidents[2].reported_on`, which
the static form maps to its inputs.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from .inputs import MAX_BODY_BYTES, MAX_ROWS as MAX_INCIDENTS  # one home for the limits
SHORT = 100
MEDIUM = 2000
LONG = 5000


# ---------------------------------------------------------------- field types


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(value: Any, info: ValidationInfo) -> date:
    if value is None or (isinstance(value, str) and not value.strip()):
        # An empty date input: ask for the date rather than for a different way of writing it.
        raise PydanticCustomError("missing", "Field required")
    if isinstance(value, date):
        parsed = value
    else:
        if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
            raise PydanticCustomError("date_format", "must be a date written as year-month-day, for example 2026-03-27")
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("date_real", "must be a real date, for example 2026-03-27") from None
    today = (info.context or {}).get("today")
    if today is not None and parsed > today:
        raise PydanticCustomError("date_future", "must be today or in the past")
    if parsed.year < 2000:
        raise PydanticCustomError("date_old", "must be after the year 2000")
    return parsed


_PHONE_CHARS = re.compile(r"[\s().-]")


def _uk_phone(value: str) -> str:
    digits = _PHONE_CHARS.sub("", value)
    # International form, also as commonly written with the trunk zero kept: +44 (0)20 ...
    if digits.startswith("+44"):
        digits = "0" + digits[3:].removeprefix("0")
    elif digits.startswith("0044"):
        digits = "0" + digits[4:].removeprefix("0")
    if not re.fullmatch(r"0\d{9,10}", digits):
        raise PydanticCustomError("phone", "must be a UK phone number, like 01632 960 001 or 07700 900 982")
    return digits


# Royal Mail format (outward code + inward code); BFPO and overseas addresses are entered by staff.
_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}\d[A-Z\d]?\d[ABD-HJLNP-UW-Z]{2})$")


def _uk_postcode(value: str) -> str:
    compact = re.sub(r"\s", "", value.upper())
    if not _POSTCODE.match(compact):
        raise PydanticCustomError("postcode", "must be a full UK postcode, like SW1A 1AA")
    return f"{compact[:-3]} {compact[-3:]}"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    # email-validator checks the syntax properly (quoted parts, IDNs); no DNS look-up here.
    from email_validator import EmailNotValidError, validate_email

    if not _EMAIL.match(value):
        raise PydanticCustomError("email", "must be written like name@example.com")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise PydanticCustomError("email", "must be written like name@example.com") from None


# Never in any text: control characters other than tab and newlines, unpaired surrogates (which
# JSON can carry as \ud800 but nothing can store or print), and the two non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Not in names, addresses and other one-line answers: line breaks, tabs, and the characters that
# reverse or embed text direction (they make a name print differently from what it is).
_NOT_ON_ONE_LINE = re.compile("[\t\n\r\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_TEXT_PROBLEMS = 20


def _one_line(value: Any) -> Any:
    if isinstance(value, str) and _NOT_ON_ONE_LINE.search(value):
        raise PydanticCustomError("one_line", "must be on one line, without tabs or characters that change the text's direction")
    return value


def text_problems(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in what was sent, at any depth (keys too), checked for characters that cannot
    be used. Run before the model, so the same check covers JSON and form posts."""
    problems: list[tuple[str, str]] = []

    def walk(node: Any, at: str) -> None:
        if len(problems) >= MAX_TEXT_PROBLEMS:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{at}.{key}" if at else str(key)
                if isinstance(key, str) and _CONTROL.search(key):
                    problems.append((at or "body", "A field name contains a control character"))
                    continue
                walk(value, where)
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{at}[{n}]")
        elif isinstance(node, str) and _CONTROL.search(node):
            problems.append((at or "body", "This answer contains a character that cannot be used (a control "
                                           "character or a broken one); remove it"))

    walk(data, path)
    return problems


def _text(max_length: int) -> Any:
    if max_length <= SHORT:  # names, addresses and other one-line answers
        return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_one_line)]
    return Annotated[str, Field(min_length=1, max_length=max_length)]


def _optional_text(max_length: int) -> Any:
    # The length limit comes before the validator so it applies to the text only: after it, it
    # would also be applied to the None a blank answer becomes, and crash.
    if max_length <= SHORT:
        return Annotated[str | None, Field(default=None, max_length=max_length), BeforeValidator(_blank_to_none),
                         AfterValidator(_one_line)]
    return Annotated[str | None, Field(default=None, max_length=max_length), BeforeValidator(_blank_to_none)]


def _optional_past_date(value: Any, info: ValidationInfo) -> date | None:
    value = _blank_to_none(value)
    return None if value is None else _parse_date(value, info)


PastDate = Annotated[date, BeforeValidator(_parse_date)]
OptionalPastDate = Annotated[date | None, BeforeValidator(_optional_past_date)]
Phone = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(lambda v: v and _uk_phone(v))]
Postcode = Annotated[str, AfterValidator(_uk_postcode)]
Email = Annotated[str | None, Field(default=None, max_length=254), BeforeValidator(_blank_to_none),
                  AfterValidator(lambda v: v and _email(v))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- the application


class Address(_Model):
    line1: _text(SHORT)
    line2: _optional_text(SHORT)
    town: _text(SHORT)
    postcode: Postcode


class Contact(_Model):
    name: _text(SHORT)
    address: Address  # required (Derbyshire Q2/Q3): anonymous applications are refused, and letters can always be posted
    daytime_phone: Phone = None
    mobile_phone: Phone = None
    email: Email
    preferred_contact: Annotated[Literal["email", "phone", "post"] | None, BeforeValidator(_blank_to_none)] = None


class Victim(Contact):
    type: Literal["individual", "business", "community_group"] = "individual"
    tenure: Annotated[Literal["owner_occupier", "private_tenant", "council_tenant", "housing_association_tenant", "other"] | None, BeforeValidator(_blank_to_none)] = None
    tenure_other: _optional_text(SHORT)
    landlord: _optional_text(SHORT)


class Applicant(Contact):
    relationship: Literal["family", "friend", "carer", "councillor", "mp", "professional", "other"]
    organisation: _optional_text(SHORT)


class Incident(_Model):
    happened_on: PastDate
    description: _text(MEDIUM)
    reported_by: _text(SHORT)
    reported_on: PastDate
    reported_to: _text(SHORT)
    how_reported: Literal["writing", "email", "phone", "in_person", "online", "officer_on_site"]
    officer_type: Annotated[Literal["police_officer", "pcso", "council_officer", "housing_officer", "other"] | None, BeforeValidator(_blank_to_none)] = None
    agency_reference: _optional_text(50)
    hate_motivated: bool = False


class Equalities(_Model):
    """Optional monitoring questions. Stored apart from the case and never shared with partners."""

    gender: _optional_text(SHORT)
    age_band: _optional_text(SHORT)
    sexual_orientation: _optional_text(SHORT)
    religion: _optional_text(SHORT)
    disability: _optional_text(MEDIUM)
    ethnicity: _optional_text(SHORT)


class AsbLocation(_Model):
    """Where the behaviour happens, when it is not at the victim's address. Links applications
    about the same place for the several-complainants rule."""

    description: _optional_text(SHORT)
    postcode: Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(lambda v: v and _uk_postcode(v))] = None


class ApplicationIn(_Model):
    area: _text(SHORT)
    basis: Literal["victim", "on_behalf"]
    applicant: Applicant | None = None
    victim: Victim
    summary: _text(MEDIUM)
    asb_location: AsbLocation | None = None
    incidents: Annotated[list[Incident], Field(min_length=1, max_length=MAX_INCIDENTS)]
    impact: _optional_text(LONG)
    action_taken: _optional_text(LONG)
    outcome_sought: _optional_text(LONG)
    special_circumstances: _optional_text(LONG)
    other_information: _optional_text(LONG)
    declaration: bool
    information_sharing_consent: bool
    victim_consent: Annotated[Literal["given", "to_follow"] | None, BeforeValidator(_blank_to_none)] = None
    keep_informed: bool = True
    equalities: Equalities | None = None

    @property
    def on_behalf(self) -> bool:
        return self.basis == "on_behalf"

    @property
    def matter_postcode(self) -> str:
        if self.asb_location and self.asb_location.postcode:
            return self.asb_location.postcode
        return self.victim.address.postcode

    @property
    def correspondent(self) -> Contact:
        """Who the letters are addressed to: the applicant when acting for the victim."""
        return self.applicant if self.on_behalf and self.applicant else self.victim


# ---------------------------------------------------------------- errors in plain words

# What to say when a required answer is missing, by path (list indexes written as *).
_MISSING = {
    "area": "Choose the area where the anti-social behaviour is happening",
    "basis": "Say whether you are the person affected or applying on their behalf",
    "victim": "Enter the details of the person affected by the anti-social behaviour",
    "victim.name": "Enter the full name of the person affected",
    "victim.address": "Enter the address of the person affected",
    "applicant.address": "Enter your address",
    "applicant.name": "Enter your full name",
    "applicant.relationship": "Say how you know the person affected",
    "summary": "Describe briefly the anti-social behaviour you want reviewed",
    "incidents": "Give at least one incident you reported",
    "incidents.*.happened_on": "Enter the date the incident happened",
    "incidents.*.description": "Describe what happened",
    "incidents.*.reported_by": "Enter who reported the incident",
    "incidents.*.reported_on": "Enter the date the incident was reported",
    "incidents.*.reported_to": "Enter who the incident was reported to",
    "incidents.*.how_reported": "Say how the incident was reported",
    "declaration": "Confirm that the information is correct to the best of your knowledge",
    "information_sharing_consent": "Confirm you understand the agencies will share information to review the case",
}
_LEAF_MISSING = {
    "line1": "Enter the first line of the address",
    "town": "Enter the town or city",
    "postcode": "Enter the postcode",
}
_LABELS = {
    "happened_on": "The date the incident happened",
    "reported_on": "The date the incident was reported",
    "daytime_phone": "The daytime phone number",
    "mobile_phone": "The mobile phone number",
    "email": "The email address",
    "postcode": "The postcode",
    "how_reported": "How the incident was reported",
    "preferred_contact": "How you would like us to contact you",
    "type": "The kind of victim",
    "tenure": "The type of home",
    "relationship": "How you know the person affected",
    "basis": "Who is applying",
    "victim_consent": "The victim's consent",
    "officer_type": "The kind of officer",
}
_ANONYMOUS = {"anon", "anonymous", "n/a", "na", "none", "unknown", "withheld", "not given",
              "prefer not to say", "-", "x", "xx", "xxx", "no name"}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pattern(loc: tuple[Any, ...]) -> str:
    return ".".join("*" if isinstance(p, int) else str(p) for p in loc)


def _label(loc: tuple[Any, ...]) -> str:
    if loc and isinstance(loc[-1], int):  # a list item: "Item 5 of incidents", not "4"
        parent = str(loc[-2]).replace("_", " ") if len(loc) > 1 else "the list"
        return f"Item {loc[-1] + 1} of {parent}"
    leaf = str(loc[-1]) if loc else "This answer"
    return _LABELS.get(leaf, leaf.replace("_", " ").capitalize())


def _message(error: dict[str, Any]) -> str:
    loc, kind, ctx = error["loc"], error["type"], error.get("ctx") or {}
    missing = kind in ("missing", "string_too_short", "too_short") or (kind in ("string_type", "model_type", "list_type") and error.get("input") is None)
    if missing:
        pattern = _pattern(loc)
        return _MISSING.get(pattern) or _LEAF_MISSING.get(str(loc[-1])) or f"Enter {_label(loc).lower()}"
    if kind == "string_too_long":
        return f"{_label(loc)} must be {ctx.get('max_length')} characters or fewer"
    if kind == "too_long":
        return f"Give no more than {ctx.get('max_length')} items here"
    if kind == "literal_error":
        return f"{_label(loc)} must be one of: {ctx.get('expected', '').replace(chr(39), '')}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{_label(loc)} must be true or false"
    if kind == "extra_forbidden":
        return "This is not a question on the application form; remove it"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{_label(loc)} must be a group of answers (a JSON object)"
    if kind == "list_type":
        return f"{_label(loc)} must be a list"
    if kind == "string_type":
        return f"{_label(loc)} must be text"
    # Our own checks (dates, phone, postcode, email) already speak plainly.
    return f"{_label(loc)} {error['msg']}" if error["msg"][:1].islower() else error["msg"]


def _is_anonymous(name: Any) -> bool:
    return isinstance(name, str) and " ".join(name.casefold().split()).strip(".") in _ANONYMOUS


def _cross_field_problems(data: dict[str, Any], today: date, areas: set[str]) -> list[tuple[str, str]]:
    """Checks that span fields. They read the raw input defensively so they run even when other
    fields are wrong: the applicant sees every problem at once."""
    problems: list[tuple[str, str]] = []
    area = data.get("area")
    if isinstance(area, str) and area.strip() and area.strip() not in areas:
        problems.append(("area", f"We do not run the Community Trigger for area '{area.strip()}'; choose one of: {', '.join(sorted(areas))}"))

    on_behalf = data.get("basis") == "on_behalf"
    victim = data.get("victim") if isinstance(data.get("victim"), dict) else {}
    applicant = data.get("applicant") if isinstance(data.get("applicant"), dict) else None
    if on_behalf:
        if applicant is None:
            problems.append(("applicant", "Enter your own details, as you are applying on behalf of someone else"))
        if data.get("victim_consent") in (None, ""):
            problems.append(("victim_consent", "Say whether the person affected has given consent, or it will follow"))

    for who, person in (("victim", victim), ("applicant", applicant if on_behalf else None)):
        if not person:
            continue
        if _is_anonymous(person.get("name")):
            problems.append((f"{who}.name", "We cannot accept anonymous applications: enter a real name"))
    # Letters go to the applicant when acting for the victim; without an applicant there is nobody to check.
    correspondent, who = (applicant, "applicant") if on_behalf else (victim, "victim")
    if correspondent:
        # A blank or all-spaces answer is no answer (the model turns it into None).
        has = {k: bool(_blank_to_none(correspondent.get(k))) for k in ("address", "email", "daytime_phone", "mobile_phone")}
        preferred = correspondent.get("preferred_contact")
        if preferred in (None, ""):
            problems.append((f"{who}.preferred_contact", "Say how you would like us to contact you: email, phone or post"))
        elif preferred == "email" and not has["email"]:
            problems.append((f"{who}.email", "Enter an email address, as you asked to be contacted by email"))
        elif preferred == "post" and not has["address"]:
            problems.append((f"{who}.address", "Enter a postal address, as you asked to be contacted by post"))
        elif preferred == "phone" and not (has["daytime_phone"] or has["mobile_phone"]):
            problems.append((f"{who}.daytime_phone", "Enter a phone number, as you asked to be contacted by phone"))

    if data.get("declaration") is False:
        problems.append(("declaration", _MISSING["declaration"]))
    if data.get("information_sharing_consent") is False:
        problems.append(("information_sharing_consent", _MISSING["information_sharing_consent"]))

    incidents = data.get("incidents")
    for i, incident in enumerate(incidents if isinstance(incidents, list) else []):
        if not isinstance(incident, dict):
            continue
        happened, reported = _quiet_date(incident.get("happened_on")), _quiet_date(incident.get("reported_on"))
        if happened and reported and reported < happened:
            problems.append((f"incidents[{i}].reported_on", "The date reported must be on or after the date the incident happened"))
    return problems


def _quiet_date(value: Any) -> date | None:
    # Read exactly as the field is (stripped, year-month-day only): date.fromisoformat alone
    # skips " 2026-01-05 " and accepts "20260105", which the field itself refuses.
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


class InvalidInput(Exception):
    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s)")


class ApplicationInvalid(InvalidInput):
    pass


class ReturnInvalid(InvalidInput):
    pass


def _validate(model: type[BaseModel], data: Any, today: date, cross: list[tuple[str, str]],
              error: type[InvalidInput]) -> Any:
    """The model's own checks plus the cross-field ones, every problem at once, no duplicates."""
    if not isinstance(data, dict):
        raise error([{"field": "body", "message": "Send the answers as a JSON object"}])
    problems: list[tuple[str, str]] = text_problems(data)
    if problems:  # say what is wrong with the characters first; the model would only add noise
        raise error([{"field": f, "message": m} for f, m in dict.fromkeys(problems)])
    result = None
    try:
        result = model.model_validate(data, context={"today": today})
    except ValidationError as exc:
        problems.extend((_path(e["loc"]), _message(e)) for e in exc.errors())
    problems.extend(cross)
    errors = [{"field": f, "message": m} for f, m in dict.fromkeys(problems)]
    if errors or result is None:
        raise error(errors)
    return result


def validate_application(data: Any, *, today: date, areas: set[str]) -> ApplicationIn:
    """Return the valid application, or raise ApplicationInvalid listing every problem."""
    if not isinstance(data, dict):
        raise ApplicationInvalid([{"field": "body", "message": "Send the application as a JSON object"}])
    return _validate(ApplicationIn, data, today, _cross_field_problems(data, today, areas), ApplicationInvalid)


# ---------------------------------------------------------------- a partner agency's return

YesNo = Annotated[Literal["yes", "no"], BeforeValidator(lambda v: {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else v)]


class PartnerReport(_Model):
    """One ASB report the agency holds (Derbyshire appendix E, Hart partner agency response)."""

    reference: _optional_text(50)
    date_received: PastDate
    incident_date: OptionalPastDate = None
    reporting_party: _text(SHORT)
    perpetrator: _optional_text(200)
    overview: _text(MEDIUM)
    how_received: Annotated[Literal["writing", "email", "phone", "in_person", "online", "officer_on_site"] | None,
                            BeforeValidator(_blank_to_none)] = None
    hate_motivated: bool = False
    action_taken: YesNo
    action_detail: _text(MEDIUM)


class PartnerReturnIn(_Model):
    responder_name: _text(SHORT)
    responder_role: _optional_text(SHORT)
    reports_held: YesNo
    under_investigation: YesNo
    vulnerability_markers: YesNo
    risk_assessments: YesNo
    reports: Annotated[list[PartnerReport], Field(max_length=MAX_INCIDENTS)] = []
    additional_information: _optional_text(LONG)


_MISSING.update({
    "responder_name": "Enter your name",
    "reports_held": "Say whether you hold ASB reports or complaints from the named people",
    "under_investigation": "Say whether any ASB complaints are being investigated",
    "vulnerability_markers": "Say whether you hold vulnerability markers or flags",
    "risk_assessments": "Say whether you hold completed risk assessments",
    "reports.*.date_received": "Enter the date the report was received",
    "reports.*.reporting_party": "Enter who made the report",
    "reports.*.overview": "Describe the report briefly",
    "reports.*.action_taken": "Say whether any action was taken",
    "reports.*.action_detail": "Describe the action taken, or why none was taken",
})
_LABELS.update({
    "date_received": "The date the report was received",
    "incident_date": "The date of the incident",
    "action_taken": "Whether action was taken",
    "how_received": "How the report was received",
})


def _return_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    reports = data.get("reports") if isinstance(data.get("reports"), list) else []
    if data.get("reports_held") in ("yes", True) and not reports:
        problems.append(("reports", "You said you hold reports: give at least one"))
    for i, report in enumerate(reports):
        if not isinstance(report, dict):
            continue
        received, happened = _quiet_date(report.get("date_received")), _quiet_date(report.get("incident_date"))
        if received and happened and received < happened:
            problems.append((f"reports[{i}].date_received", "The date received must be on or after the date of the incident"))
    return problems


def validate_return(data: Any, *, today: date) -> PartnerReturnIn:
    problems = _return_problems(data) if isinstance(data, dict) else []
    return _validate(PartnerReturnIn, data, today, problems, ReturnInvalid)
