"""The submit flow: decide (or fetch and decide) every order, plan, confirm, journal and send.

``decide_orders`` and ``fetch_orders`` stop before anything is sent when any record is
bad (``OrderError`` lists them all); ``run_submit`` journals the plans in one transaction,
asks for confirmation before real money moves, then sends what is due through the pipeline.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from refundctl.adapters import Connection, PaymentProvider, Supplier, open_adapter, open_payments
from refundctl.config import PaymentsTarget, Target, is_loopback
from refundctl.engine import decide
from refundctl.errors import ConfigError, OrderError, Problem
from refundctl.money import fmt
from refundctl.orders import iter_records
from refundctl.orders.ids import IdLine
from refundctl.orders.shards import Shard
from refundctl.policy.loader import load_policies
from refundctl.submit.fates import Fate, fate_of_decision
from refundctl.submit.fetch import Decided, fetch_and_decide
from refundctl.submit.journal import Journal, Plan
from refundctl.submit.legs import platform_totals
from refundctl.submit.pipeline import Pipeline, Settings
from refundctl.submit.plan import default_due, plan_for
from refundctl.submit.progress import Progress

T = TypeVar("T")
Ask = Callable[[str], bool]  # asks the user a yes/no question; None where nobody can answer


def default_journal(first_input: str) -> Path:
    return Path("refundctl.journal.sqlite") if first_input == "-" else Path(first_input).with_suffix(".journal.sqlite")


def decide_orders(
    orders: Sequence[str], policy_dir: Path | None, as_of: datetime, shard: Shard | None = None
) -> tuple[list[Decided], dict[str, str]]:
    """Every decision (of ``shard``'s orders only, with one) with its policy digest, and each order's
    payment_reference by order id; or OrderError
    listing every bad record before anything is sent."""
    policies = load_policies(policy_dir)
    decided: list[Decided] = []
    references: dict[str, str] = {}
    problems: list[Problem] = []
    for record in iter_records(orders, shard):
        if record.order is None:
            problems.extend(record.problems)
        elif not problems:
            decided.append((decide(record.order, policies, as_of), policies.digest))
            if record.order.common.payment_reference is not None:
                references[record.order.id] = record.order.common.payment_reference
    if problems:
        raise OrderError(problems)
    return decided, references


def fetch_orders(
    target: Target, conn: Connection, ids: Sequence[IdLine], policy_dir: Path | None, as_of: datetime
) -> list[Decided]:
    """Fetch every order by its supplier id and decide it with the supplier's own rule as fallback."""
    policies = load_policies(policy_dir)
    return asyncio.run(
        using(target.adapter, conn, lambda s: fetch_and_decide(s, ids, policies, as_of, conn.concurrency))
    )


def plan_all(
    decided: Sequence[Decided], as_of: datetime, service_level_days: int, references: Mapping[str, str]
) -> dict[str, Plan]:
    """The plan of every submittable decision (its legs; the platform's against the order's payment), by order id."""
    due_default = default_due(as_of.date(), service_level_days)
    return {
        d.order_id: plan_for(d, digest, due_default, references.get(d.order_id))
        for d, digest in decided
        if d.submittable
    }


def dry_run(decided: Sequence[Decided], plans: dict[str, Plan], refused: Mapping[str, str]) -> list[Fate]:
    """What a run would do: every decision's fate, with the legs a submittable one would send."""
    return [fate_of_decision(d, would_send=plans.get(d.order_id), note=refused.get(d.order_id)) for d, _ in decided]


def totals(amounts: Sequence[tuple[Decimal, str]]) -> str:
    sums: dict[str, Decimal] = {}
    for amount, currency in amounts:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(sums.items()))


def confirm(api: str, due: Sequence[Plan], yes: bool, ask: Ask | None, payments: PaymentsTarget | None = None) -> None:
    """A target that is not loopback, or a live payments key, is real money: say how many and how much, and ask."""
    asks = []
    if not is_loopback(api):
        asks.append(f"{len(due)} refund(s) totalling {totals([(p.amount, p.currency) for p in due])} to {api}")
    if payments is not None and payments.live:
        paid = [p for p in due if p.platform is not None]
        asks.append(f"the platform's share of {len(paid)} refund(s), {platform_totals(paid)}, with a LIVE "
                    f"{payments.provider} key to {payments.api}")  # fmt: skip
    if yes or not due or not asks:
        return
    what = "; and ".join(asks)
    if ask is None:
        raise ConfigError(f"refusing to submit {what} without --yes (real money)")
    if not ask(f"Submit {what}?"):
        raise ConfigError("not confirmed: nothing sent")


async def using(adapter: str, conn: Connection, work: Callable[[Supplier], Awaitable[T]]) -> T:
    """``work`` with the adapter open, closed afterwards whatever happens."""
    supplier = open_adapter(adapter, conn)
    try:
        return await work(supplier)
    finally:
        await supplier.aclose()


Payments = tuple[PaymentsTarget, Connection]


async def paying(payments: Payments | None, work: Callable[[PaymentProvider | None], Awaitable[T]]) -> T:
    """``work`` with the payments provider open (if any), closed afterwards whatever happens."""
    if payments is None:
        return await work(None)
    provider = open_payments(payments[0].provider, payments[1])
    try:
        return await work(provider)
    finally:
        await provider.aclose()


def run_submit(
    target: Target,
    journal_path: Path,
    plans: dict[str, Plan],
    conn: Connection,
    settings: Settings,
    yes: bool,
    order_ids: Sequence[str] = (),
    ask: Ask | None = None,
    payments: Payments | None = None,
) -> dict[str, Fate]:
    """Journal the plans, then send what is due; every fate by order id.

    An order of ``order_ids`` already in the journal follows its journaled plan even when
    today's decision would not submit it: in flight, it is resent; done, it is reported as done.
    """
    journal = Journal.open(journal_path)
    try:
        journal.bind(api=target.api, adapter=target.adapter)
        if payments is not None:
            journal.bind(payments=payments[0].provider, payments_api=payments[0].api)
        known = {e.order_id: e for e in journal.entries()}
        inputs = list(dict.fromkeys([*order_ids, *plans]))
        due = [p for oid, p in plans.items() if oid not in known] + [
            known[oid].plan for oid in inputs if oid in known and Pipeline.is_due(known[oid], settings.retry_failed)
        ]
        confirm(target.api, due, yes, ask, None if payments is None else payments[0])
        journal.plan(p for oid, p in plans.items() if oid not in known)  # one transaction, before any request
        known = {e.order_id: e for e in journal.entries()}
        entries = [known[oid] for oid in inputs if oid in known]
        progress = Progress(len(entries), sys.stderr, enabled=sys.stderr.isatty())
        try:
            # Orders, decisions, plans and entries all live until the end: frozen, the cyclic GC stops
            # rescanning them on every collection while sending (measured: 1.5k -> 2.2k refunds/s at 20,000).
            gc.freeze()
            return asyncio.run(
                using(
                    target.adapter,
                    conn,
                    lambda s: paying(payments, lambda p: Pipeline(s, journal, settings, progress, p).run(entries)),
                )
            )
        finally:
            progress.close()
    finally:
        journal.close()


def fates_in_order(decided: Sequence[Decided], fates: dict[str, Fate], refused: Mapping[str, str]) -> list[Fate]:
    """Every input order's fate, in input order: sent ones as the run left them, the others as decided
    (or refused before sending, with the reason)."""
    return [fates.get(d.order_id) or fate_of_decision(d, note=refused.get(d.order_id)) for d, _ in decided]
