"""The published statutory counts: what the council's web page shows. Public and read-only.

An area-year is one item (`StatsRecord`), read with one GetItem; all of an area's years are one
Query over at most one item per year, whatever the number of cases. No personal data exists in
these items to leak."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from .adapters.tables import StatsRecord
from .clock import iso, london_date
from .domain.policy import Policy
from .domain.stats import (COUNTS, FIELDS, add, data_return_csv, reporting_year_of, slug, to_csv, year_bounds, year_label,
                           years_from, zero)


class UnknownArea(Exception):
    pass


def _counts(item: StatsRecord | None) -> dict[str, int]:
    return {name: int(getattr(item, name) or 0) for name in FIELDS} if item else zero()


@dataclass
class PublishedStats:
    policies: dict[str, Policy]
    clock: Callable[[], datetime]

    def areas_for(self, area: str | None, appeals_body: str | None) -> list[Policy]:
        if area:
            if area not in self.policies:
                raise UnknownArea(area)
            return [self.policies[area]]
        chosen = [p for p in self.policies.values() if slug(p.appeals.body) == appeals_body]
        if not chosen:
            raise UnknownArea(appeals_body or "")
        return sorted(chosen, key=lambda p: p.id)

    def read(self, policies: list[Policy], year: int | None, *, decision_days: bool = False) -> dict[str, Any]:
        """Counts by reporting year for one area, or summed over the areas an appeals body covers.
        With decision_days, each year also lists the working days each threshold decision took
        (from the same items: still one read per area-year)."""
        basis = policies[0].area.reporting_year
        current = reporting_year_of(london_date(self.clock()), basis)
        by_year: dict[int, dict[str, int]] = {}
        days: dict[int, list[int]] = {}
        updated: list[str] = []
        for policy in policies:
            if year is not None:
                try:
                    items = [StatsRecord.get(policy.id, year)]
                except StatsRecord.DoesNotExist:
                    items = []
            else:
                items = list(StatsRecord.query(policy.id))
            for item in items:
                by_year[item.year] = add(by_year.get(item.year, zero()), _counts(item))
                days.setdefault(item.year, []).extend(int(n) for n in item.decision_working_days or [])
                if item.updated_at:
                    updated.append(item.updated_at)
        wanted = [year] if year is not None else years_from(min([current, *by_year]), current)
        first = policies[0]
        years = [{"year": y, "label": year_label(y, basis), "from": year_bounds(y, basis)[0].isoformat(),
                  "to": year_bounds(y, basis)[1].isoformat(), "counts": by_year.get(y, zero())} for y in wanted]
        if decision_days:
            for entry in years:
                entry["decision_working_days"] = sorted(days.get(entry["year"], []))
        return {
            "area": first.id if len(policies) == 1 else None,
            "areas": [p.id for p in policies],
            "name": first.area.name if len(policies) == 1 else first.appeals.body,
            "csp_name": first.area.csp_name if len(policies) == 1 else None,
            "reporting_year": {"basis": basis, "description": "1 April to 31 March" if basis == "financial"
                               else "1 January to 31 December"},
            "labels": dict(COUNTS),
            "years": years,
            # When the counts last changed: stable between changes, so caches and ETags work.
            "generated_at": max(updated) if updated else iso(datetime(2014, 10, 20, tzinfo=timezone.utc)),
        }

    @staticmethod
    def csv(data: dict[str, Any]) -> str:
        label = data["area"] or slug(data["name"])
        return to_csv({"area": label, "year": y["label"], "year_from": y["from"], "year_to": y["to"], **y["counts"]}
                      for y in data["years"])

    @staticmethod
    def data_return(data: dict[str, Any]) -> str:
        """The Home Office data return (read with decision_days=True)."""
        label = data["area"] or slug(data["name"])
        return data_return_csv({"area": label, "area_name": data["name"], "year": y["label"], "year_from": y["from"],
                                "year_to": y["to"], **y["counts"], "decision_working_days": y["decision_working_days"]}
                               for y in data["years"])
