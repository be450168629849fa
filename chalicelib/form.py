"""The applicant's HTML form, posted without JavaScript. Fields are named by the API's own paths
(`victim.address.postcode`, `incidents[2].reported_on.day`), so a form post becomes the same
JSON an API client sends, and the API's errors map straight back onto the form's fields.

Steps: "add_incident" shows one more incident; "check" validates and shows the answers to
check; "edit" goes back to the form; "submit" stores. Nothing is stored before "submit"."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .domain.policy import Policy

CHECKBOXES = ("declaration", "information_sharing_consent", "keep_informed")
_PART = re.compile(r"([a-z_][a-z0-9_]*)(?:\[(\d+)\])?")


def element_id(path: str) -> str:
    """The form element id for an API path: incidents[2].reported_on -> incidents-2-reported_on."""
    return path.replace("[", "-").replace("]", "").replace(".", "-")


def error_anchor(path: str, values: dict[str, str]) -> str:
    """Where the error summary links to: a date's day box, or the field itself."""
    if f"{path}.day" in values or re.search(r"\.(happened_on|reported_on)$", path):
        return element_id(path) + "-day"
    return element_id(path)


def allowed_origins() -> set[str]:
    """The sites allowed to post the form (FORM_ORIGINS, comma-separated origins)."""
    return {o.strip().rstrip("/") for o in os.environ.get("FORM_ORIGINS", "").split(",") if o.strip()}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


FORM_CONTROLS = frozenset({"action", "idempotency_key"})
DATE_PARTS = (".day", ".month", ".year")
_INDEX = re.compile(r"\[([^\]]*)\]")


@lru_cache(maxsize=1)
def application_paths() -> tuple[frozenset[str], frozenset[str]]:
    """Every answer the application form can send, as paths with [] for a row
    (`incidents[].reported_on`), from the same model that validates it; and which of them are dates."""
    import datetime
    import types
    import typing

    from pydantic import BaseModel

    from .schemas import ApplicationIn

    paths: set[str] = set()
    dates: set[str] = set()

    def kinds(annotation: Any) -> list[Any]:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType, typing.Annotated):
            return [k for arg in typing.get_args(annotation) for k in kinds(arg)]
        return [annotation]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            for kind in kinds(info.annotation):
                if typing.get_origin(kind) is list:
                    (item,) = typing.get_args(kind)
                    if isinstance(item, type) and issubclass(item, BaseModel):
                        walk(item, f"{path}[].")
                    else:
                        paths.add(f"{path}[]")
                elif isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk(kind, f"{path}.")
                elif kind is datetime.date:
                    dates.add(path)
                elif kind is not type(None):
                    paths.add(path)

    walk(ApplicationIn, "")
    return frozenset(paths | dates), frozenset(dates)


def application_field_allowed(name: str) -> bool:
    """Strict field names: an answer of the form (rows numbered 0-49 in ASCII), a date's
    day/month/year box, or one of the form's own controls. Anything else is refused."""
    from .inputs import row_index

    if name in FORM_CONTROLS:
        return True
    pattern = _INDEX.sub(lambda m: (row_index(m.group(1), field=name), "[]")[1], name)
    paths, dates = application_paths()
    if pattern.endswith(DATE_PARTS):
        return pattern.rsplit(".", 1)[0] in dates
    return pattern in paths


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    node: Any = tree
    parts = path.split(".")
    for n, part in enumerate(parts):
        match = _PART.fullmatch(part)
        if not match:
            raise ValueError(f"not a form field name: {path!r}")
        key, index = match.group(1), match.group(2)
        last = n == len(parts) - 1
        if index is None:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            items = node.setdefault(key, {})  # by index first; turned into a list at the end
            if last:
                items[int(index)] = value
            else:
                node = items.setdefault(int(index), {})


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_lists(node[k]) for k in sorted(node)]
        return {k: _lists(v) for k, v in node.items()}
    return node


@dataclass
class Posted:
    answers: dict[str, Any]  # the application, as JSON
    values: dict[str, str]  # the fields as typed (shown again)
    positions: list[int]  # page position of each kept incident, for mapping errors back
    action: str
    idempotency_key: str | None


