"""Pre-assessment of the Community Trigger threshold, rule by rule, with reasons.

Pure: takes the reported incidents (from the form now, from partners' returns later) and the
area's rules, and explains which count and why. The SPOC makes the decision; this only
prepares it. "Related ASB" cannot be judged by software, so it is always left to the SPOC.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Iterable, Literal

from .calendar import add_months
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
    next_month = add_months(happened_on, 1)
    if next_month.day < happened_on.day:  # no corresponding date: the period ends at month end
        return next_month
    return next_month - timedelta(days=1)


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
    window_start = add_months(applied_on, -rules.lookback_months)
    reasons: list[str] = []
    counts: bool | None = True
    if counts_after is not None and r.reported_on <= counts_after:
        counts = False
        reasons.append(f"reported on {r.reported_on.isoformat()}, before the outcome of the previous case review "
                       f"about this matter ({counts_after.isoformat()}), which restarted the count")
    if r.reported_on < window_start or r.reported_on > applied_on:
        counts = False
        reasons.append(f"reported on {r.reported_on.isoformat()}, outside the {rules.lookback_months} months before the application")
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
    if counts:
        reasons.insert(0, "a qualifying complaint")
    return ReportFinding(i, r.happened_on, r.reported_to, counts, tuple(reasons))


def assess(
    reports: Iterable[Report],
    applied_on: date,
    rules: Threshold,
    *,
    other_complainants: Iterable[str] = (),
    counts_after: date | None = None,
) -> Assessment:
    """Check reports against the area's rules.

    `other_complainants` are people who separately reported similar ASB in other applications
    about the same matter (used by the several-complainants rule). `counts_after` is the date of
    the last case review's outcome letter about the same matter: it restarts the qualifying
    period, so only reports made after it count.
    """
    reports = list(reports)
    findings = tuple(_check_report(i, r, applied_on, rules, counts_after) for i, r in enumerate(reports))
    counted = [(r, f) for r, f in zip(reports, findings) if f.counts]
    uncertain = [(r, f) for r, f in zip(reports, findings) if f.counts is None]

    # The same incident reported to several agencies counts once: one occasion per date.
    occasions = sorted({r.happened_on for r, _ in counted})
    maybe = sorted({r.happened_on for r, _ in uncertain} - set(occasions))
    merged = len(counted) - len(occasions)
    needed = rules.complaints_needed

    rule_results: list[RuleResult] = []
    note = f" ({_plural(merged, 'report')} of the same incident to another agency counted once)" if merged else ""
    if len(occasions) >= needed:
        complaints = RuleResult("qualifying_complaints", "pass",
                                f"{_plural(len(occasions), 'qualifying complaint')} on separate occasions; {needed} needed{note}")
    elif len(occasions) + len(maybe) >= needed:
        complaints = RuleResult("qualifying_complaints", "judgement",
                                f"{_plural(len(occasions), 'qualifying complaint')} certain and {len(maybe)} that "
                                f"{'needs' if len(maybe) == 1 else 'need'} checking; {needed} needed{note}")
    else:
        complaints = RuleResult("qualifying_complaints", "fail",
                                f"only {_plural(len(occasions), 'qualifying complaint')} on separate occasions; {needed} needed{note}")
    rule_results.append(complaints)
    complaints_route = complaints.outcome

    if rules.recent_report_months:
        since = add_months(applied_on, -rules.recent_report_months)
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

    if rules.single_hate_incident:
        hate = [r for r, _ in counted if r.hate_motivated]
        hate_maybe = [r for r, _ in uncertain if r.hate_motivated]
        if hate:
            rule = RuleResult("hate_incident", "pass", f"a hate incident reported on {hate[0].reported_on.isoformat()} is a qualifying complaint; one is enough in this area")
        elif hate_maybe:
            rule = RuleResult("hate_incident", "judgement", "a hate incident was reported, but whether it is a qualifying complaint needs checking")
        elif any(r.hate_motivated for r in reports):
            rule = RuleResult("hate_incident", "fail", "a hate incident was reported, but it is not a qualifying complaint (see the reasons given for each report)")
        else:
            rule = RuleResult("hate_incident", "fail", "no qualifying complaint is marked as a hate incident or hate crime")
        rule_results.append(rule)
        routes.append(rule.outcome)

    if rules.separate_complainants_needed:
        people = {_person(r.reported_by) for r, _ in counted} | {_person(p) for p in other_complainants}
        people.discard("")
        n = rules.separate_complainants_needed
        outcome: Outcome = "pass" if len(people) >= n else "fail"
        rule_results.append(RuleResult(
            "separate_complainants", outcome,
            f"{len(people)} {'person' if len(people) == 1 else 'people'} separately reported this ASB within {rules.lookback_months} months; {n} needed",
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

    return Assessment(result, applied_on, tuple(rule_results), findings, tuple(occasions))


def _both(a: Outcome, b: Outcome) -> Outcome:
    if "fail" in (a, b):
        return "fail"
    if "judgement" in (a, b):
        return "judgement"
    return "pass"


def _person(name: str) -> str:
    return " ".join(name.casefold().split())
