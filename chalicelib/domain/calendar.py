"""Working-day arithmetic for Community Trigger deadlines.

Statutory and local-policy deadlines are stated in working days: Monday to Friday, minus
the bank holidays of the area's UK nation (substitute "observed" days included) and the
area's own closure days. "Within N working days of X" means the Nth working day after X;
X itself never counts.

Dates are plain ``datetime.date`` values already expressed in Europe/London; the caller
converts. The ``holidays`` package is imported lazily and each year's holidays are built on
first use, because this code runs in AWS Lambda where cold-start time matters.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, timedelta

# The four UK nations, as ISO 3166-2:GB subdivision codes understood by `holidays`.
# Bank holidays differ between them (e.g. Easter Monday is not one in Scotland).
NATIONS: tuple[str, ...] = ("ENG", "WLS", "SCT", "NIR")

LOCAL_CLOSURE_NAME = "Local closure day"

_ONE_DAY = timedelta(days=1)


class UnknownNation(ValueError):
    """The nation is not one of NATIONS; a bare 'GB' is refused on purpose (see below)."""


def _require_date(value: object, what: str) -> date:
    """Refuse datetimes and other types: a datetime never equals a date, so holiday
    look-ups would silently miss and a deadline would come out wrong."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime.date (not a datetime), got {value!r}")
    return value


def _weekdays_through(day: date) -> int:
    """Number of Mondays-Fridays from 0001-01-01 (a Monday) to ``day`` inclusive.

    Lets us count weekdays in any span in O(1) instead of walking it day by day.
    """
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def _add_weekdays(day: date, k: int) -> date:
    """The kth Monday-Friday after ``day`` (k >= 0), ignoring holidays; ``day`` itself
    never counts. With k == 0 a weekday is returned unchanged."""
    if k <= 0:
        return day
    weekday = day.weekday()
    if weekday >= 5:  # from a weekend, count as if from the Friday before
        day -= timedelta(days=weekday - 4)
        weekday = 4
    weeks, rest = divmod(k, 5)
    extra = 2 if weekday + rest >= 5 else 0
    return day + timedelta(days=weeks * 7 + rest + extra)


def add_months(day: date, months: int) -> date:
    """Calendar-month arithmetic, clamping to the target month's last day.

    Qualifying periods and look-backs are stated in months ("within 6 months"), and the
    clamping (31 January + 1 month = 28/29 February) is the usual reading of such periods.
    ``months`` may be negative.
    """
    _require_date(day, "day")
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if day.day <= 28:  # every month has a 28th
        return date(year, month, day.day)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, min(day.day, (next_first - _ONE_DAY).day))


def months_period_end(start: date, months: int) -> date:
    """Last day of "the period of N months beginning with" ``start`` (s.104(11)'s wording).

    Corresponding-date rule: the period ends the day before the same day-number N months on;
    where that month has no such day (31 August + 6 months), it ends at that month's end.
    """
    _require_date(start, "start")
    later = add_months(start, months)
    if later.day < start.day:  # no corresponding date: the period ends at month end
        return later
    return later - _ONE_DAY


def months_period_start(day: date, months: int) -> date:
    """The earliest date whose N-month period (beginning with it) still includes ``day``.

    The look-back from an application: a complaint counts if the application falls within the
    six months beginning with the complaint, i.e. if it was made on or after this date.
    """
    _require_date(day, "day")
    # add_months(day, -N) is one day short of the answer or, after clamping, a little earlier;
    # step forward to the first date whose period reaches `day` (a few steps at most).
    candidate = add_months(day, -months)
    while months_period_end(candidate, months) < day:
        candidate += _ONE_DAY
    while months_period_end(candidate - _ONE_DAY, months) >= day:  # pragma: no cover - defensive
        candidate -= _ONE_DAY
    return candidate


