"""An area's local Community Trigger policy, loaded from a TOML file under policies/.

Each Community Safety Partnership publishes its own procedure, so nothing about an area
is hard-coded: identity, contacts, threshold rules, timescales and the letter set all come
from its file. A file the law forbids (section 104 of the Anti-social Behaviour, Crime and
Policing Act 2014) is refused with a message naming the file and the field.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Iterable, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .calendar import NATIONS

# Statutory ceilings (s.104 and Schedule 4): an area may ask for fewer complaints, a shorter
# qualifying period or a shorter look-back, never more.
MAX_COMPLAINTS_NEEDED = 3
MAX_QUALIFYING_MONTHS = 1
MAX_QUALIFYING_DAYS = 31
MAX_LOOKBACK_MONTHS = 6

# The stages from the completed application to the findings, which findings_max limits, in order.
FINDINGS_STAGES = ("threshold_decision", "review_meeting", "outcome_letter")

# Every step at which a letter may be sent; a policy names the template for each step it uses.
LETTER_STEPS = (
    "acknowledgement",
    "consent_required",
    "victim_confirmation",
    "threshold_not_met",
    "threshold_met",
    "meeting_arranged",
    "outcome",
    "outcome_no_further_action",
    "outcome_actions",
    "closed",
    "withdrawn",
    "rejected",
    "appeal_acknowledgement",
    "appeal_decision",
    "draft_plan",
    "update",
    "agency_review_started",
)
# The steps the foundation sends automatically at intake: every policy must name these.
REQUIRED_LETTER_STEPS = ("acknowledgement", "consent_required", "victim_confirmation")

# Steps whose letter is sent for the appeals body: signed by it unless the policy names a signatory.
APPEAL_LETTER_STEPS = ("appeal_acknowledgement", "appeal_decision")

# Domains that can never belong to anyone (RFC 2606, RFC 6761): the only place an example
# address may live, so that an example can never be mistaken for, or delivered to, a real mailbox.
RESERVED_TLDS = ("example", "invalid", "test", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
EXAMPLE_ADDRESS_NOTE = "example address: the council sets its own"
EXAMPLE_NAME_NOTE = "example name: the council sets its own"
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def is_example_address(address: str) -> bool:
    """True for an address on a reserved domain (a@derbyshire.example, a@example.org, a@x.test)."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    return domain.rpartition(".")[2] in RESERVED_TLDS or any(
        domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
AreaId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]


