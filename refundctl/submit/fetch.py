"""``submit --fetch``: orders fetched from the supplier by id, decided with the supplier's own rule as fallback.

Each order is fetched through the adapter (``concurrency`` at a time, paced by the
connection's rate limiter), parsed as any order file's record is, and decided with
:func:`~refundctl.engine.supplier_rules.decide_with_supplier_rules`. An id that cannot be
fetched or parsed is a problem located at its line of the id file; any problem stops the
run before anything is sent (``OrderError``). A refused token stops it at once (``AuthError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from refundctl.adapters.base import Supplier
from refundctl.engine import Decision
from refundctl.engine.supplier_rules import decide_with_supplier_rules
from refundctl.errors import ApiError, AuthError, OrderError, Problem
from refundctl.orders.ids import IdLine
from refundctl.orders.parse import parse_order
from refundctl.policy import PolicySet
from refundctl.submit.pipeline import for_each

Decided = tuple[Decision, str]  # a decision and the digest of the policies it was made under


async def fetch_and_decide(
    supplier: Supplier, ids: Sequence[IdLine], policies: PolicySet, as_of: datetime, concurrency: int
) -> list[Decided]:
    """Every order's decision and policy digest, in the order of ``ids``; or OrderError listing every bad id."""
    results: dict[int, Decided | list[Problem]] = {}

    async def fetch(n: int) -> None:
        results[n] = await _one(supplier, ids[n], policies, as_of)

    await for_each(range(len(ids)), concurrency, fetch)
    outcomes = [results[n] for n in range(len(ids))]
    problems = [p for outcome in outcomes if isinstance(outcome, list) for p in outcome]
    if problems:
        raise OrderError(problems)
    return [outcome for outcome in outcomes if not isinstance(outcome, list)]


async def _one(supplier: Supplier, item: IdLine, policies: PolicySet, as_of: datetime) -> Decided | list[Problem]:
    def problem(message: str) -> Problem:
        return Problem(item.source, item.line, None, f"order {item.order_id!r}: {message}")

    try:
        raw = await supplier.fetch_order(item.order_id)
    except AuthError:
        raise
    except ApiError as exc:
        return [problem(f"cannot be fetched: {exc}")]
    order, invalid = parse_order(raw)
    if order is None:
        return [problem(f"the supplier's order is not a valid refundctl order: {p.path}: {p.message}") for p in invalid]
    if order.id != item.order_id:
        return [problem(f"the supplier sent order {order.id!r} instead")]
    return decide_with_supplier_rules(order, policies, supplier, as_of)
