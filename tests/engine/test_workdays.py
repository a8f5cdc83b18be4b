"""Due dates in calendar, business or working days (refundctl/engine/workdays.py).

US DOT, 14 CFR 260.6 and 374.3: business days skip weekends and US federal holidays.
CAAC 2021: 7 working days on China's official schedule, adjusted weekend days included.
"""

from __future__ import annotations

from datetime import date

import pytest

from refundctl.engine.workdays import due_date
from refundctl.policy.model import Due


@pytest.mark.parametrize(
    ("start", "due", "expected"),
    [
        (date(2026, 11, 25), Due(7, True, "US"), date(2026, 12, 7)),
        (date(2026, 7, 1), Due(7, True, "US"), date(2026, 7, 13)),  # Independence Day observed Fri 3 July
        (date(2026, 12, 31), Due(1, True, "US"), date(2027, 1, 4)),  # New Year's Day, then a weekend
        (date(2026, 11, 25), Due(7), date(2026, 12, 2)),
    ],
)
def test_due_dates(start: date, due: Due, expected: date) -> None:
    assert due_date(due, start) == expected


# China --------------------------------------------------------------------------------------

CN_DUE = Due(7, True, "CN", timezone="Asia/Shanghai", published_through=2026)


def test_china_working_days_count_the_adjusted_saturday_after_chinese_new_year() -> None:
    """CAAC 2021 (7 working days) and the State Council's 2026 schedule: 02-15 to 02-23 off, 02-14 and 02-28 worked."""
    assert due_date(CN_DUE, date(2026, 2, 12)) == date(2026, 2, 28)
    assert due_date(CN_DUE, date(2026, 2, 11)) == date(2026, 2, 27)
    weekdays_only = Due(7, True, None)  # every weekend skipped: what a China deadline must not be
    assert due_date(weekdays_only, date(2026, 2, 12)) == date(2026, 2, 23)


def test_china_working_days_across_national_day_count_saturday_10_10() -> None:
    """CAAC 2021 and the 2026 schedule: 10-01 to 10-07 off, Saturday 10-10 worked, Sunday 10-11 not."""
    assert due_date(CN_DUE, date(2026, 9, 29)) == date(2026, 10, 14)
    assert due_date(CN_DUE, date(2026, 9, 30)) == date(2026, 10, 15)


def test_us_business_days_are_unchanged_by_the_calendar_mechanism() -> None:
    """14 CFR 374.3: 7 business days skip weekends and US federal holidays (Thanksgiving 2026-11-26)."""
    assert due_date(Due(7, True, "US"), date(2026, 11, 25)) == date(2026, 12, 7)
