"""Deterministic synthetic orders for benchmarks: ``python bench/generate.py N > orders.jsonl``."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

FLIGHT_CLASSES = ("Y", "B", "M", "H", "V", "Q")
RATE_PLANS = ("flex", "semi", "advance")
START = datetime(2026, 11, 1, tzinfo=UTC)


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def flight(
    order_id: str, booked: str, departs: datetime, fare: tuple[str, int, int], flight_no: str = "ZA123"
) -> dict[str, Any]:
    """One single-segment Zephyr Air flight; ``fare`` is (class, base, YQ tax) in whole CNY."""
    fare_class, base, yq = fare
    return {
        "id": order_id, "kind": "flight", "supplier": "ZA", "currency": "CNY", "booked_at": booked,
        "channel": "online", "payment_method": "card", "traveler_tags": [], "waiver_codes": [],
        "fare": {"class": fare_class, "base": f"{base}.00",
                 "taxes": [{"code": "CN", "amount": "50.00"}, {"code": "YQ", "amount": f"{yq}.00"}],
                 "fees": [{"code": "service", "amount": "20.00"}]},
        "ancillaries": [{"code": "bag", "amount": "100.00", "used": False}],
        "segments": [{"from": "PVG", "to": "PEK", "carrier": "ZA", "flight": flight_no,
                      "departs_at": _iso(departs), "arrives_at": _iso(departs + timedelta(hours=2)),
                      "status": "scheduled"}],
        "change_accepted": False,
    }  # fmt: skip


def refundable(count: int, prefix: str = "BENCH") -> Iterator[dict[str, Any]]:
    """Standard-fare flights departing in 2027: each refundable (at least 500.00 CNY) at any --as-of before then."""
    booked = _iso(START)
    for n in range(count):
        yield flight(f"{prefix}-{n}", booked, datetime(2027, 6, 1, 8, tzinfo=UTC), ("M", 1000, 30))


def orders(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(count):
        departs = START + timedelta(hours=rng.randint(0, 24 * 60))
        booked = _iso(START - timedelta(days=rng.randint(1, 60)))
        if rng.random() < 0.7:
            fare = (rng.choice(FLIGHT_CLASSES), rng.randint(200, 5000), rng.randint(0, 90))
            yield flight(f"B-{i:07d}", booked, departs, fare, flight_no=f"ZA{rng.randint(100, 999)}")
        else:
            nights = rng.randint(1, 4)
            yield {
                "id": f"B-{i:07d}", "kind": "hotel", "supplier": "HARBOR-SHA", "currency": "CNY", "booked_at": booked,
                "channel": "app", "payment_method": "card", "traveler_tags": [], "waiver_codes": [],
                "stay": {"check_in": departs.date().isoformat(), "nights": nights, "rooms": rng.randint(1, 3),
                         "timezone": "Asia/Shanghai", "rate_plan": rng.choice(RATE_PLANS),
                         "nightly": [f"{rng.randint(300, 900)}.00" for _ in range(nights)]},
                "taxes": [{"code": "VAT", "amount": f"{rng.randint(10, 99)}.{rng.randint(0, 99):02d}"}], "fees": [],
                "status": "confirmed",
            }  # fmt: skip


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = sys.stdout
    for order in orders(count):
        out.write(json.dumps(order, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
