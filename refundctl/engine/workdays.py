"""Regulation deadlines: calendar days, or working days of one country's official calendar.

A working day is the calendar's (python-holidays ``is_working_day``): a weekday that is not
a public holiday or a scheduled day off, or a weekend day the country makes a working day
(China's adjusted working weekends, 调休). For countries without such weekends (the US)
that is every weekday without a public holiday. The count starts the day after the
request's date, taken in the deadline's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from refundctl.policy.model import Due


@cache
def _calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def request_date(due: Due, requested: datetime) -> date:
    """The date a deadline counts from: the request's local date in ``due.timezone``."""
    return requested.astimezone(ZoneInfo(due.timezone)).date()


def due_date(due: Due, start: date) -> date:
    """``due.days`` after ``start``: calendar days, or working days (``due.holidays``' calendar, else weekdays)."""
    if not due.business_days:
        return start + timedelta(days=due.days)
    calendar = _calendar(due.holidays) if due.holidays else None
    day, left = start, due.days
    while left:
        day += timedelta(days=1)
        if calendar.is_working_day(day) if calendar is not None else day.weekday() < 5:
            left -= 1
    return day


def provisional(due: Due, day: date) -> bool:
    """Whether a due date counted through ``day`` reaches a year whose official calendar is not published yet."""
    return due.published_through is not None and day.year > due.published_through
