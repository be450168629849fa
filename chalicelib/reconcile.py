"""Recount the published figures from the cases' audit trails and compare them with the counters.

The counters are the fast path (one read per area-year); this is the slow, independent check:
each audit event is a step, and the step says which counts it moved, and which values it added
to the area-year's lists (a threshold decision's working days), on its London date."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from .adapters.tables import AuditEvent, CaseRecord, StatsRecord
from .clock import london_date
from .domain.policy import Policy
from .domain.stats import FIELDS, LISTS, add, reporting_year_of, step_appends, step_counts, zero


@dataclass(frozen=True)
class Difference:
    area: str
    year: int
    count: str
    counted: int | tuple[int, ...]  # what the counters say (a list field: its values, sorted)
    recounted: int | tuple[int, ...]  # what the audit trail says


@dataclass
class Recount:
    counts: dict[int, dict[str, int]]
    lists: dict[int, dict[str, list[int]]]


def _recount(policy: Policy) -> Recount:
    counts: dict[int, dict[str, int]] = {}
    lists: dict[int, dict[str, list[int]]] = {}
    for key in CaseRecord.by_area.query(policy.id):
        for event in AuditEvent.query(key.ref):
            moved = step_counts(event.action, event.detail)
            appended = step_appends(event.action, event.detail)
            if not moved and not appended:
                continue
            when = london_date(datetime.fromisoformat(event.at.replace("Z", "+00:00")))
            year = reporting_year_of(when, policy.area.reporting_year)
            if moved:
                counts[year] = add(counts.get(year, zero()), {name: 1 for name in moved})
            for name, value in appended:
                lists.setdefault(year, {}).setdefault(name, []).append(value)
    return Recount(counts, lists)


def recount(policy: Policy) -> dict[int, dict[str, int]]:
    return _recount(policy).counts


def reconcile(policies: Iterable[Policy]) -> list[Difference]:
    differences = []
    for policy in policies:
        again = _recount(policy)
        items = list(StatsRecord.query(policy.id))
        counted = {item.year: {name: int(getattr(item, name) or 0) for name in FIELDS} for item in items}
        counted_lists = {item.year: {name: [int(n) for n in getattr(item, name) or []] for name in LISTS}
                         for item in items}
        for year in sorted(set(again.counts) | set(again.lists) | set(counted)):
            for name in FIELDS:
                a, b = counted.get(year, zero())[name], again.counts.get(year, zero())[name]
                if a != b:
                    differences.append(Difference(policy.id, year, name, a, b))
            for name in LISTS:
                # Order follows commit order, which may differ from audit order: compare as multisets.
                mine = counted_lists.get(year, {}).get(name, [])
                theirs = again.lists.get(year, {}).get(name, [])
                if Counter(mine) != Counter(theirs):
                    differences.append(Difference(policy.id, year, name, tuple(sorted(mine)), tuple(sorted(theirs))))
    return differences
