"""The SPOC's case list and search, as pure Python: which deadline a case waits for next, the key
that orders the list (overdue, then due soon, then by next deadline, then newest), the names the
list shows, and the normalised search terms (names and postcodes) a case can be found by.

The terms are normalised here and hashed with a secret by the adapter, so no name or postcode is
ever a key in the store."""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Iterable

from .case import Status
from .deadlines import deadline_current
from .reference import normalise_reference

# Words before a name that are not part of it ("Cllr Alex Morgan" is found as "Alex Morgan" too).
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "cllr", "councillor", "sir", "dame", "rev", "revd",
                    "prof", "lord", "lady"})
# Particles that belong to the surname that follows ("Siobhan O Ceallaigh" is found as "O Ceallaigh").
PARTICLES = frozenset({"o", "de", "da", "di", "du", "del", "della", "van", "von", "der", "den", "la", "le",
                       "mac", "mc", "st", "bin", "ibn", "al", "el"})
_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}\d[A-Z\d]?\d[ABD-HJLNP-UW-Z]{2})$")
# A digit's nine's complement: applied to a fixed-width ISO timestamp it reverses the sort order,
# so "newest first" reads forward in an index like everything else.
_INVERT = str.maketrans("0123456789", "9876543210")
NO_DEADLINE = "N"  # list keys of cases waiting for nothing sort after every dated one ("D...")
WITH_DEADLINE = "D"


def appeal_open(appeal: dict[str, Any] | None) -> bool:
    return bool(appeal and appeal.get("status") in ("lodged", "acknowledged"))


def current_deadlines(deadlines: dict[str, Any] | None, status: str,
                      appeal: dict[str, Any] | None) -> list[tuple[str, date]]:
    """The deadlines the case still waits for in its present state, earliest first (a withdrawn
    case's threshold decision is not 'overdue': it will never be made)."""
    return sorted(((name, date.fromisoformat(d["due"])) for name, d in (deadlines or {}).items()
                   if d.get("due") and not d.get("met_on")
                   and deadline_current(name, Status(status), appeal_open(appeal))),
                  key=lambda item: (item[1], item[0]))


def list_key(next_due: date | None, received_at: str, ref: str) -> str:
    """The case's place in its area's list, as one sortable string (unique: it ends with the ref).
    Cases waiting for a deadline sort by it, so the overdue come first and then those due soon;
    cases waiting for none follow, newest first. The same deadline: newest first."""
    newest_first = received_at.translate(_INVERT)
    if next_due is None:
        return f"{NO_DEADLINE}{newest_first}#{ref}"
    return f"{WITH_DEADLINE}{next_due.isoformat()}#{newest_first}#{ref}"


def overdue_range(today: date) -> tuple[str, str]:
    """List keys of cases whose next deadline passed before today."""
    return WITH_DEADLINE, f"{WITH_DEADLINE}{today.isoformat()}"


def due_between(first_day: date, last_day: date) -> tuple[str, str]:
    """List keys of cases whose next deadline falls from first_day to last_day, both included."""
    return f"{WITH_DEADLINE}{first_day.isoformat()}", f"{WITH_DEADLINE}{last_day.isoformat()}~"


def list_names(application: dict[str, Any] | None, basis: str) -> dict[str, str | None]:
    """The only personal data the list shows: who applied and who is affected (no address, no
    equalities). The applicant is the victim when they applied themselves; an agency-started
    review has none."""
    application = application or {}
    victim = (application.get("victim") or {}).get("name")
    if basis == "on_behalf":
        applicant = (application.get("applicant") or {}).get("name")
    elif basis == "agency":
        applicant = None
    else:
        applicant = victim
    return {"applicant": applicant, "victim": victim}


# ---------------------------------------------------------------- search terms


def _fold(text: str) -> str:
    """Case- and accent-insensitive: Zoë = zoe = ZOE, O'Brien = OBrien = obrien."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['’‘`]", "", plain)
    return re.sub(r"[^\w-]+|_", " ", plain)


def name_tokens(name: str) -> list[str]:
    """A name as words, titles dropped; a hyphenated part stays one token ("smith-jones")."""
    tokens = [t.strip("-") for t in _fold(name).split()]
    tokens = [t for t in tokens if t]
    while len(tokens) > 1 and tokens[0] in TITLES:
        tokens = tokens[1:]
    return tokens


def _words(tokens: Iterable[str]) -> str:
    return " ".join(part for token in tokens for part in token.split("-") if part)


def name_terms(name: str | None) -> set[str]:
    """What a person can be found by: the full name, the surname (with a particle before it, and
    each part of a double-barrelled one), and first name with surname (or with either part)."""
    tokens = name_tokens(name or "")
    if not tokens:
        return set()
    surname = [tokens[-1]]
    if len(tokens) > 2 and tokens[-2] in PARTICLES:
        surname = tokens[-2:]
    terms = {_words(tokens), _words(surname), *(p for p in tokens[-1].split("-") if p)}
    if len(surname) == 2:
        terms.add("".join(surname))  # "oceallaigh": typed without the space
    if len(tokens) > len(surname):
        terms.add(_words([tokens[0], *surname]))
        terms |= {f"{tokens[0].split('-')[0]} {part}" for part in tokens[-1].split("-") if part}  # "zoe smith"
    return {t for t in terms if len(t) >= 2}


def name_query(text: str) -> str | None:
    """What a typed name is looked up as (the same normalisation as the stored terms)."""
    term = _words(name_tokens(text))
    return term if len(term) >= 2 else None


def postcode_query(text: str) -> str | None:
    """A full UK postcode in any case and spacing ("de43ag", "DE4 3AG"), compacted; else None."""
    compact = re.sub(r"\s", "", text.upper())
    return compact if _POSTCODE.match(compact) else None


def case_terms(application: dict[str, Any] | None) -> set[tuple[str, str]]:
    """(kind, normalised term) for everything a case is found by: the victim's and the applicant's
    names, the victim's postcode and where the behaviour happens."""
    application = application or {}
    victim = application.get("victim") or {}
    applicant = application.get("applicant") or {}
    terms = {("name", t) for t in name_terms(victim.get("name")) | name_terms(applicant.get("name"))}
    for postcode in ((victim.get("address") or {}).get("postcode"), (application.get("asb_location") or {}).get("postcode")):
        compact = postcode_query(postcode) if postcode else None
        if compact:
            terms.add(("postcode", compact))
    return terms


def classify_query(text: str) -> tuple[str, str] | None:
    """What the SPOC typed in the search box: ("reference", CT-...), ("postcode", compact) or
    ("name", term), decided by its shape; None if it cannot be any of them."""
    text = text.strip()
    ref = normalise_reference(text) if text.upper().startswith("CT") else None
    if ref:
        return "reference", ref
    postcode = postcode_query(text)
    if postcode:
        return "postcode", postcode
    name = name_query(text)
    return ("name", name) if name else None
