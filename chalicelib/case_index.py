"""Reading the SPOC's case list a page at a time, searching it, and backfilling older cases.

The list: one query per area on the sparse-free "case-list" index, whose range key sorts the
overdue first, then those due soon, then by next deadline, then cases waiting for nothing, newest
first. Several areas are merged in that order; the cursor holds each area's position (DynamoDB's
LastEvaluatedKey, or the last row shown), signed so it cannot be altered. Cost grows with the page
(and the number of areas), never with the history. Until `make backfill` has marked an area, its
older cases are not in that index yet, so the area is read from by-area, newest first, as before.

Search: a reference is one GetItem; a name or postcode is one query per area on the search-terms
table, whose keys are keyed hashes (HMAC-SHA256), then one BatchGetItem of the rows' attributes.

Why a keyed hash, not SHA-256 of area|term: there are only about 1.8 million postcodes and a few
hundred thousand surnames, so anyone holding a copy of the table (a backup, an export) could hash
every one of them and read the names and postcodes back. With a key held in Secrets Manager,
the table alone gives nothing away. The key is derived from the partner-link secret's search key,
which its rotation never changes (only the link keys rotate); replacing it by hand means running
`make backfill` again, which writes the new terms (the old ones then match nothing).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable

from .adapters.tables import CaseRecord, SearchTermRecord
from .domain.case_list import case_terms, current_deadlines, due_between, list_names, overdue_range

TERMS_SALT = b"community-trigger.case-search-terms"
CURSOR_SALT = b"community-trigger.case-list-cursor"
READY = "#list-ready"  # SearchTermRecord(term=READY, ref=area): the area's older cases are backfilled
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
MAX_PAGES_PER_AREA = 4  # a filtered page reads at most this many index pages per area, then returns a cursor
MAX_SEARCH_HITS = 100  # per area and term
ROW_ATTRIBUTES = ["ref", "area", "status", "received_on", "received_at", "deadlines", "basis", "channel", "appeal",
                  "list_key", "list_names"]


class BadCursor(Exception):
    """The cursor was not made by us for this list (altered, truncated, or from another filter)."""


def derived_key(secret: bytes, salt: bytes) -> bytes:
    return hmac.new(secret, salt, hashlib.sha256).digest()


def default_secret() -> bytes:
    """The partner-link secret's search key: the one part of it that never rotates."""
    from .adapters.secrets import link_secret

    return link_secret().search_key


def hashed_term(key: bytes, area: str, kind: str, term: str) -> str:
    return hmac.new(key, f"{area}|{kind}|{term}".encode(), hashlib.sha256).hexdigest()


def term_records(secret: bytes, ref: str, area: str, application: dict[str, Any] | None) -> list[SearchTermRecord]:
    """The search-term items of one case (names and postcodes, hashed with the key)."""
    key = derived_key(secret, TERMS_SALT)
    hashes = sorted({hashed_term(key, area, kind, term) for kind, term in case_terms(application)})
    return [SearchTermRecord(h, ref, area=area) for h in hashes]


# ---------------------------------------------------------------- the cursor


