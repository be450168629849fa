"""Working-day deadlines: real UK bank-holiday dates per nation, closure days, and the
round-trip property between working_days_after and working_days_between."""
from __future__ import annotations

import subprocess
import sys
from bisect import bisect_right
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import pytest

from chalicelib.domain.calendar import (
    NATIONS,
    UnknownNation,
    WorkingCalendar,
    add_months,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cals() -> dict[str, WorkingCalendar]:
    """One calendar per nation, shared so the per-year holiday cache is reused."""
    return {nation: WorkingCalendar(nation) for nation in NATIONS}


def test_nations_constant() -> None:
    assert NATIONS == ("ENG", "WLS", "SCT", "NIR")


# ----- weekends and the "X itself never counts" rule -----------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Saturday + 1 -> Monday
        (date(2026, 3, 8), 1, date(2026, 3, 9)),  # Sunday + 1 -> Monday
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1 -> Monday
        (date(2026, 3, 9), 1, date(2026, 3, 10)),  # Monday + 1 -> Tuesday, not Monday
        (date(2026, 3, 9), 5, date(2026, 3, 16)),  # Monday + 5 -> next Monday
        (date(2026, 3, 7), 5, date(2026, 3, 13)),  # Saturday + 5 -> Friday
        (date(2026, 3, 6), 10, date(2026, 3, 20)),  # Friday + 10 -> Friday two weeks on
        (date(2026, 3, 2), 20, date(2026, 3, 30)),  # no holidays in March in England
    ],
)
def test_weekends_and_start_not_counted(
    cals: dict[str, WorkingCalendar], start: date, n: int, expected: date
) -> None:
    assert cals["ENG"].working_days_after(start, n) == expected


