"""Instants as text: the one UTC format of every output, journal and API answer."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


# Cached: strftime is slow, and a bulk run writes the same few hundred instants again and
# again (equal instants are equal keys whatever their zone, and have one UTC form).
@lru_cache(maxsize=4096)
def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
