"""Pre-assessment of the Community Trigger threshold, rule by rule, with reasons.

Pure: takes the reported incidents (from the form now, from partners' returns later) and the
area's rules, and explains which count and why. The SPOC makes the decision; this only
prepares it. "Related ASB" cannot be judged by software, so it is always left to the SPOC.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Iterable, Literal

from .calendar import months_period_end, months_period_start
from .policy import Period, Threshold

Outcome = Literal["pass", "fail", "judgement", "info"]
Result = Literal["met", "not_met", "needs_judgement"]

ON_SITE = "officer_on_site"
POLICE_ON_DUTY = ("police_officer", "pcso")


@dataclass(frozen=True)
class Report:
    """One report of an incident to one agency."""

    happened_on: date
    reported_on: date
    reported_by: str
    reported_to: str
    how_reported: str
    hate_motivated: bool = False
    officer_type: str | None = None
    source: str = "application"
    # What tells two reports of the same day apart, or shows they are one incident: the agency's
    # own reference, and what happened (the form's description, a partner's overview).
    agency_reference: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ReportFinding:
    index: int
    happened_on: date
    reported_to: str
    counts: bool | None  # None: needs the SPOC's judgement
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RuleResult:
    rule: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Assessment:
    result: Result
    assessed_on: date
    rules: tuple[RuleResult, ...]
    reports: tuple[ReportFinding, ...] = field(default=())
    qualifying_occasions: tuple[date, ...] = field(default=())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["assessed_on"] = self.assessed_on.isoformat()
        data["qualifying_occasions"] = [d.isoformat() for d in self.qualifying_occasions]
        for report in data["reports"]:
            report["happened_on"] = report["happened_on"].isoformat()
            report["reasons"] = list(report["reasons"])
        # Plain JSON types, so the dict equals what comes back from storage.
        data["rules"] = list(data["rules"])
        data["reports"] = list(data["reports"])
        return data


def statutory_month_end(happened_on: date) -> date:
    """Last day of "the period of one month beginning with" the date (corresponding-date rule)."""
    return months_period_end(happened_on, 1)


def qualifying_deadline(happened_on: date, period: Period) -> date:
    """Last day a report can be made and still be a qualifying complaint.

    The area's period applies, but never beyond the statutory month (a "30 days" rule cannot
    stretch February).
    """
    statutory = statutory_month_end(happened_on)
    if period.calendar_days is not None:
        local = happened_on + timedelta(days=period.calendar_days)
    else:
        local = statutory  # "1 month"; longer periods are refused when the policy loads
    return min(local, statutory)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_report(i: int, r: Report, applied_on: date, rules: Threshold, counts_after: date | None) -> ReportFinding:
    # Section 104(11): a qualifying complaint is made within the month beginning with the day of
    # the behaviour, and the application within the six months beginning with the day of the
    # complaint. So the look-back is measured from the report, not the incident: an incident up
    # to a month before the six months still counts if its complaint falls inside them. The
    # incident's own date bounds the complaint (the month after it) and must not follow it.
    months = rules.lookback_months
    window_start = months_period_start(applied_on, months)
    reasons: list[str] = []
    counts: bool | None = True
    if counts_after is not None and r.reported_on <= counts_after:
        counts = False
        reasons.append(f"reported on {r.reported_on.isoformat()}, before the outcome of the previous case review "
                       f"about this matter ({counts_after.isoformat()}), which restarted the count")
    if r.reported_on > applied_on:
        counts = False
        reasons.append(f"reported on {r.reported_on.isoformat()}, after the application was made ({applied_on.isoformat()})")
    elif r.reported_on < window_start:
        counts = False
        reasons.append(
            f"reported on {r.reported_on.isoformat()}: the application ({applied_on.isoformat()}) was not made within "
            f"the {months} months beginning with that date, which ended on {months_period_end(r.reported_on, months).isoformat()}")
    if r.reported_on < r.happened_on:
        # The forms refuse this; a record that still has it cannot be judged by the dates alone.
        if counts:
            counts = None
        reasons.append(f"reported on {r.reported_on.isoformat()}, before the incident it reports "
                       f"({r.happened_on.isoformat()}): one of the dates needs checking")
    else:
        last = qualifying_deadline(r.happened_on, rules.qualifying_period)
        if r.reported_on > last:
            counts = False
            period = rules.qualifying_period.describe()
            days = rules.qualifying_period.calendar_days
            if days is not None and last < r.happened_on + timedelta(days=days):
                # The local "30 days" was cut short by the statutory month: say so, or "29 days after;
                # had to be reported within 30 days" reads as a contradiction.
                period += ", but never more than the one month the law allows"
            reasons.append(
                f"reported {(r.reported_on - r.happened_on).days} days after it happened; "
                f"it had to be reported by {last.isoformat()} ({period})"
            )
    if r.how_reported == ON_SITE and rules.on_site_reports == "police_only":
        if r.officer_type in POLICE_ON_DUTY:
            reasons.append("reported on site to a police officer or PCSO on duty, which counts")
        elif r.officer_type is None:
            if counts:
                counts = None
            reasons.append("reported to an officer on site; it counts only if that was a police officer or PCSO on duty, which the form does not say")
        else:
            counts = False
            reasons.append("reported to an officer on site who was not a police officer or PCSO on duty, which does not count in this area")
    if counts and r.happened_on < window_start:
        reasons.append(
            f"it happened on {r.happened_on.isoformat()}, before the {months} months that end with the application "
            f"began ({window_start.isoformat()}); it still counts, because the law runs those months from the "
            "complaint, not the incident (section 104(11))")
    if counts:
        reasons.insert(0, "a qualifying complaint")
    return ReportFinding(i, r.happened_on, r.reported_to, counts, tuple(reasons))


def _identity(r: Report) -> list[tuple[str, str]]:
    """What shows two reports are of one incident: the same agency reference (ignoring case,
    spaces and punctuation) or the same description (ignoring case and spacing)."""
    keys = []
    if r.agency_reference:
        ref = re.sub(r"[\W_]+", "", r.agency_reference.casefold())
        if ref:
            keys.append(("reference", ref))
    if r.description:
        text = " ".join(r.description.casefold().split()).rstrip(" .!")
        if text:
            keys.append(("description", text))
    return keys


def _incidents(same_day: list[Report]) -> int:
    """How many different incidents the reports of one day may be: reports linked by a shared
    reference or description are one; the rest cannot be told apart by software."""
    parent = list(range(len(same_day)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(same_day):
        for key in _identity(r):
            parent[root(i)] = root(first.setdefault(key, i))
    return len({root(i) for i in range(len(same_day))})


@dataclass(frozen=True)
class _Occasions:
    days: tuple[date, ...]  # days with at least one occasion (each counts once for certain)
    merged: int  # reports of an incident already counted
    unsure: tuple[tuple[date, int, int], ...]  # (day, reports, how many incidents they may be)

    @property
    def possible(self) -> int:
        """Occasions beyond one a day that only the SPOC can confirm."""
        return sum(k - 1 for _, _, k in self.unsure)


def _occasions(reports: list[Report]) -> _Occasions:
    by_day: dict[date, list[Report]] = {}
    for r in reports:
        by_day.setdefault(r.happened_on, []).append(r)
    merged, unsure = 0, []
    for day in sorted(by_day):
        k = _incidents(by_day[day])
        merged += len(by_day[day]) - k
        if k > 1:
            unsure.append((day, len(by_day[day]), k))
    return _Occasions(tuple(sorted(by_day)), merged, tuple(unsure))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def assess(
    reports: Iterable[Report],
    applied_on: date,
    rules: Threshold,
    *,
    other_complainants: Iterable[tuple[str, date | None]] = (),
    counts_after: date | None = None,
) -> Assessment:
    """Check reports against the area's rules.

    `other_complainants` are people who reported similar ASB in other applications about the
    same matter, each with the date of their latest qualifying complaint there (None: not known),
    for the several-complainants rule. `counts_after` is the date of the last case review's
    outcome letter about the same matter: it restarts the qualifying period, so only reports
    made after it count.
    """
    reports = list(reports)
    findings = tuple(_check_report(i, r, applied_on, rules, counts_after) for i, r in enumerate(reports))
    counted = [(r, f) for r, f in zip(reports, findings) if f.counts]
    uncertain = [(r, f) for r, f in zip(reports, findings) if f.counts is None]

    # The same incident reported to several agencies counts once. Reports of one day are one
    # incident when a reference or description links them; otherwise the SPOC must say.
    occasions = _occasions([r for r, _ in counted])
    maybe = sorted({r.happened_on for r, _ in uncertain} - set(occasions.days))
    certain, possible = len(occasions.days), occasions.possible + len(maybe)
    needed = rules.complaints_needed

    rule_results: list[RuleResult] = []
    merged = ([f"{_plural(occasions.merged, 'report')} of the same incident, by agency reference or description, "
               "counted once"] if occasions.merged else [])
    note = f" ({merged[0]})" if merged else ""
    if certain >= needed:
        complaints = RuleResult("qualifying_complaints", "pass",
                                f"{_plural(certain, 'qualifying complaint')} on separate occasions; {needed} needed{note}")
    elif certain + possible >= needed:
        same_day = [f"on {day.isoformat()}, {n} reports may be {k} separate incidents: not all share an agency "
                    "reference or description" for day, n, k in occasions.unsure]
        notes = merged + same_day
        complaints = RuleResult("qualifying_complaints", "judgement",
                                f"{_plural(certain, 'qualifying complaint')} certain and {possible} that "
                                f"{'needs' if possible == 1 else 'need'} checking; {needed} needed"
                                + (f" ({'; '.join(notes)})" if notes else ""))
    else:
        complaints = RuleResult("qualifying_complaints", "fail",
                                f"only {_plural(certain, 'qualifying complaint')} on separate occasions; {needed} needed{note}")
    rule_results.append(complaints)
    complaints_route = complaints.outcome

    if rules.recent_report_months:
        # "In the last month": the application falls within the month beginning with the report.
        since = months_period_start(applied_on, rules.recent_report_months)
        recent = [r for r, _ in counted if r.reported_on >= since]
        recent_maybe = [r for r, _ in uncertain if r.reported_on >= since]
        months = _plural(rules.recent_report_months, "month")
        if recent:
            rule = RuleResult("recent_report", "pass", f"at least one qualifying complaint was reported in the last {months} (since {since.isoformat()})")
        elif recent_maybe:
            rule = RuleResult("recent_report", "judgement", f"the only complaint reported in the last {months} needs checking")
        else:
            rule = RuleResult("recent_report", "fail", f"no qualifying complaint was reported in the last {months} (since {since.isoformat()})")
        rule_results.append(rule)
        complaints_route = _both(complaints_route, rule.outcome)

    routes = [complaints_route]

    if rules.hate_incidents_needed:
        rule = _hate_rule(reports, counted, uncertain, rules.hate_incidents_needed)
        rule_results.append(rule)
        routes.append(rule.outcome)

    if rules.separate_complainants_needed:
        start = months_period_start(applied_on, rules.lookback_months)
        # Each person counts once, by their own qualifying complaint inside the window: here, the
        # reporters of this application's counted reports; elsewhere, the dated entries of other
        # applications about the matter. An entry with no date is not known to be in the window.
        people = {_person(r.reported_by) for r, _ in counted}
        for who, latest in other_complainants:
            if latest is None or not start <= latest <= applied_on:
                continue
            if counts_after is not None and latest <= counts_after:
                continue
            people.add(_person(who))
        people.discard("")
        n = rules.separate_complainants_needed
        outcome: Outcome = "pass" if len(people) >= n else "fail"
        rule_results.append(RuleResult(
            "separate_complainants", outcome,
            f"{len(people)} {'person' if len(people) == 1 else 'people'} separately made qualifying complaints about "
            f"this behaviour between {start.isoformat()} and {applied_on.isoformat()}; {n} needed",
        ))
        routes.append(outcome)

    if "pass" in routes:
        result: Result = "met"
    elif "judgement" in routes:
        result = "needs_judgement"
    else:
        result = "not_met"

    rule_results.append(RuleResult("related_behaviour", "info",
                                   "the SPOC must confirm the complaints are about related anti-social behaviour"))
    if rules.senior_officer_discretion and result != "met":
        rule_results.append(RuleResult("senior_officer_discretion", "info",
                                       "a senior officer may still accept the application to protect a vulnerable victim, recording why"))

    return Assessment(result, applied_on, tuple(rule_results), findings, occasions.days)


def _hate_rule(reports: list[Report], counted: list[tuple[Report, ReportFinding]],
               uncertain: list[tuple[Report, ReportFinding]], needed: int) -> RuleResult:
    """The hate-incident route: `needed` qualifying complaints about hate incidents or hate
    crimes, on separate occasions (Hart, Gloucestershire: one)."""
    about = "about a hate incident or hate crime"
    hate = [r for r, _ in counted if r.hate_motivated]
    occasions = _occasions(hate)
    maybe = sorted({r.happened_on for r, _ in uncertain if r.hate_motivated} - set(occasions.days))
    certain, possible = len(occasions.days), occasions.possible + len(maybe)
    tail = f"{needed} needed in this area"
    if certain >= needed:
        first_reported = sorted({min(r.reported_on for r in hate if r.happened_on == day) for day in occasions.days})
        return RuleResult("hate_incident", "pass",
                          f"{_plural(certain, 'qualifying complaint')} {about} on separate occasions (reported on "
                          f"{_and([d.isoformat() for d in first_reported])}); {tail}")
    if certain + possible >= needed:
        return RuleResult("hate_incident", "judgement",
                          f"{_plural(certain, 'qualifying complaint')} {about} certain and {possible} that "
                          f"{'needs' if possible == 1 else 'need'} checking; {tail}")
    if certain:
        return RuleResult("hate_incident", "fail",
                          f"only {_plural(certain, 'qualifying complaint')} {about} on separate occasions; {tail}")
    if any(r.hate_motivated for r in reports):
        return RuleResult("hate_incident", "fail",
                          "a hate incident was reported, but it is not a qualifying complaint "
                          f"(see the reasons given for each report); {tail}")
    return RuleResult("hate_incident", "fail", f"no qualifying complaint is marked as a hate incident or hate crime; {tail}")


def _both(a: Outcome, b: Outcome) -> Outcome:
    if "fail" in (a, b):
        return "fail"
    if "judgement" in (a, b):
        return "judgement"
    return "pass"


def _person(name: str) -> str:
    return " ".join(name.casefold().split())
