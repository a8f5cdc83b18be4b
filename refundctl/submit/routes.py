"""One run, many suppliers: each refund's supplier leg through its supplier's target, each target paced on its own.

A routed profile (``refundctl.config.Routing``) names targets by supplier code. :func:`route`
gives every plan its target before anything is journaled (an order whose supplier has no
target and no default is refused, with the others, before anything is sent), and the journal
keeps it, so that a rerun or ``track --sync`` goes through the same target whatever the
profile says later. :func:`send_lanes` runs one pipeline per target side by side, each with
its target's adapter, rate limiter and concurrency: a 429 pauses the limiter of the target
that answered it, and the other targets' requests go on at their own rates. A run with one
API is the same with one target, named "".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from refundctl.adapters import Connection, PaymentProvider, Supplier, open_adapter
from refundctl.config import Routing, Target
from refundctl.errors import ConfigError
from refundctl.submit.fates import Fate
from refundctl.submit.journal import Entry, Journal, Plan
from refundctl.submit.pipeline import Pipeline, Settings, for_each

Lane = tuple[Target, Connection]  # a target and the connection (its own rate limiter) to it
OpenLane = Callable[[str], Lane]  # a target's name -> its lane, the token read on first use
SHOWN = 5  # order ids named per unrouted supplier; the rest are counted


def route(plans: Mapping[str, Plan], suppliers: Mapping[str, str], routing: Routing | None) -> dict[str, Plan]:
    """Every plan with the target of its order's supplier; ConfigError naming every supplier without one."""
    if routing is None:
        return dict(plans)
    routed: dict[str, Plan] = {}
    unrouted: dict[str, list[str]] = {}
    for order_id, plan in plans.items():
        name = routing.target_of(suppliers[order_id])
        if name is None:
            unrouted.setdefault(suppliers[order_id], []).append(order_id)
        else:
            routed[order_id] = replace(plan, target=name)
    if unrouted:
        lines = [
            f"  supplier {code!r}: {len(ids)} order(s) ({', '.join(ids[:SHOWN])}{' ...' if len(ids) > SHOWN else ''})"
            for code, ids in sorted(unrouted.items())
        ]
        raise ConfigError(
            "\n".join(
                [
                    f"{routing.source} routes no target for these suppliers and has no default_target; nothing sent:",
                    *lines,
                    "add them to a target's suppliers, or set default_target",
                ]
            )
        )
    return routed


async def send_lanes(
    lanes: Mapping[str, Lane],
    journal: Journal,
    entries: Sequence[Entry],
    settings: Settings,
    payments: PaymentProvider | None,
    on_fate: Callable[[Fate], None],
) -> tuple[dict[str, Fate], int, int]:
    """Every entry through its target's lane, the targets side by side; (fates by order id, legs answered, legs
    unanswered). An AuthError from any target stops the run (after every finished step is committed)."""
    groups: dict[str, list[Entry]] = {name: [] for name in lanes}
    for entry in entries:
        groups[entry.plan.target].append(entry)
    suppliers: dict[str, Supplier] = {}
    pipelines: list[Pipeline] = []
    fates: dict[str, Fate] = {}

    async def run(name: str) -> None:
        target = lanes[name][0]
        own = replace(settings, concurrency=target.concurrency or settings.concurrency)
        pipeline = Pipeline(suppliers[name], journal, own, on_fate, payments)
        pipelines.append(pipeline)
        fates.update(await pipeline.run(groups[name]))

    try:
        for name, (target, conn) in lanes.items():
            suppliers[name] = open_adapter(target.adapter, conn)
        await for_each([name for name, group in groups.items() if group], len(groups), run)
    finally:
        for supplier in suppliers.values():
            await supplier.aclose()
    return fates, sum(p.answered for p in pipelines), sum(p.unanswered for p in pipelines)