def encode_cursor(secret: bytes, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=")
    tag = base64.urlsafe_b64encode(hmac.new(derived_key(secret, CURSOR_SALT), body, hashlib.sha256).digest()[:18])
    return f"{body.decode()}.{tag.decode()}"


def decode_cursor(secret: bytes, cursor: str, scope: list[Any]) -> dict[str, Any]:
    """The positions in a cursor we signed for this very list (same areas and filters)."""
    try:
        if len(cursor) > 8000:
            raise ValueError("too long")
        body, _, tag = cursor.encode("ascii").partition(b".")
        want = base64.urlsafe_b64encode(hmac.new(derived_key(secret, CURSOR_SALT), body, hashlib.sha256).digest()[:18])
        if not hmac.compare_digest(want, tag):
            raise ValueError("signature")
        payload = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (ValueError, UnicodeError, TypeError) as exc:
        raise BadCursor(str(exc)) from None
    if not isinstance(payload, dict) or payload.get("scope") != scope or not isinstance(payload.get("at"), dict):
        raise BadCursor("another list")
    return payload


# ---------------------------------------------------------------- rows


def row(item: CaseRecord, today: date, soon: date) -> dict[str, Any]:
    """One line of the list: no address, no equalities, only the names."""
    pending = current_deadlines(item.deadlines, item.status, item.appeal)
    names = item.list_names or (list_names(item.application, item.basis) if item.application
                                else {"applicant": None, "victim": None})
    nxt = pending[0] if pending else None
    return {"reference": item.ref, "area": item.area, "status": item.status, "received_on": item.received_on,
            "basis": item.basis, "channel": item.channel,
            "applicant_name": names.get("applicant"), "victim_name": names.get("victim"),
            "next_deadline": {"name": nxt[0], "due": nxt[1].isoformat()} if nxt else None,
            "overdue": [name for name, when in pending if when < today],
            "due_soon": [name for name, when in pending if today <= when <= soon]}


@dataclass
class ListFilter:
    status: str | None
    due: str | None
    today: date
    soon: dict[str, date]  # per area: the last day that counts as "soon"

    def keeps(self, line: dict[str, Any]) -> bool:
        if self.status and line["status"] != self.status:
            return False
        nxt = line["next_deadline"]
        if self.due == "overdue" and not line["overdue"]:
            return False
        if self.due == "soon" and not (nxt and self.today.isoformat() <= nxt["due"] <= self.soon[line["area"]].isoformat()):
            return False
        return True

    def key_range(self, area: str) -> tuple[str, str] | None:
        """Exactly the part of the index the due filter matches, so it reads only what it shows:
        overdue, the next deadline has passed; soon, the next deadline is from today to the last
        soon day (a case already overdue is under overdue, even if another deadline is due soon)."""
        if self.due == "overdue":
            return overdue_range(self.today)
        if self.due == "soon":
            return due_between(self.today, self.soon[area])
        return None


@dataclass
class _AreaRead:
    lines: list[tuple[str, dict[str, Any], dict[str, Any]]]  # (list key, row, the row's index key)
    last_key: dict[str, Any] | None  # DynamoDB's LastEvaluatedKey after what was read; None: the end
    frontier: str | None  # the list key of the last item read (everything up to it was seen)


def _read_area(area: str, start: dict[str, Any] | None, flt: ListFilter, want: int) -> _AreaRead:
    key_range = flt.key_range(area)
    condition = CaseRecord.list_key.between(*key_range) if key_range else None
    lines: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    last_key, frontier = start, None
    for _ in range(MAX_PAGES_PER_AREA):
        results = CaseRecord.case_list.query(area, condition, limit=want, page_size=want, last_evaluated_key=last_key)
        for item in results:
            frontier = item.list_key
            line = row(item, flt.today, flt.soon[area])
            if flt.keeps(line):
                lines.append((item.list_key, line, {"ref": {"S": item.ref}, "list_area": {"S": area},
                                                     "list_key": {"S": item.list_key}}))
        last_key = results.last_evaluated_key
        if last_key is None or len(lines) >= want:
            break
    return _AreaRead(lines, last_key, frontier)


def read_list(areas: list[str], flt: ListFilter, limit: int, at: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of the merged list of several areas, and the positions to go on from (None: the end).
    `at` maps an area to where it stopped (a key), or False once it has been read to the end."""
    reads = {area: _read_area(area, at.get(area), flt, limit) for area in areas if at.get(area) is not False}
    # Rows can only be shown up to the earliest point some area has not read beyond.
    frontiers = [r.frontier for r in reads.values() if r.last_key is not None and r.frontier is not None]
    cutoff = min(frontiers) if frontiers else None
    merged = sorted(((key, area, line, index_key) for area, r in reads.items() for key, line, index_key in r.lines),
                    key=lambda t: t[0])
    shown = [t for t in merged if cutoff is None or t[0] <= cutoff][:limit]
    positions = dict(at)
    for area, r in reads.items():
        mine = [t for t in shown if t[1] == area]
        if len(mine) == len(r.lines):  # everything it read was shown (or filtered out): go on after it
            positions[area] = r.last_key if r.last_key is not None else False
        elif mine:
            positions[area] = mine[-1][3]
    done = all(positions.get(area) is False for area in areas)
    return [t[2] for t in shown], None if done else positions


def read_legacy(areas: list[str], flt: ListFilter, limit: int, at: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Before the backfill: by-area, newest first, one area after another (without names: the
    by-area index does not carry them)."""
    lines: list[dict[str, Any]] = []
    positions = dict(at)
    for area in areas:
        pages = 0
        while positions.get(area) is not False and len(lines) < limit and pages < MAX_PAGES_PER_AREA:
            pages += 1
            want = limit - len(lines)
            results = CaseRecord.by_area.query(area, scan_index_forward=False, limit=want, page_size=want,
                                               last_evaluated_key=positions.get(area))
            for item in results:
                line = row(item, flt.today, flt.soon[area])
                if flt.keeps(line):
                    lines.append(line)
            last = results.last_evaluated_key
            positions[area] = last if last is not None else False
        if len(lines) >= limit or pages >= MAX_PAGES_PER_AREA:
            break
    done = all(positions.get(area) is False for area in areas)
    return lines, None if done else positions


def ready_areas(areas: Iterable[str]) -> set[str]:
    """The areas whose older cases have been backfilled (one BatchGetItem)."""
    return {record.ref for record in SearchTermRecord.batch_get([(READY, area) for area in areas])}


# ---------------------------------------------------------------- search


def search(secret: bytes, areas: list[str], kind: str, term: str, flt: ListFilter, limit: int) -> list[dict[str, Any]]:
    """Cases in these areas with this name or postcode: the hashed term's items, then the rows."""
    key = derived_key(secret, TERMS_SALT)
    refs: list[str] = []
    for area in areas:
        refs += [hit.ref for hit in SearchTermRecord.query(hashed_term(key, area, kind, term), limit=MAX_SEARCH_HITS)]
    if not refs:
        return []
    items = list(CaseRecord.batch_get(sorted(set(refs)), attributes_to_get=ROW_ATTRIBUTES))
    items = [i for i in items if i.area in areas]
    items.sort(key=lambda i: i.list_key or "")
    lines = [row(i, flt.today, flt.soon[i.area]) for i in items]
    return [line for line in lines if flt.keeps(line)][:limit]


# ---------------------------------------------------------------- backfill


@dataclass
class BackfillReport:
    cases: int = 0
    updated: int = 0
    terms: int = 0
    expiries: int = 0  # ended cases given (or, if held or appealed, cleared of) their deletion time
    areas: tuple[str, ...] = ()


def backfill(areas: Iterable[str], secret: bytes | None = None, *, log: Callable[[str], None] = lambda _: None) -> BackfillReport:
    """Give every stored case its list keys, names and search terms, then mark the areas ready.
    Idempotent: terms are the same items each time; a case is updated only if its keys differ,
    without moving its version, and only if nobody changed it meanwhile (a change writes them)."""
    from pynamodb.exceptions import UpdateError

    from collections.abc import Mapping

    from .casework import retention_of

    secret = secret if secret is not None else default_secret()
    # Given the policies (wiring.policies()), ended cases stored before retention existed get their
    # deletion time too (CaseRecord.expires_at), as each step now sets it.
    policies = areas if isinstance(areas, Mapping) else {}
    report = BackfillReport(areas=tuple(sorted(areas)))
    connection = CaseRecord._get_connection()  # noqa: SLF001 - a plain update, no version logic
    with SearchTermRecord.batch_write() as batch:
        for case in CaseRecord.scan():  # the one place that may read every case: run once, offline
            report.cases += 1
            before = (case.list_area, case.list_key, case.list_names)
            case.refresh_list()
            for record in term_records(secret, case.ref, case.area, case.application):
                batch.save(record)
                report.terms += 1
            actions = []
            if before != (case.list_area, case.list_key, case.list_names):
                actions += [CaseRecord.list_area.set(case.list_area), CaseRecord.list_key.set(case.list_key),
                            CaseRecord.list_names.set(case.list_names)]
            if case.area in policies:
                expires = retention_of(case, policies[case.area])[1]
                if expires != case.expires_at:
                    actions.append(CaseRecord.expires_at.set(expires) if expires else CaseRecord.expires_at.remove())
                    report.expiries += 1
            if actions:
                try:
                    connection.update_item(case.ref, actions=actions, condition=CaseRecord.version == case.version)
                    report.updated += 1
                except UpdateError:
                    log(f"{case.ref} changed while the backfill ran: its own save wrote its list keys")
    for area in report.areas:
        SearchTermRecord(READY, area, area=area).save()
    return report
