"""One run, many suppliers: each refund's supplier leg through its supplier's target, each target paced on its own.

A routed profile (``refundctl.config.Routing``) names targets by supplier code. A :class:`Router`
gives every plan its target as the run stages it, before anything is journaled (the orders whose
supplier has no target and no default are refused together, with the others, before anything is
sent), and the journal keeps it, so that a rerun or ``track --sync`` goes through the same target
whatever the profile says later. :func:`send_lanes` runs one pipeline per target side by side,
each with its target's adapter, rate limiter and concurrency, each reading its own refunds from
the journal as it goes: a 429 pauses the limiter of the target that answered it, and the other
targets' requests go on at their own rates. A run with one API is the same with one target, named "".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


class Router:
    """Each plan's target by its order's supplier, as plans are made; the suppliers without one are counted, to be
    refused together (``check``) once every order is staged."""

    def __init__(self, routing: Routing | None) -> None:
        self.routing = routing
        self._unrouted: dict[str, tuple[int, list[str]]] = {}  # supplier -> (orders, the first SHOWN ids)

    def route(self, plan: Plan, supplier: str) -> Plan:
        """``plan`` with the target of its order's ``supplier`` (as it is without a routed profile)."""
        if self.routing is None:
            return plan
        name = self.routing.target_of(supplier)
        if name is not None:
            return replace(plan, target=name)
        count, shown = self._unrouted.get(supplier, (0, []))
        self._unrouted[supplier] = (count + 1, shown if len(shown) == SHOWN else [*shown, plan.order_id])
        return plan

    def check(self) -> None:
        """ConfigError naming every supplier without a target, if any."""
        if not self._unrouted or self.routing is None:
            return
        lines = [
            f"  supplier {code!r}: {count} order(s) ({', '.join(ids)}{' ...' if count > SHOWN else ''})"
            for code, (count, ids) in sorted(self._unrouted.items())
        ]
        raise ConfigError(
            "\n".join(
                [
                    f"{self.routing.source} routes no target for these suppliers and has no default_target; "
                    "nothing sent:",
                    *lines,
                    "add them to a target's suppliers, or set default_target",
                ]
            )
        )


async def send_lanes(
    lanes: Mapping[str, Lane],
    journal: Journal,
    entries: Callable[[str], Iterable[Entry]],
    settings: Settings,
    payments: PaymentProvider | None,
    on_fate: Callable[[Fate], None],
) -> tuple[int, int]:
    """Every target's ``entries`` through its lane, the targets side by side; (legs answered, legs unanswered);
    ``on_fate`` gets every fate. An AuthError from any target stops the run (after every finished step is
    committed)."""
    suppliers: dict[str, Supplier] = {}
    pipelines: list[Pipeline] = []

    async def run(name: str) -> None:
        target = lanes[name][0]
        own = replace(settings, concurrency=target.concurrency or settings.concurrency)
        pipeline = Pipeline(suppliers[name], journal, own, on_fate, payments)
        pipelines.append(pipeline)
        await pipeline.run(entries(name))

    try:
        for name, (target, conn) in lanes.items():
            suppliers[name] = open_adapter(target.adapter, conn)
        await for_each(list(lanes), len(lanes), run)
    finally:
        for supplier in suppliers.values():
            await supplier.aclose()
    return sum(p.answered for p in pipelines), sum(p.unanswered for p in pipelines)
