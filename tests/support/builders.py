"""Small builders shared by the tests: valid orders as JSON dicts, and deciding one.

``flight()`` and ``hotel()`` return the issue's two example orders; keyword arguments
replace top-level fields (``flight(id="X", fare={...})``). Helpers for the usual nested
changes (fare class, departure, rate plan, ...) are separate, so each test states only
what it is about.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from refundctl.engine import Decision, decide
from refundctl.orders.parse import parse_order
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies

FLIGHT: dict[str, Any] = {
    "id": "ZA-1001",
    "kind": "flight",
    "supplier": "ZA",
    "currency": "CNY",
    "booked_at": "2026-11-01T10:00:00+08:00",
    "channel": "online",
    "payment_method": "card",
    "traveler_tags": [],
    "waiver_codes": [],
    "fare": {
        "class": "M",
        "base": "1000.00",
        "taxes": [{"code": "CN", "amount": "50.00"}, {"code": "YQ", "amount": "30.00"}],
        "fees": [{"code": "service", "amount": "20.00"}],
    },
    "ancillaries": [{"code": "bag", "amount": "100.00", "used": False}],
    "segments": [
        {
            "from": "PVG",
            "to": "PEK",
            "carrier": "ZA",
            "flight": "ZA123",
            "departs_at": "2026-12-01T08:00:00+08:00",
            "arrives_at": "2026-12-01T10:15:00+08:00",
            "status": "scheduled",
        }
    ],
    "change_accepted": False,
}

HOTEL: dict[str, Any] = {
    "id": "HH-2001",
    "kind": "hotel",
    "supplier": "HARBOR-SHA",
    "currency": "CNY",
    "booked_at": "2026-11-01T10:00:00+08:00",
    "channel": "app",
    "payment_method": "card",
    "traveler_tags": [],
    "waiver_codes": [],
    "stay": {
        "check_in": "2026-12-10",
        "nights": 2,
        "rooms": 1,
        "timezone": "Asia/Shanghai",
        "rate_plan": "flex",
        "nightly": ["500.00", "500.00"],
    },
    "taxes": [{"code": "VAT", "amount": "60.00"}],
    "fees": [],
    "status": "confirmed",
}


def flight(**overrides: Any) -> dict[str, Any]:
    """The example flight order ZA-1001 (class M, departs 2026-12-01T08:00+08:00), with overrides."""
    order = copy.deepcopy(FLIGHT)
    order.update(copy.deepcopy(overrides))
    return order


def hotel(**overrides: Any) -> dict[str, Any]:
    """The example hotel order HH-2001 (flex, check-in 2026-12-10, 2 nights), with overrides."""
    order = copy.deepcopy(HOTEL)
    order.update(copy.deepcopy(overrides))
    return order


def with_fare(order: dict[str, Any], **fare: Any) -> dict[str, Any]:
    """``order`` with fields of its fare replaced (``class`` is a keyword: pass ``**{"class": "Y"}``)."""
    order["fare"].update(fare)
    return order


def with_stay(order: dict[str, Any], **stay: Any) -> dict[str, Any]:
    order["stay"].update(stay)
    return order


@cache
def shipped_policies() -> PolicySet:
    return load_policies()


def decide_dict(order_dict: dict[str, Any], as_of_str: str, policies: PolicySet | None = None) -> Decision:
    """Parse ``order_dict`` (it must be valid) and decide it at ``as_of_str`` (ISO 8601 with offset)."""
    order, problems = parse_order(order_dict)
    assert order is not None, [f"{p.path}: {p.message}" for p in problems]
    as_of = datetime.fromisoformat(as_of_str)
    assert as_of.tzinfo is not None, "as_of needs a UTC offset"
    return decide(order, policies or shipped_policies(), as_of)


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def write_jsonl(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


def cli_env(tmp_path: Path, token: str) -> dict[str, str | None]:
    """Environment for a CLI test: this token, and nothing from the developer's own config."""
    return {
        "REFUNDCTL_TOKEN": token,
        "REFUNDCTL_PAYMENTS_TOKEN": None,
        "REFUNDCTL_API": None,
        "REFUNDCTL_CONFIG": None,
        "REFUNDCTL_PROFILE": None,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
    }


# A goodwill code waives the 20.00 refund fee at the platform's cost: supplier 1530.00, platform 20.00.
GOODWILL: dict[str, Any] = flight(
    id="GW-1",
    channel="callcenter",
    waiver_codes=["GW-FEE"],
    booked_at="2026-11-10T12:00:00+08:00",
    payment_reference="pi_3GW1",
    fare={
        "class": "Y",
        "base": "1500.00",
        "taxes": [{"code": "CN", "amount": "50.00"}],
        "fees": [{"code": "service", "amount": "10.00"}],
    },
    ancillaries=[],
    segments=[
        {
            "from": "PVG", "to": "PEK", "carrier": "ZA", "flight": "ZA1502",
            "departs_at": "2027-06-05T07:30:00+08:00", "arrives_at": "2027-06-05T09:45:00+08:00",
            "status": "scheduled",
        }
    ],
)  # fmt: skip


class _Closable(Protocol):
    async def aclose(self) -> None: ...


A = TypeVar("A", bound=_Closable)
T = TypeVar("T")


def with_adapter(make: Callable[[], A], fn: Callable[[A], Awaitable[T]]) -> T:
    """``fn`` on an adapter made inside a fresh event loop (its client belongs to it), closed afterwards."""

    async def go() -> T:
        adapter = make()
        try:
            return await fn(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())