class PolicyError(Exception):
    """A policy file that cannot be used. str() names the file and every bad field."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: {field}: {message}" for field, message in problems]
        super().__init__("Invalid area policy\n  " + "\n  ".join(lines))


class _Strict(BaseModel):
    # Unknown keys are refused so a typo ("complaints_neded") cannot silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    """A span of time stated either in working days, calendar days or calendar months."""

    working_days: int | None = Field(default=None, ge=1, le=250)
    calendar_days: int | None = Field(default=None, ge=1, le=400)
    months: int | None = Field(default=None, ge=1, le=24)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Period":
        given = [n for n in ("working_days", "calendar_days", "months") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of working_days, calendar_days or months")
        return self

    def describe(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        if self.calendar_days is not None:
            return f"{self.calendar_days} day{'s' if self.calendar_days != 1 else ''}"
        return f"{self.months} month{'s' if self.months != 1 else ''}"


class Area(_Strict):
    id: AreaId
    name: Text
    csp_name: Text
    nation: str = Field(description="ENG, WLS, SCT or NIR: picks the bank-holiday calendar")
    closure_days: tuple[date, ...] = ()
    reporting_year: Literal["financial", "calendar"] = "financial"
    retention_years: int = Field(default=6, ge=1, le=20)
    council_website: Text | None = None
    privacy_notice_url: Text | None = None

    @field_validator("nation")
    @classmethod
    def _known_nation(cls, value: str) -> str:
        if value not in NATIONS:
            raise ValueError(f"unknown nation {value!r}: use one of {', '.join(NATIONS)}")
        return value


class Contacts(_Strict):
    spoc_title: Text
    spoc_email: EmailStr
    spoc_phone: Text | None = None
    spoc_address: Text | None = None
    sender_email: EmailStr
    police_non_emergency: Text
    council_asb_contact: Text | None = None
    victim_support: Text


class Appeals(_Strict):
    body: Text
    address: Text | None = None
    email: EmailStr | None = None
    website: Text | None = None
    window: Period = Period(calendar_days=28)
    acknowledge: Period = Period(working_days=1)
    decide: Period = Period(working_days=20)


class Threshold(_Strict):
    complaints_needed: int = Field(default=3, ge=1)
    qualifying_period: Period = Period(months=1)
    lookback_months: int = Field(default=6, ge=1)
    # Reports to an officer met on site: "police_only" counts them only when made to a police
    # officer or PCSO on duty (Derbyshire); "any" counts every on-site report.
    on_site_reports: Literal["police_only", "any"] = "police_only"
    # A hate incident or hate crime route (Hart, Gloucestershire: one is enough): how many
    # qualifying complaints about hate incidents, on separate occasions, meet the threshold.
    # Unset: no such route. At most three, like the complaints route it stands beside.
    hate_incidents_needed: int | None = Field(default=None, ge=1, le=MAX_COMPLAINTS_NEEDED)
    # At least one qualifying incident reported within this many months before applying (Gloucestershire).
    recent_report_months: int | None = Field(default=None, ge=1, le=6)
    # Several individuals separately reporting similar ASB within the look-back (Dacorum: 3).
    separate_complainants_needed: int | None = Field(default=None, ge=2, le=10)
    senior_officer_discretion: bool = False

    @model_validator(mode="before")
    @classmethod
    def _old_hate_switch(cls, data: object) -> object:
        # The boolean this count replaced: say what to write instead of "Extra inputs are not permitted".
        if isinstance(data, dict) and "single_hate_incident" in data:
            raise ValueError("single_hate_incident is replaced by hate_incidents_needed: write "
                             "hate_incidents_needed = 1 for a route where one hate incident is enough, "
                             "or leave it out for no hate-incident route")
        return data

    @field_validator("complaints_needed")
    @classmethod
    def _at_most_three(cls, value: int) -> int:
        if value > MAX_COMPLAINTS_NEEDED:
            raise ValueError(
                f"is {value}, but section 104 allows an area to require at most "
                f"{MAX_COMPLAINTS_NEEDED} complaints"
            )
        return value

    @field_validator("qualifying_period")
    @classmethod
    def _within_one_month(cls, value: Period) -> Period:
        if value.working_days is not None:
            raise ValueError("state the qualifying period in calendar days or months, not working days")
        if (value.months or 0) > MAX_QUALIFYING_MONTHS or (value.calendar_days or 0) > MAX_QUALIFYING_DAYS:
            raise ValueError(
                f"is {value.describe()}, but a qualifying complaint must be made within one month "
                "of the behaviour (section 104)"
            )
        return value

    @field_validator("lookback_months")
    @classmethod
    def _within_six_months(cls, value: int) -> int:
        if value > MAX_LOOKBACK_MONTHS:
            raise ValueError(
                f"is {value} months, but the application must be within six months of the complaints (section 104)"
            )
        return value


class Timescales(_Strict):
    acknowledge: Period = Period(working_days=5)
    partner_return: Period = Period(working_days=10)
    threshold_decision: Period = Period(working_days=15)
    review_meeting: Period = Period(working_days=20)
    outcome_letter: Period = Period(working_days=5)
    action_escalate_line_manager: Period = Period(calendar_days=21)
    action_escalate_head_of_service: Period = Period(months=2)
    partner_link_grace: Period = Period(working_days=10)
    # How long the applicant and victim have to give their views on the draft action plan.
    draft_plan_response: Period = Period(working_days=5)
    # The most an area promises from the completed application to the findings, i.e. the outcome
    # letter (Folkestone & Hythe: "a maximum 25 working days"). Every stage's due date is capped
    # at it (chalicelib.domain.case.stage_due). Unset: each stage has only its own timescale.
    findings_max: Period | None = None

    @field_validator("findings_max")
    @classmethod
    def _stages_fit(cls, value: Period | None, info: ValidationInfo) -> Period | None:
        if value is None:
            return value
        if value.working_days is None:
            raise ValueError(f"is {value.describe()}: state findings_max in working days, so the stages it "
                             "limits can be checked against it")
        stages = [info.data.get(name) for name in FINDINGS_STAGES]
        if any(stage is None for stage in stages):
            return value  # a stage already failed validation and is reported on its own
        if any(stage.working_days is None for stage in stages):
            raise ValueError("with findings_max set, give " + ", ".join(FINDINGS_STAGES) + " in working days, so "
                             "they can be checked to fit inside it")
        days = [stage.working_days for stage in stages]
        if sum(days) > value.working_days:
            raise ValueError(
                f"is {value.describe()}, but {' + '.join(FINDINGS_STAGES)} take "
                f"{' + '.join(str(d) for d in days)} = {sum(days)} working days, so the findings could not be "
                f"sent within it: shorten those stages to fit {value.working_days} working days in all")
        return value


class AssessmentMeeting(_Strict):
    """A standing meeting that assesses applications (Dacorum's monthly CSAG)."""

    name: Text
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
    week_of_month: int = Field(ge=1, le=4)


class PartnerBody(_Strict):
    name: Text
    kind: Literal["police", "council", "housing", "health", "youth_offending", "other"]
    email: EmailStr
    # Other names applicants use for this body ("Hampshire police", "101"), to recognise it in incidents.
    aliases: tuple[Text, ...] = ()


class Signatory(_Strict):
    """Who signs a letter. The body defaults to the area's partnership, or to the appeals body
    for appeal letters."""

    name: Text | None = None
    role: Text | None = None
    body: Text | None = None

    @model_validator(mode="after")
    def _something_to_sign(self) -> "Signatory":
        if self.name is None and self.role is None and self.body is None:
            raise ValueError("give a name, a role or a body for the signatory")
        return self


@dataclass(frozen=True)
class Signature:
    """The signatory resolved for one letter, as the layouts print it."""

    name: str | None
    role: str | None
    body: str
    name_is_example: bool = False
    role_is_example: bool = False


class Policy(_Strict):
    area: Area
    contacts: Contacts
    appeals: Appeals
    threshold: Threshold = Threshold()
    timescales: Timescales = Timescales()
    letters: dict[str, str]
    # "default" signs every letter; a letter step may name its own signatory.
    signatories: dict[str, Signatory]
    partners: tuple[PartnerBody, ...] = ()
    assessment_meeting: AssessmentMeeting | None = None
    # Dotted field names whose value is a statutory or Derbyshire default, not stated by the area.
    defaults_used: tuple[str, ...] = ()
    # Dotted field names (or a prefix: "partners") whose values are examples, not the area's own:
    # shown labelled as examples, and allowed (required) to use reserved example domains.
    examples: tuple[str, ...] = ()
    source: Text | None = None

    @field_validator("letters")
    @classmethod
    def _letter_steps(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(LETTER_STEPS))
        if unknown:
            raise ValueError(f"unknown letter step(s) {', '.join(unknown)}: use {', '.join(LETTER_STEPS)}")
        missing = [s for s in REQUIRED_LETTER_STEPS if s not in value]
        if missing:
            raise ValueError(f"missing letter step(s) {', '.join(missing)}")
        return value

    @field_validator("signatories")
    @classmethod
    def _signatory_steps(cls, value: dict[str, Signatory]) -> dict[str, Signatory]:
        unknown = sorted(set(value) - {"default", *LETTER_STEPS})
        if unknown:
            raise ValueError(f"unknown letter step(s) {', '.join(unknown)}: use default or {', '.join(LETTER_STEPS)}")
        if "default" not in value:
            raise ValueError("give a default signatory: default = { name = ..., role = ... }")
        return value

    @model_validator(mode="after")
    def _defaults_name_real_fields(self) -> "Policy":
        for dotted in self.defaults_used:
            if not _has_field(self, dotted):
                raise ValueError(f"defaults_used names {dotted!r}, which is not a policy field")
        return self

    @property
    def id(self) -> str:
        return self.area.id

    def letter_template(self, step: str) -> str | None:
        return self.letters.get(step)

    def is_example(self, dotted: str) -> bool:
        """Whether the field (or a section holding it) is marked as an example."""
        return any(dotted == e or dotted.startswith(e + ".") for e in self.examples)

    def signatory_for(self, step: str | None) -> Signature:
        """Who signs the letter for this step: the step's own signatory, else (for appeal
        letters) the appeals body, else the default."""
        key = step if step in self.signatories else None
        if key is None and step in APPEAL_LETTER_STEPS:
            return Signature(name=None, role=None, body=self.appeals.body)
        key = key or "default"
        chosen = self.signatories[key]
        fallback = self.appeals.body if step in APPEAL_LETTER_STEPS else self.area.csp_name
        return Signature(
            name=chosen.name, role=chosen.role, body=chosen.body or fallback,
            name_is_example=chosen.name is not None and self.is_example(f"signatories.{key}.name"),
            role_is_example=chosen.role is not None and self.is_example(f"signatories.{key}.role"),
        )


def _walk(node: object, path: str = ""):
    """(dotted path, value) for every leaf value of a policy, lists indexed from 0 (partners.1.email)."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (tuple, list)):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}.{i}")
    else:
        yield path, node


def _has_field(policy: BaseModel, dotted: str) -> bool:
    node: object = policy
    for part in dotted.split("."):
        if isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (tuple, list)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def example_problems(policy: Policy) -> list[tuple[str, str]]:
    """Why a policy's example markings cannot be trusted, as (field, message). The rules make an
    invented address on a real domain impossible to load unnoticed: a placeholder address must be
    an example; an example must be on a reserved domain; a reserved domain must be marked."""
    problems = [("examples", f"names {e!r}, which is not a policy field") for e in policy.examples
                if not _has_field(policy, e)]
    for path, value in _walk(policy):
        if not isinstance(value, str) or path.split(".")[0] in ("source", "defaults_used", "examples"):
            continue
        placeholder = any(path == d or path.startswith(d + ".") for d in policy.defaults_used)
        example = policy.is_example(path)
        for address in (m.group(0) for m in _ADDRESS.finditer(value)):
            reserved = is_example_address(address)
            if example and not reserved:
                problems.append((path, f"is marked as an example in examples, but {address!r} is on a real domain: "
                                       "an example address must use a reserved domain (for example "
                                       f"{address.partition('@')[0]}@{policy.id}.example) so it can never reach a real mailbox"))
            elif reserved and not example:
                why = " and a placeholder in defaults_used" if placeholder else ""
                problems.append((path, f"{address!r} is an example address on a reserved domain{why}: list {path!r} "
                                       "in examples so that every page and letter labels it, or give the area's real address"))
            elif placeholder and not example:
                problems.append((path, f"is listed in defaults_used as a placeholder, so {address!r} is not an address "
                                       "the area published: give the area's real address and remove it from "
                                       f"defaults_used, or use an example address (such as {address.partition('@')[0]}"
                                       f"@{policy.id}.example) and list {path!r} in examples"))
    return problems

def _problems(error: ValidationError) -> list[tuple[str, str]]:
    out = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(file)"
        message = item["msg"].removeprefix("Value error, ")
        out.append((field, message))
    return out


def parse_policy(text: str, path: str, known_templates: Iterable[str]) -> Policy:
    """Parse and check one policy file's text. Raises PolicyError naming the file and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, [("(file)", f"not valid TOML: {exc}")]) from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(path, _problems(exc)) from None
    templates = set(known_templates)
    bad = [
        (f"letters.{step}", f"unknown letter template {name!r}")
        for step, name in policy.letters.items()
        if name not in templates
    ]
    bad += example_problems(policy)
    expected_id = Path(path).stem
    if policy.area.id != expected_id:
        bad.append(("area.id", f"is {policy.area.id!r} but the file is named {expected_id!r}"))
    if bad:
        raise PolicyError(path, bad)
    return policy


def load_policies(directory: Path, known_templates: Iterable[str]) -> dict[str, Policy]:
    """Load and check every policy file; the first invalid file stops everything."""
    templates = tuple(known_templates)
    policies: dict[str, Policy] = {}
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise PolicyError(str(directory), [("(folder)", "no policy files (*.toml) found")])
    for file in files:
        policy = parse_policy(file.read_text(encoding="utf-8"), str(file), templates)
        policies[policy.id] = policy
    return policies
