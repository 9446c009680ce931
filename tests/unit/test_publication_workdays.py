"""Working days for the publication due date: statutory holidays and make-up workdays."""

from __future__ import annotations

import datetime as dt

from server.publication.services import is_working_day, next_working_day


def test_next_working_day_knows_holidays_and_make_up_workdays() -> None:
    assert next_working_day(dt.date(2025, 6, 5)) == dt.date(2025, 6, 6)  # Thursday → Friday
    assert next_working_day(dt.date(2025, 6, 6)) == dt.date(2025, 6, 9)  # Friday → Monday
    assert next_working_day(dt.date(2025, 9, 26)) == dt.date(2025, 9, 28)  # Sunday 9-28 is a make-up workday
    assert next_working_day(dt.date(2025, 9, 30)) == dt.date(2025, 10, 9)  # National Day holidays 10-1…10-8
    assert next_working_day(dt.date(2031, 1, 3)) == dt.date(2031, 1, 6)  # beyond the package: Mon–Fri


def test_is_working_day() -> None:
    assert is_working_day(dt.date(2025, 9, 28))  # a Sunday, but a make-up workday (调休)
    assert not is_working_day(dt.date(2025, 10, 1))  # National Day
    assert not is_working_day(dt.date(2025, 6, 7))  # a plain Saturday
