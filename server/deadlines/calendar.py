"""China's working-day calendar: statutory holidays and make-up workdays (调休), with overrides.

Pure logic, no Flask and no database: ``WorkingCalendar`` is built from the admin overrides and the
years an admin declared (``services.working_calendar`` loads them). Precedence for one day:

1. an override (a day declared workday or holiday, with a note) always wins;
2. in a year an admin declared, days follow the weekday rule (Monday–Friday) — the admin enters
   that year's holidays and make-up workdays as overrides, for years the package does not know yet;
3. otherwise the ``chinese_calendar`` package, which knows both holidays and make-up workdays
   (Sunday 2025-09-28 was a workday);
4. a date in none of these is refused (``CalendarGap``): guessing would silently move deadlines.

Counting follows the rule for legal periods (期间开始的日不计算在内): the day of the anchor itself is
never counted, so the 1st working day after Friday 2025-09-26 is Sunday 2025-09-28.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar

OVERRIDE_KINDS = ("workday", "holiday")
# No deadline reaches further than this: a loop bound, so a calendar of only holidays cannot hang.
MAX_SPAN_DAYS = 3 * 366


class CalendarGap(Exception):
    """The calendar does not know whether ``day`` is a working day."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(f"no working-day data for {day.isoformat()} (year {day.year})")
        self.day = day


def package_years() -> tuple[int, int]:
    """The first and last year the installed ``chinese_calendar`` has data for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def package_is_workday(day: dt.date) -> bool | None:
    """The package's answer, or None when the year is outside its data."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class WorkingCalendar:
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)  # day → is a working day
    declared_years: frozenset[int] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.declared_years:
            return day.weekday() < 5
        known = package_is_workday(day)
        if known is None:
            raise CalendarGap(day)
        return known

    def knows_year(self, year: int) -> bool:
        """Whether every day of ``year`` has an answer (the package's data or a declared year)."""
        first, last = package_years()
        return year in self.declared_years or first <= year <= last

    def source(self, day: dt.date) -> str:
        """Where the answer for ``day`` comes from: override | declared | package | unknown."""
        if day in self.overrides:
            return "override"
        if day.year in self.declared_years:
            return "declared"
        return "package" if package_is_workday(day) is not None else "unknown"

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted; days ≥ 1)."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day, counted = start, 0
        for _ in range(MAX_SPAN_DAYS):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return day
        raise CalendarGap(day)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d ≤ end; negative (the same count) when end is before start.

        ``working_days_between(today, due)`` is the number of working days left until a deadline:
        0 on the day itself, 1 on the working day before it.
        """
        if end < start:
            return -self.working_days_between(end, start)
        if (end - start).days > MAX_SPAN_DAYS:
            raise ValueError("span too long")
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count
