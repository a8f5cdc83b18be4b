"""IANA time zone names, checked as names before anything is loaded.

``ZoneInfo(name)`` turns a name into a file path under the tz database: a 300-character
name fails with OSError ("File name too long"), and a relative path is looked up as given.
:func:`iana_zone` only accepts names the database lists.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from refundctl.errors import shown


@cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


def iana_zone(name: str) -> ZoneInfo:
    """The zone called ``name``; ValueError naming what was expected when it is not one."""
    if name not in _names():
        raise ValueError(f"expected an IANA time zone such as Asia/Shanghai, got {shown(name)}")
    return ZoneInfo(name)
