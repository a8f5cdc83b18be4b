"""Airports by IATA code (airportsdata): country, time zone, and great-circle distance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import airportsdata

EARTH_RADIUS_KM = 6371.0  # mean radius (IUGG), the usual choice for great-circle distances


@dataclass(frozen=True, slots=True)
class Airport:
    code: str
    country: str  # ISO 3166-1 alpha-2
    timezone: str  # IANA
    lat: float
    lon: float


@cache
def _airports() -> dict[str, airportsdata.Airport]:
    return airportsdata.load("IATA")


@cache  # a run meets the same few airports again and again
def airport(code: str) -> Airport | None:
    """The airport with IATA code ``code``, or None if airportsdata does not know it."""
    row = _airports().get(code.upper())
    if row is None:
        return None
    return Airport(code.upper(), row["country"], row["tz"], float(row["lat"]), float(row["lon"]))


def distance_km(a: Airport, b: Airport) -> float:
    """Great-circle distance (haversine) between two airports, in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
