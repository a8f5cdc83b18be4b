"""Deadlines to instants, the window in force, and the penalty a window charges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from refundctl.money import ZERO, quantize
from refundctl.orders.model import HotelOrder
from refundctl.policy.model import Deadline, Penalty, Policy, Rule, Window
from refundctl.zones import iana_zone


class Unpriceable(Exception):
    """The penalty cannot be computed for this order (e.g. a flat fee in another currency)."""


def hotel_anchor(order: HotelOrder, policy: Policy) -> datetime:
    """Check-in at the policy's check-in time, in the hotel's zone (else the stay's): what a
    hotel's deadlines count back from. The decision and ``explain`` both use this one."""
    zone = iana_zone(policy.timezone or order.stay.timezone)
    return datetime.combine(order.stay.check_in, policy.check_in_time, tzinfo=zone)


def deadline_instant(deadline: Deadline, anchor: datetime) -> datetime:
    """``anchor`` must be aware; ``days_before``/``at`` use the anchor's own zone."""
    if deadline.hours_before is not None:
        # Elapsed hours, in UTC: aware arithmetic in the anchor's own zone is wall-clock
        # arithmetic and would be an hour off across a daylight-saving change.
        return (anchor.astimezone(UTC) - timedelta(hours=deadline.hours_before)).astimezone(anchor.tzinfo)
    assert deadline.days_before is not None and deadline.at is not None  # guaranteed by the schema
    local_day = anchor.date() - timedelta(days=deadline.days_before)
    return datetime.combine(local_day, deadline.at, tzinfo=anchor.tzinfo)


def schedule(rule: Rule, anchor: datetime) -> list[tuple[Window, datetime | None]]:
    """Each window with the instant it ends (inclusive); the no-show window starts at the anchor.

    The last ordinary window ends at the anchor when a no-show window follows, and
    otherwise never ends.
    """
    out: list[tuple[Window, datetime | None]] = []
    for window in rule.windows:
        end = deadline_instant(window.until, anchor) if window.until else (anchor if rule.no_show else None)
        out.append((window, end))
    if rule.no_show:
        out.append((rule.no_show, None))
    return out


def window_at(plan: Sequence[tuple[Window, datetime | None]], as_of: datetime) -> int:
    """Index of the window in force at ``as_of`` (windows end inclusively)."""
    for i, (_, end) in enumerate(plan):
        if end is None or as_of <= end:
            return i
    return len(plan) - 1


def penalty_amount(penalty: Penalty, charge: Decimal, first_nights: Decimal, currency: str) -> Decimal:
    """The penalty on ``charge`` (base fare or room charges), capped at the charge.

    ``first_nights`` is the price of the first ``penalty.nights`` nights of every room.
    """
    if penalty.amount is not None:
        if penalty.currency != currency:
            raise Unpriceable(f"the penalty is {penalty.amount} {penalty.currency} but the order is in {currency}")
        value = penalty.amount
    elif penalty.percent is not None:
        value = quantize(charge * penalty.percent / 100, currency)
    else:
        value = first_nights
    limits_currency_ok = penalty.currency == currency or (penalty.min is None and penalty.max is None)
    if not limits_currency_ok:
        raise Unpriceable(f"the penalty limits are in {penalty.currency} but the order is in {currency}")
    if penalty.min is not None:
        value = max(value, penalty.min)
    if penalty.max is not None:
        value = min(value, penalty.max)
    return max(ZERO, min(value, charge))