def test_is_working_day_weekdays_and_weekends(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert eng.is_working_day(date(2026, 3, 9))  # Monday
    assert eng.is_working_day(date(2026, 3, 13))  # Friday
    assert not eng.is_working_day(date(2026, 3, 14))  # Saturday
    assert not eng.is_working_day(date(2026, 3, 15))  # Sunday


def test_next_working_day_on_or_after(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert eng.next_working_day_on_or_after(date(2026, 3, 9)) == date(2026, 3, 9)
    assert eng.next_working_day_on_or_after(date(2026, 3, 7)) == date(2026, 3, 9)
    # Good Friday 3 April 2026 -> weekend -> Easter Monday -> Tuesday 7 April
    assert eng.next_working_day_on_or_after(date(2026, 4, 3)) == date(2026, 4, 7)
    assert eng.next_working_day_on_or_after(date(2026, 12, 25)) == date(2026, 12, 29)
    # Scotland has no Easter Monday
    assert cals["SCT"].next_working_day_on_or_after(date(2026, 4, 3)) == date(2026, 4, 6)


# ----- Christmas and New Year ----------------------------------------------------------


def test_england_christmas_2026_substitute_boxing_day(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert not eng.is_working_day(date(2026, 12, 25))  # Friday
    assert not eng.is_working_day(date(2026, 12, 26))  # Saturday
    assert not eng.is_working_day(date(2026, 12, 28))  # Monday, substitute for Boxing Day
    assert eng.is_working_day(date(2026, 12, 29))
    assert eng.holiday_name(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert eng.working_days_after(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert eng.working_days_after(date(2026, 12, 23), 1) == date(2026, 12, 24)
    assert eng.working_days_after(date(2026, 12, 23), 2) == date(2026, 12, 29)


def test_england_five_working_days_across_christmas_2026(
    cals: dict[str, WorkingCalendar],
) -> None:
    # Mon 21 Dec: counts 22, 23, 24, 29, 30 -> Wednesday 30 December
    eng = cals["ENG"]
    assert eng.working_days_after(date(2026, 12, 21), 5) == date(2026, 12, 30)
    assert eng.working_days_between(date(2026, 12, 21), date(2026, 12, 30)) == 5
    # ...and on past New Year's Day (Fri 1 Jan 2027): 31 Dec, then Mon 4 Jan 2027
    assert eng.working_days_after(date(2026, 12, 21), 6) == date(2026, 12, 31)
    assert eng.working_days_after(date(2026, 12, 21), 7) == date(2027, 1, 4)


def test_england_christmas_2027_two_substitute_days(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert not eng.is_working_day(date(2027, 1, 1))  # New Year's Day, Friday
    assert eng.holiday_name(date(2027, 1, 1)) == "New Year's Day"
    assert eng.holiday_name(date(2027, 12, 25)) == "Christmas Day"  # Saturday
    assert eng.holiday_name(date(2027, 12, 26)) == "Boxing Day"  # Sunday
    assert not eng.is_working_day(date(2027, 12, 27))  # Monday substitute
    assert not eng.is_working_day(date(2027, 12, 28))  # Tuesday substitute
    assert eng.holiday_name(date(2027, 12, 27)) is not None
    assert eng.holiday_name(date(2027, 12, 28)) is not None
    assert eng.working_days_after(date(2027, 12, 24), 1) == date(2027, 12, 29)
    assert eng.working_days_between(date(2027, 12, 24), date(2027, 12, 31)) == 3


# ----- Scotland ------------------------------------------------------------------------


def test_scotland_second_of_january(cals: dict[str, WorkingCalendar]) -> None:
    sct, eng = cals["SCT"], cals["ENG"]
    assert not sct.is_working_day(date(2026, 1, 2))  # Friday, 2 January
    assert eng.is_working_day(date(2026, 1, 2))
    assert sct.working_days_after(date(2025, 12, 31), 1) == date(2026, 1, 5)
    assert eng.working_days_after(date(2025, 12, 31), 1) == date(2026, 1, 2)
    # 2027: 1 Jan Friday, 2 Jan Saturday -> observed Monday 4 January
    assert not sct.is_working_day(date(2027, 1, 1))
    assert not sct.is_working_day(date(2027, 1, 4))
    assert eng.is_working_day(date(2027, 1, 4))
    assert sct.working_days_after(date(2026, 12, 31), 1) == date(2027, 1, 5)


def test_scotland_st_andrews_and_summer_bank_holiday(cals: dict[str, WorkingCalendar]) -> None:
    sct, eng = cals["SCT"], cals["ENG"]
    assert not sct.is_working_day(date(2026, 11, 30))  # St Andrew's Day, Monday
    assert "Andrew" in (sct.holiday_name(date(2026, 11, 30)) or "")
    assert eng.is_working_day(date(2026, 11, 30))
    assert not sct.is_working_day(date(2026, 8, 3))  # first Monday of August
    assert eng.is_working_day(date(2026, 8, 3))
    assert sct.is_working_day(date(2026, 8, 31))  # English late summer holiday only
    assert sct.working_days_after(date(2026, 7, 31), 1) == date(2026, 8, 4)


def test_scotland_has_no_easter_monday(cals: dict[str, WorkingCalendar]) -> None:
    sct = cals["SCT"]
    assert not sct.is_working_day(date(2026, 4, 3))  # Good Friday is a holiday
    assert sct.is_working_day(date(2026, 4, 6))
    assert sct.holiday_name(date(2026, 4, 6)) is None
    assert sct.working_days_after(date(2026, 4, 2), 1) == date(2026, 4, 6)


def test_scotland_one_off_2026_world_cup_day_follows_library(
    cals: dict[str, WorkingCalendar],
) -> None:
    # holidays 0.108 lists 15 June 2026 for Scotland; whatever the library says is a bank
    # holiday is one for us.
    library = holidays.country_holidays("GB", subdiv="SCT", years=2026)
    assert cals["SCT"].is_working_day(date(2026, 6, 15)) == (date(2026, 6, 15) not in library)
    assert cals["ENG"].is_working_day(date(2026, 6, 15))


# ----- England and Wales ---------------------------------------------------------------


@pytest.mark.parametrize("nation", ["ENG", "WLS"])
def test_england_and_wales_easter_and_late_summer(
    cals: dict[str, WorkingCalendar], nation: str
) -> None:
    cal = cals[nation]
    assert not cal.is_working_day(date(2026, 4, 3))  # Good Friday
    assert not cal.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not cal.is_working_day(date(2026, 8, 31))  # late summer bank holiday
    assert cal.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert cal.holiday_name(date(2026, 4, 6)) == "Easter Monday"
    assert cal.working_days_after(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert cal.working_days_after(date(2026, 8, 28), 1) == date(2026, 9, 1)


def test_one_off_national_days_2022_2023(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert not eng.is_working_day(date(2022, 9, 19))  # State funeral
    assert not eng.is_working_day(date(2023, 5, 8))  # Coronation
    assert eng.working_days_after(date(2022, 9, 16), 1) == date(2022, 9, 20)


# ----- Northern Ireland ----------------------------------------------------------------


def test_northern_ireland_holidays(cals: dict[str, WorkingCalendar]) -> None:
    nir, eng = cals["NIR"], cals["ENG"]
    assert not nir.is_working_day(date(2026, 3, 17))  # St Patrick's Day, Tuesday
    assert "Patrick" in (nir.holiday_name(date(2026, 3, 17)) or "")
    assert eng.is_working_day(date(2026, 3, 17))
    # 12 July 2026 is a Sunday -> Battle of the Boyne observed Monday 13 July
    assert not nir.is_working_day(date(2026, 7, 13))
    assert "Boyne" in (nir.holiday_name(date(2026, 7, 13)) or "")
    assert eng.is_working_day(date(2026, 7, 13))
    assert nir.working_days_after(date(2026, 7, 10), 1) == date(2026, 7, 14)
    assert not nir.is_working_day(date(2026, 4, 6))  # NI keeps Easter Monday
    assert not nir.is_working_day(date(2026, 8, 31))


# ----- the GB-without-subdivision trap -------------------------------------------------


def test_gb_without_subdivision_trap() -> None:
    bare_gb = holidays.country_holidays("GB", years=2026)
    easter_monday, late_summer = date(2026, 4, 6), date(2026, 8, 31)
    # The trap this guards against: the library default drops both days ...
    assert easter_monday not in bare_gb
    assert late_summer not in bare_gb
    # ... but our English calendar treats them as non-working.
    eng = WorkingCalendar("ENG")
    assert not eng.is_working_day(easter_monday)
    assert not eng.is_working_day(late_summer)


# ----- local closure days --------------------------------------------------------------


def test_local_closure_days_are_skipped() -> None:
    closures = [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    eng = WorkingCalendar("ENG", closure_days=closures)
    assert eng.closure_days == frozenset(closures)
    for day in closures:
        assert not eng.is_working_day(day)
        assert eng.holiday_name(day) == "Local closure day"
    # 25 (Fri), 28 (substitute), 29-31 (closures), 1 Jan 2027 (Fri) -> Monday 4 January
    assert eng.working_days_after(date(2026, 12, 24), 1) == date(2027, 1, 4)
    assert eng.working_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 1
    assert eng.next_working_day_on_or_after(date(2026, 12, 29)) == date(2027, 1, 4)
    # the same closures in Scotland, where 4 January 2027 is also a holiday
    sct = WorkingCalendar("SCT", closure_days=closures)
    assert sct.working_days_after(date(2026, 12, 24), 1) == date(2027, 1, 5)


def test_closure_days_do_not_leak_between_calendars(cals: dict[str, WorkingCalendar]) -> None:
    WorkingCalendar("ENG", closure_days=[date(2026, 3, 10)])
    assert cals["ENG"].is_working_day(date(2026, 3, 10))
    assert cals["ENG"].holiday_name(date(2026, 3, 10)) is None


def test_closure_day_on_weekend_or_bank_holiday() -> None:
    eng = WorkingCalendar("ENG", closure_days=[date(2026, 3, 7), date(2026, 4, 6)])
    assert eng.holiday_name(date(2026, 3, 7)) == "Local closure day"
    assert eng.holiday_name(date(2026, 4, 6)) == "Easter Monday"  # bank holiday name wins
    # no double counting: Saturday closure + Easter Monday closure change nothing
    plain = WorkingCalendar("ENG")
    for n in range(1, 15):
        start = date(2026, 3, 5)
        assert eng.working_days_after(start, n) == plain.working_days_after(start, n)


def test_closure_days_accepts_any_iterable() -> None:
    eng = WorkingCalendar("ENG", closure_days=(d for d in [date(2026, 3, 10)]))
    assert not eng.is_working_day(date(2026, 3, 10))
    assert eng.working_days_after(date(2026, 3, 9), 1) == date(2026, 3, 11)


def test_holiday_name(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    assert eng.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert eng.holiday_name(date(2026, 12, 26)) == "Boxing Day"  # on a Saturday, still named
    assert eng.holiday_name(date(2026, 3, 10)) is None  # ordinary Tuesday
    assert eng.holiday_name(date(2026, 3, 14)) is None  # ordinary Saturday


# ----- working_days_between ------------------------------------------------------------


def test_working_days_between_basics(cals: dict[str, WorkingCalendar]) -> None:
    eng = cals["ENG"]
    monday = date(2026, 3, 9)
    assert eng.working_days_between(monday, monday) == 0
    assert eng.working_days_between(monday, monday - timedelta(days=3)) == 0
    assert eng.working_days_between(monday, monday + timedelta(days=1)) == 1
    assert eng.working_days_between(date(2026, 3, 6), date(2026, 3, 8)) == 0  # Fri -> Sun
    assert eng.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Fri -> Mon
    # 2026 in England: 261 weekdays minus 8 weekday bank holidays (26 Dec is a Saturday)
    assert eng.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 253


def _reference_working_days(nation: str, first: date, last: date) -> list[date]:
    """Working days straight from the library, day by day: an independent oracle."""
    bank = holidays.country_holidays(
        "GB", subdiv=nation, years=range(first.year, last.year + 1)
    )
    out, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in bank:
            out.append(day)
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize("nation", NATIONS)
def test_round_trip_every_day_of_2026_2027(
    cals: dict[str, WorkingCalendar], nation: str
) -> None:
    """Exhaustive property: for every start in 2026-2027 and n in 1..25,
    working_days_between(x, working_days_after(x, n)) == n, and the date matches an
    independent day-by-day count from the library."""
    cal = cals[nation]
    oracle = _reference_working_days(nation, date(2025, 12, 1), date(2028, 3, 31))
    start, stop = date(2026, 1, 1), date(2027, 12, 31)
    while start <= stop:
        first_after = bisect_right(oracle, start)
        for n in range(1, 26):
            due = cal.working_days_after(start, n)
            assert due == oracle[first_after + n - 1], (nation, start, n)
            assert cal.working_days_between(start, due) == n, (nation, start, n)
            # the day before the deadline is still short of n
            assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1
        start += timedelta(days=1)


def test_round_trip_with_closure_days() -> None:
    closures = [date(2026, 2, 16), date(2026, 2, 17), date(2026, 12, 29), date(2027, 1, 5)]
    cal = WorkingCalendar("SCT", closure_days=closures)
    start = date(2026, 1, 1)
    while start <= date(2027, 1, 31):
        for n in (1, 2, 5, 10, 20):
            due = cal.working_days_after(start, n)
            assert cal.is_working_day(due)
            assert due not in closures
            assert cal.working_days_between(start, due) == n
        start += timedelta(days=1)


def test_long_spans_match_day_by_day_count() -> None:
    for nation in NATIONS:
        cal = WorkingCalendar(nation, closure_days=[date(2031, 6, 3), date(2044, 2, 1)])
        start, end = date(2019, 12, 31), date(2049, 12, 31)
        oracle = _reference_working_days(nation, start + timedelta(days=1), end)
        expected = len(oracle) - 2  # both closure days are weekday working days
        assert cal.working_days_between(start, end) == expected
        assert cal.working_days_after(start, expected) == oracle[-1]
        assert cal.working_days_after(start, 1000) == [
            d for d in oracle if d not in cal.closure_days
        ][999]


# ----- invalid input -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["GB", "XX", "eng", "", "England"])
def test_unknown_nation(bad: str) -> None:
    with pytest.raises(UnknownNation) as excinfo:
        WorkingCalendar(bad)
    message = str(excinfo.value)
    assert repr(bad) in message
    for nation in NATIONS:
        assert nation in message


def test_unknown_nation_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar("XX")


@pytest.mark.parametrize("n", [0, -1])
def test_n_must_be_at_least_one(cals: dict[str, WorkingCalendar], n: int) -> None:
    with pytest.raises(ValueError):
        cals["ENG"].working_days_after(date(2026, 3, 9), n)


def test_datetimes_are_refused(cals: dict[str, WorkingCalendar]) -> None:
    # a datetime never equals a date, so it would silently miss every holiday
    with pytest.raises(TypeError):
        cals["ENG"].is_working_day(datetime(2026, 4, 6, 9, 0))
    with pytest.raises(TypeError):
        WorkingCalendar("ENG", closure_days=[datetime(2026, 3, 10)])


def test_holidays_is_imported_lazily() -> None:
    """Importing the module (and building a calendar) must not import `holidays`."""
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from chalicelib.domain.calendar import WorkingCalendar\n"
        "cal = WorkingCalendar('ENG')\n"
        "assert 'holidays' not in sys.modules, 'imported at module level'\n"
        "assert not cal.is_working_day(date(2026, 4, 6))\n"
        "assert 'holidays' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# ----- add_months ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 8, 31), -6, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 1, 15), 6, date(2026, 7, 15)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2027, 1, 31), -1, date(2026, 12, 31)),
        (date(2026, 5, 31), -12, date(2025, 5, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 5, 17), 0, date(2026, 5, 17)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
