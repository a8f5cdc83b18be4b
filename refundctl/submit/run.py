"""The submit flow: decide (or fetch and decide) every order, plan, confirm, journal and send.

``decide_orders`` and ``fetch_orders`` stop before anything is sent when any record is
bad (``OrderError`` lists them all); ``run_submit`` journals the plans in one transaction,
asks for confirmation before real money moves, then sends what is due through the pipeline.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from refundctl.adapters import Connection, Supplier, open_adapter
from refundctl.config import Target, is_loopback
from refundctl.engine import decide
from refundctl.errors import ConfigError, OrderError, Problem
from refundctl.money import fmt
from refundctl.orders import iter_records
from refundctl.orders.ids import IdLine
from refundctl.policy.loader import load_policies
from refundctl.submit.fates import Fate, fate_of_decision
from refundctl.submit.fetch import Decided, fetch_and_decide
from refundctl.submit.journal import Journal, Plan
from refundctl.submit.pipeline import Pipeline, Settings
from refundctl.submit.plan import default_due, plan_for
from refundctl.submit.progress import Progress

T = TypeVar("T")
Ask = Callable[[str], bool]  # asks the user a yes/no question; None where nobody can answer


def default_journal(first_input: str) -> Path:
    return Path("refundctl.journal.sqlite") if first_input == "-" else Path(first_input).with_suffix(".journal.sqlite")


def decide_orders(orders: Sequence[str], policy_dir: Path | None, as_of: datetime) -> list[Decided]:
    """Every decision with its policy digest, or OrderError listing every bad record before anything is sent."""
    policies = load_policies(policy_dir)
    decided: list[Decided] = []
    problems: list[Problem] = []
    for record in iter_records(orders):
        if record.order is None:
            problems.extend(record.problems)
        elif not problems:
            decided.append((decide(record.order, policies, as_of), policies.digest))
    if problems:
        raise OrderError(problems)
    return decided


def fetch_orders(
    target: Target, conn: Connection, ids: Sequence[IdLine], policy_dir: Path | None, as_of: datetime
) -> list[Decided]:
    """Fetch every order by its supplier id and decide it with the supplier's own rule as fallback."""
    policies = load_policies(policy_dir)
    return asyncio.run(
        using(target.adapter, conn, lambda s: fetch_and_decide(s, ids, policies, as_of, conn.concurrency))
    )


def plan_all(decided: Sequence[Decided], as_of: datetime, service_level_days: int) -> dict[str, Plan]:
    """The plan of every submittable decision, by order id."""
    due_default = default_due(as_of.date(), service_level_days)
    return {d.order_id: plan_for(d, digest, due_default) for d, digest in decided if d.submittable}


def dry_run(decided: Sequence[Decided], plans: dict[str, Plan]) -> list[Fate]:
    """What a run would do: every decision's fate, with the key a submittable one would be sent under."""
    return [
        fate_of_decision(d, would_send=plans[d.order_id].idempotency_key if d.submittable else None) for d, _ in decided
    ]


def totals(amounts: Sequence[tuple[Decimal, str]]) -> str:
    sums: dict[str, Decimal] = {}
    for amount, currency in amounts:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(sums.items()))


def confirm(api: str, due: Sequence[Plan], yes: bool, ask: Ask | None) -> None:
    """A target that is not loopback is real money: say how many and how much, and ask."""
    if yes or not due or is_loopback(api):
        return
    what = f"{len(due)} refund(s) totalling {totals([(p.amount, p.currency) for p in due])} to {api}"
    if ask is None:
        raise ConfigError(f"refusing to submit {what} without --yes (not a loopback API)")
    if not ask(f"Submit {what}?"):
        raise ConfigError("not confirmed: nothing sent")


async def using(adapter: str, conn: Connection, work: Callable[[Supplier], Awaitable[T]]) -> T:
    """``work`` with the adapter open, closed afterwards whatever happens."""
    supplier = open_adapter(adapter, conn)
    try:
        return await work(supplier)
    finally:
        await supplier.aclose()


def run_submit(
    target: Target,
    journal_path: Path,
    plans: dict[str, Plan],
    conn: Connection,
    settings: Settings,
    yes: bool,
    order_ids: Sequence[str] = (),
    ask: Ask | None = None,
) -> dict[str, Fate]:
    """Journal the plans, then send what is due; every fate by order id.

    An order of ``order_ids`` already in the journal follows its journaled plan even when
    today's decision would not submit it: in flight, it is resent; done, it is reported as done.
    """
    journal = Journal.open(journal_path)
    try:
        journal.bind(api=target.api, adapter=target.adapter)
        known = {e.order_id: e for e in journal.entries()}
        inputs = list(dict.fromkeys([*order_ids, *plans]))
        due = [p for oid, p in plans.items() if oid not in known] + [
            known[oid].plan for oid in inputs if oid in known and Pipeline.is_due(known[oid], settings.retry_failed)
        ]
        confirm(target.api, due, yes, ask)
        journal.plan(p for oid, p in plans.items() if oid not in known)  # one transaction, before any request
        known = {e.order_id: e for e in journal.entries()}
        entries = [known[oid] for oid in inputs if oid in known]
        progress = Progress(len(entries), sys.stderr, enabled=sys.stderr.isatty())
        try:
            # Orders, decisions, plans and entries all live until the end: frozen, the cyclic GC stops
            # rescanning them on every collection while sending (measured: 1.5k -> 2.2k refunds/s at 20,000).
            gc.freeze()
            return asyncio.run(
                using(target.adapter, conn, lambda s: Pipeline(s, journal, settings, progress).run(entries))
            )
        finally:
            progress.close()
    finally:
        journal.close()


def fates_in_order(decided: Sequence[Decided], fates: dict[str, Fate]) -> list[Fate]:
    """Every input order's fate, in input order: sent ones as the run left them, the others as decided."""
    return [fates.get(d.order_id) or fate_of_decision(d) for d, _ in decided]