class WorkingCalendar:
    """Working days for one area: weekdays minus its nation's bank holidays and its
    own closure days.

    Holidays are computed per year on first use and cached on the instance, so a
    calendar can be kept for the life of a Lambda container.
    """

    def __init__(self, nation: str, closure_days: Iterable[date] = ()) -> None:
        if not isinstance(nation, str) or nation not in NATIONS:
            # 'GB' alone is refused: holidays.country_holidays('GB') without a subdivision
            # omits Easter Monday and the August bank holiday, which would shorten deadlines.
            raise UnknownNation(
                f"Unknown nation {nation!r}: expected one of {', '.join(NATIONS)}"
            )
        self.nation: str = nation
        self.closure_days: frozenset[date] = frozenset(
            _require_date(d, "closure day") for d in closure_days
        )
        self._closures_by_year: dict[int, list[date]] = {}
        for d in self.closure_days:
            self._closures_by_year.setdefault(d.year, []).append(d)
        # year -> {date: bank-holiday name}, every day the library lists (weekends too)
        self._names: dict[int, dict[date, str]] = {}
        # year -> sorted weekdays that are not working days (bank holidays + closures)
        self._blocked: dict[int, list[date]] = {}

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.nation!r}, closure_days={len(self.closure_days)})"

    # ----- per-year cache -------------------------------------------------------------

    def _bank_holidays(self, year: int) -> dict[date, str]:
        """Bank holidays for one year, built once; `holidays` is imported here, not at
        module import, to keep Lambda cold starts fast."""
        names = self._names.get(year)
        if names is None:
            import holidays  # lazy on purpose

            # Always pass the nation: without subdiv, GB misses Easter Monday and the
            # August bank holiday. Copy to a plain dict so later look-ups never make the
            # library expand to other years behind our back.
            names = {
                d: str(name)
                for d, name in holidays.country_holidays(
                    "GB", subdiv=self.nation, years=year
                ).items()
                if d.year == year
            }
            self._names[year] = names
        return names

    def _blocked_weekdays(self, year: int) -> list[date]:
        """Sorted Mondays-Fridays of ``year`` that are not working days."""
        blocked = self._blocked.get(year)
        if blocked is None:
            days = set(self._bank_holidays(year))
            days.update(self._closures_by_year.get(year, ()))
            blocked = sorted(d for d in days if d.weekday() < 5)
            self._blocked[year] = blocked
        return blocked

    def _blocked_between(self, start: date, end: date) -> int:
        """Count non-working weekdays d with start < d <= end."""
        count = 0
        for year in range(start.year, end.year + 1):
            blocked = self._blocked_weekdays(year)
            if not blocked:
                continue
            lo = bisect_right(blocked, start) if year == start.year else 0
            hi = bisect_right(blocked, end) if year == end.year else len(blocked)
            count += max(0, hi - lo)
        return count

    # ----- public API -----------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True on a Monday-Friday that is neither a bank holiday nor a closure day."""
        _require_date(day, "day")
        if day.weekday() >= 5:
            return False
        blocked = self._blocked_weekdays(day.year)
        i = bisect_left(blocked, day)
        return not (i < len(blocked) and blocked[i] == day)

    def holiday_name(self, day: date) -> str | None:
        """Why ``day`` is closed, for letters and the UI: the bank-holiday name (even on a
        weekend), else "Local closure day" for a closure day, else None."""
        _require_date(day, "day")
        name = self._bank_holidays(day.year).get(day)
        if name is not None:
            return name
        if day in self.closure_days:
            return LOCAL_CLOSURE_NAME
        return None

    def working_days_after(self, start: date, n: int) -> date:
        """The Nth working day after ``start`` ("within N working days of start").

        ``start`` itself never counts, whatever day it is. n must be >= 1: a deadline of
        zero working days has no meaning here, so it is refused rather than guessed.
        """
        _require_date(start, "start")
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r}")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        # Jump by weekdays, then top up for the holidays the jump crossed. A jump of k
        # weekdays adds at most k working days, so the count never overshoots n; and it
        # only reaches n when every weekday of the last jump, including the one we land
        # on, was a working day. So the final candidate is itself the Nth working day.
        candidate = _add_weekdays(start, n)
        missing = n - self.working_days_between(start, candidate)
        while missing > 0:
            candidate = _add_weekdays(candidate, missing)
            missing = n - self.working_days_between(start, candidate)
        return candidate

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days d with start < d <= end (0 if end <= start).

        The inverse of working_days_after, used to show "N working days left/overdue".
        Weekdays are counted arithmetically, so multi-year spans cost only a few look-ups.
        """
        _require_date(start, "start")
        _require_date(end, "end")
        if end <= start:
            return 0
        weekdays = _weekdays_through(end) - _weekdays_through(start)
        return weekdays - self._blocked_between(start, end)

    def next_working_day_on_or_after(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it (e.g. when
        a request arrives on a weekend or bank holiday)."""
        _require_date(day, "day")
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day
