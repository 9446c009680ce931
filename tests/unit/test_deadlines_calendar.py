"""The working-day calendar: the package's holidays and make-up workdays, overrides, unknown years."""

from __future__ import annotations

import datetime as dt

import pytest

from server.deadlines.calendar import CalendarGap, WorkingCalendar, package_years

D = dt.date
CAL = WorkingCalendar()


def test_make_up_workday_and_national_day_week() -> None:
    assert CAL.is_working_day(D(2025, 9, 28))  # a Sunday worked in lieu (调休)
    assert CAL.is_working_day(D(2025, 10, 11))  # a Saturday worked in lieu
    assert not CAL.is_working_day(D(2025, 9, 27))  # an ordinary Saturday
    for day in range(1, 9):  # 2025 National Day and Mid-Autumn: 1–8 October off
        assert not CAL.is_working_day(D(2025, 10, day))
    assert CAL.is_working_day(D(2025, 10, 9))


def test_add_working_days_skips_the_holiday_week_and_counts_make_up_days() -> None:
    assert CAL.add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 28)  # the start day is not counted
    assert CAL.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    # 20 working days after Friday 26 September 2025: 28, 29, 30 Sep, 9, 10, 11 (Sat), 13 … 30 Oct.
    assert CAL.add_working_days(D(2025, 9, 26), 20) == D(2025, 10, 30)
    # Without the holiday week it is four weeks: 20 working days after Monday 2 June 2025 (Dragon
    # Boat Festival was 31 May – 2 June) is Monday 30 June.
    assert CAL.add_working_days(D(2025, 6, 2), 20) == D(2025, 6, 30)
    with pytest.raises(ValueError, match="at least 1"):
        CAL.add_working_days(D(2025, 6, 2), 0)


def test_working_days_between() -> None:
    assert CAL.working_days_between(D(2025, 9, 30), D(2025, 10, 9)) == 1
    assert CAL.working_days_between(D(2025, 10, 9), D(2025, 9, 30)) == -1
    assert CAL.working_days_between(D(2025, 10, 9), D(2025, 10, 9)) == 0
    assert CAL.working_days_between(D(2025, 9, 26), D(2025, 10, 30)) == 20


def test_overrides_win_over_the_package() -> None:
    cal = WorkingCalendar({D(2025, 10, 9): False, D(2025, 10, 4): True})
    assert cal.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 4)
    assert cal.add_working_days(D(2025, 10, 4), 1) == D(2025, 10, 10)
    assert cal.source(D(2025, 10, 9)) == "override" and cal.source(D(2025, 10, 8)) == "package"


def test_unknown_years_are_refused_unless_declared_or_overridden() -> None:
    first, last = package_years()
    assert first <= 2025 <= last
    beyond = last + 3
    with pytest.raises(CalendarGap) as caught:
        CAL.is_working_day(D(beyond, 1, 5))
    assert caught.value.day == D(beyond, 1, 5) and str(beyond) in str(caught.value)
    # An override covers its own day only.
    single = WorkingCalendar({D(beyond, 1, 1): False})
    assert single.is_working_day(D(beyond, 1, 1)) is False
    with pytest.raises(CalendarGap):
        single.add_working_days(D(beyond, 1, 1), 1)
    assert single.source(D(beyond, 1, 2)) == "unknown"
    # A declared year follows Monday–Friday, except for its overrides.
    declared = WorkingCalendar({D(beyond, 1, 1): False}, frozenset({beyond}))
    monday = next(D(beyond, 1, d) for d in range(2, 9) if D(beyond, 1, d).weekday() == 0)
    assert declared.is_working_day(monday)
    assert not declared.is_working_day(monday - dt.timedelta(days=1))
    assert not declared.is_working_day(D(beyond, 1, 1))
    assert declared.source(monday) == "declared"
    # A count that runs from a known year into an undeclared one is refused, not guessed.
    with pytest.raises(CalendarGap):
        CAL.add_working_days(D(last, 12, 20), 20)
