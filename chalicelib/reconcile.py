"""Recount the published figures from the cases' audit trails and compare them with the counters.

The counters are the fast path (one read per area-year); this is the slow, independent check:
each audit event is a step, and the step says which counts it moved, on its London date."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from .adapters.tables import AuditEvent, CaseRecord, StatsRecord
from .clock import london_date
from .domain.policy import Policy
from .domain.stats import FIELDS, add, reporting_year_of, step_counts, zero


@dataclass(frozen=True)
class Difference:
    area: str
    year: int
    count: str
    counted: int  # what the counters say
    recounted: int  # what the audit trail says


def recount(policy: Policy) -> dict[int, dict[str, int]]:
    years: dict[int, dict[str, int]] = {}
    for key in CaseRecord.by_area.query(policy.id):
        for event in AuditEvent.query(key.ref):
            moved = step_counts(event.action, event.detail)
            if not moved:
                continue
            when = london_date(datetime.fromisoformat(event.at.replace("Z", "+00:00")))
            year = reporting_year_of(when, policy.area.reporting_year)
            years[year] = add(years.get(year, zero()), {name: 1 for name in moved})
    return years


def reconcile(policies: Iterable[Policy]) -> list[Difference]:
    differences = []
    for policy in policies:
        recounted = recount(policy)
        counted = {item.year: {name: int(getattr(item, name) or 0) for name in FIELDS}
                   for item in StatsRecord.query(policy.id)}
        for year in sorted(set(recounted) | set(counted)):
            for name in FIELDS:
                a, b = counted.get(year, zero())[name], recounted.get(year, zero())[name]
                if a != b:
                    differences.append(Difference(policy.id, year, name, a, b))
    return differences