def form_to_application(fields: dict[str, str]) -> Posted:
    values = {k: v for k, v in fields.items() if k not in ("action", "idempotency_key")}
    tree: dict[str, Any] = {}
    dates: dict[str, dict[str, str]] = {}
    for name, value in values.items():
        date_part = re.fullmatch(r"(.+)\.(day|month|year)", name)
        if date_part:
            dates.setdefault(date_part.group(1), {})[date_part.group(2)] = value.strip()
            continue
        if name in CHECKBOXES or name.endswith(".hate_motivated"):
            _set(tree, name, value == "true")
            continue
        if value.strip() == "":
            continue
        try:
            _set(tree, name, value)
        except ValueError:
            tree.setdefault("__unknown__", []).append(name)  # reported by validation as not on the form
    for path, parts in dates.items():
        day, month, year = parts.get("day", ""), parts.get("month", ""), parts.get("year", "")
        if not (day or month or year):
            continue
        if all(p.isascii() and p.isdigit() and len(p) <= 4 for p in (day, month, year)):
            _set(tree, path, f"{int(year):04d}-{int(month):02d}-{int(day):02d}")
        else:
            _set(tree, path, f"{year}-{month}-{day}")  # reported back as not a real date
    for name in CHECKBOXES:
        tree.setdefault(name, False)
    answers = _lists(tree)
    # Incidents left wholly blank are dropped; each kept one remembers its place on the page.
    incidents = answers.get("incidents") or []
    kept, positions = [], []
    for position, incident in enumerate(incidents if isinstance(incidents, list) else []):
        if isinstance(incident, dict) and any(v not in (None, "", False) for v in incident.values()):
            kept.append(incident)
            positions.append(position)
    answers["incidents"] = kept
    if answers.get("basis") != "on_behalf":
        answers.pop("applicant", None)  # the section is shown to everyone without JavaScript
        answers.pop("victim_consent", None)
    return Posted(answers, values, positions, fields.get("action", "check"), fields.get("idempotency_key") or None)


def remap_errors(errors: list[dict[str, str]], positions: list[int]) -> list[dict[str, str]]:
    """API error paths use the kept incidents' indexes; the page uses its own positions."""
    out = []
    for error in errors:
        field = error["field"]
        match = re.match(r"incidents\[(\d+)\](.*)", field)
        if match and int(match.group(1)) < len(positions):
            field = f"incidents[{positions[int(match.group(1))]}]{match.group(2)}"
        out.append({"field": field, "message": error["message"]})
    return out


def incident_rows(values: dict[str, str]) -> int:
    indexes = [int(m.group(1)) for k in values for m in [re.match(r"incidents\[([0-9]{1,3})\]", k)] if m]
    return max(indexes, default=0) + 1


def check_answers(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers grouped for the check-your-answers page, in plain words."""

    def contact(person: dict[str, Any]) -> list[dict[str, str]]:
        address = person.get("address") or {}
        return [
            {"key": "Name", "value": person.get("name", "")},
            {"key": "Address", "value": ", ".join(v for v in (address.get("line1"), address.get("line2"),
                                                              address.get("town"), address.get("postcode")) if v)},
            {"key": "Email", "value": person.get("email") or "Not given"},
            {"key": "Phone", "value": person.get("daytime_phone") or person.get("mobile_phone") or "Not given"},
            {"key": "Contact by", "value": (person.get("preferred_contact") or "").replace("_", " ")},
        ]

    sections = []
    if answers.get("basis") == "on_behalf" and answers.get("applicant"):
        sections.append({"section": "Your details", "rows": contact(answers["applicant"]) + [
            {"key": "The person affected's consent", "value": "Given" if answers.get("victim_consent") == "given" else "To follow"}]})
    sections.append({"section": "The person affected", "rows": contact(answers.get("victim") or {})})
    sections.append({"section": "The anti-social behaviour", "rows": [{"key": "Summary", "value": answers.get("summary", "")}]})
    for n, incident in enumerate(answers.get("incidents") or [], start=1):
        sections.append({"section": f"Incident {n}", "rows": [
            {"key": "Happened on", "value": incident.get("happened_on", "")},
            {"key": "What happened", "value": incident.get("description", "")},
            {"key": "Reported by", "value": incident.get("reported_by", "")},
            {"key": "Reported on", "value": incident.get("reported_on", "")},
            {"key": "Reported to", "value": incident.get("reported_to", "")},
            {"key": "How", "value": (incident.get("how_reported") or "").replace("_", " ")},
            {"key": "Their reference", "value": incident.get("agency_reference") or "Not given"},
            {"key": "Hate incident or crime", "value": "Yes" if incident.get("hate_motivated") else "No"},
        ]})
    more = [(k, label) for k, label in (("impact", "How it has affected you"), ("action_taken", "Action taken so far"),
                                        ("outcome_sought", "What you would like to happen"),
                                        ("special_circumstances", "Special circumstances"),
                                        ("other_information", "Anything else")) if answers.get(k)]
    if more:
        sections.append({"section": "More about the case", "rows": [{"key": label, "value": answers[k]} for k, label in more]})
    return sections


def page_context(policy: Policy, *, api_url: str, site_url: str) -> dict[str, Any]:
    return {"area": policy.area, "threshold": policy.threshold, "timescales": policy.timescales,
            "contacts": policy.contacts, "appeals": policy.appeals, "api_url": api_url.rstrip("/"),
            # Fields whose value is this service's default, not the area's published rule: the
            # start page labels them so a default is never presented as the area's own.
            "defaults_used": frozenset(policy.defaults_used),
            "asset_base": f"{site_url.rstrip('/')}/{policy.id}/assets",
            "action_url": f"{api_url.rstrip('/')}/applications"}
