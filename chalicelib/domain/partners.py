"""Which partner agencies are asked for information, by when, and what counts as "the same
matter" across applications. Pure Python."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from .calendar import WorkingCalendar, months_period_start
from .case import due_after
from .policy import PartnerBody, Policy

# Words that identify the kind of body an applicant reported to, when they do not use its name.
_KIND_WORDS = {
    "police": ("police", "constabulary", "pcso", "101"),
    "council": ("council", "borough", "district", "city council", "asb team", "environmental health"),
    "housing": ("housing", "homes", "landlord", "association", "tenancy"),
    "health": ("nhs", "health", "icb", "ccg", "gp", "mental health"),
    "youth_offending": ("youth offending", "yot", "youth justice"),
}


@dataclass(frozen=True)
class PlannedRequest:
    request_id: str
    name: str
    kind: str
    email: str | None
    named_in_application: bool
    due_on: date
    expires_on: date


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.casefold()).split())


def names_body(agency: str, body: PartnerBody) -> bool:
    """Does what the applicant wrote ("Peak Homes", "the police") refer to this body?"""
    said = _normal(agency)
    if not said:
        return False
    for name in (body.name, *body.aliases):
        known = _normal(name)
        if known and (known in said or said in known):
            return True
    return any(re.search(rf"\b{re.escape(word)}\b", said) for word in _KIND_WORDS.get(body.kind, ()))


def plan_partner_requests(policy: Policy, reported_to: Iterable[str], acknowledged_on: date,
                          calendar: WorkingCalendar) -> list[PlannedRequest]:
    """One request per relevant body in the area's policy, plus one per agency the applicant named
    that the policy does not know (those have no address until the SPOC adds one)."""
    t = policy.timescales
    due_on = due_after(acknowledged_on, t.partner_return, calendar)
    expires_on = due_after(due_on, t.partner_link_grace, calendar)
    named = [a.strip() for a in reported_to if a and a.strip()]
    planned: list[PlannedRequest] = []
    for body in policy.partners:
        planned.append(PlannedRequest(f"P{len(planned) + 1:02d}", body.name, body.kind, body.email,
                                      any(names_body(a, body) for a in named), due_on, expires_on))
    unknown: dict[str, str] = {}
    for agency in named:
        if not any(names_body(agency, body) for body in policy.partners):
            unknown.setdefault(_normal(agency), agency)
    for agency in unknown.values():
        planned.append(PlannedRequest(f"P{len(planned) + 1:02d}", agency, "other", None, True, due_on, expires_on))
    return planned


def lookback_period(applied_on: date, lookback_months: int) -> tuple[date, date]:
    """The period partners are asked about: the look-back window before the application, i.e.
    the reports whose months (beginning with the report) still include the application."""
    return months_period_start(applied_on, lookback_months), applied_on


def complainant_entry(person: str, latest_complaint: date) -> str:
    """How the matter index stores one person of an application: their hashed identity and the
    date of their latest qualifying complaint in it (the index's projection is a string set)."""
    return f"{person}|{latest_complaint.isoformat()}"


def parse_complainant_entry(entry: str) -> tuple[str, date | None]:
    """(person, latest qualifying complaint). An entry stored before dates were kept has no "|":
    its date is unknown, so the several-complainants rule cannot place it in the window and does
    not count it (the application's own intake record is unchanged)."""
    person, _, on = entry.partition("|")
    try:
        return person, date.fromisoformat(on) if on else None
    except ValueError:
        return person, None


def matter_key(area: str, postcode: str) -> str:
    """Applications about the same place share a key. Hashed, so the index holds no postcode."""
    compact = re.sub(r"\s", "", postcode.upper())
    return hashlib.sha256(f"{area}|{compact}".encode()).hexdigest()[:32]
