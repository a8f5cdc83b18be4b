"""``submit --dry-run``'s estimate: per target, what it will be sent and how long that takes at its rate limit.

A target is sent its supplier legs: one request each, or two where the quote is asked first
(``--verify-quote`` with an adapter that offers quotes); a supplier leg of zero sends nothing.
At a target's rate limit those requests take at least ``requests / rate`` seconds, since the
limiter spaces them evenly; the targets are sent to side by side, so the run takes as long as
its slowest target. The figures are lower bounds: retries and a slow API only add to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from refundctl.adapters import ADAPTERS
from refundctl.submit.journal import Plan
from refundctl.submit.legs import Due

COLUMNS = ("target", "api", "adapter", "orders", "total", "requests", "rate", "estimate")
NO_LIMIT = "no limit"


class Pace(NamedTuple):
    """Where a target is and how fast it may be sent to (``rate`` None: no limit)."""

    api: str | None
    adapter: str
    rate: float | None


def duration(seconds: float) -> str:
    """``5 h 33 min``, ``12 min``, ``40.0 s``: as an operator reads a run's length."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def requests_per_leg(adapter: str, verify_quote: bool) -> int:
    """A supplier leg's requests: the refund, and its quote first where asked for and offered."""
    quotes = verify_quote and bool(getattr(ADAPTERS.get(adapter), "supports_quotes", False))
    return 2 if quotes else 1


def estimate(plans: Iterable[Plan], paces: Mapping[str, Pace], verify_quote: bool) -> tuple[list[dict[str, Any]], str]:
    """One row per target with orders (in ``paces``' order), and the line that says how long the run takes."""
    due = Due()
    for plan in plans:
        due.add(plan)
    rows: list[dict[str, Any]] = []
    slowest: tuple[float, str] | None = None
    unlimited = []
    for name, pace in paces.items():
        group = due.targets.get(name)
        if group is None:
            continue
        requests = requests_per_leg(pace.adapter, verify_quote) * group.legs
        seconds = None if pace.rate is None else requests / pace.rate
        rows.append(
            {
                "target": name or "-",
                "api": pace.api or "-",
                "adapter": pace.adapter,
                "orders": group.refunds,
                "total": group.totals(),
                "requests": requests,
                "rate": NO_LIMIT if pace.rate is None else f"{pace.rate:g}/s",
                "estimate": NO_LIMIT if seconds is None else duration(seconds),
            }
        )
        if seconds is None:
            unlimited.append(name or "-")
        elif slowest is None or seconds > slowest[0]:
            slowest = (seconds, name or "-")
    if not rows:
        return rows, "estimate: nothing to send"
    line = "estimate: "
    if slowest is not None:
        line += f"at least {duration(slowest[0])}, the slowest target's ({slowest[1]}) at its rate limit"
    if unlimited:
        line += (
            "; " if slowest else ""
        ) + f"{', '.join(unlimited)} without a rate limit (--rate): as fast as it answers"
    return rows, line
