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
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from refundctl.adapters import Connection, PaymentProvider, Supplier, open_adapter, open_payments
from refundctl.config import PaymentsTarget, Target, is_loopback
from refundctl.engine import decide
from refundctl.errors import ConfigError, Interrupted, JournalError, OrderError, Problem
from refundctl.money import fmt
from refundctl.orders import iter_records
from refundctl.orders.ids import IdLine
from refundctl.orders.shards import Shard
from refundctl.output.progress import Progress
from refundctl.policy.loader import load_policies
from refundctl.submit.fates import UNDONE, Fate, fate_of_decision, fate_of_entry
from refundctl.submit.fetch import Decided, fetch_and_decide
from refundctl.submit.journal import Entry, Journal, Plan, Unsubmitted, unsent
from refundctl.submit.legs import platform_totals
from refundctl.submit.pipeline import Pipeline, Settings, retried
from refundctl.submit.plan import plan_for
from refundctl.submit.routes import Lane, OpenLane, send_lanes

T = TypeVar("T")
Ask = Callable[[str], bool]  # asks the user a yes/no question; None where nobody can answer


def default_journal(first_input: str, shard: Shard | None = None) -> Path:
    """``NAME.journal.sqlite`` beside the first input; a shard's ``NAME.shard-K-of-N.journal.sqlite``, so shards
    run side by side (one run at a time per journal)."""
    suffix = ".journal.sqlite" if shard is None else f".shard-{shard.index}-of-{shard.count}.journal.sqlite"
    return Path("refundctl" + suffix) if first_input == "-" else Path(first_input).with_suffix(suffix)


def decide_orders(
    orders: Sequence[str], policy_dir: Path | None, as_of: datetime, shard: Shard | None = None
) -> tuple[list[Decided], dict[str, str], dict[str, str]]:
    """Every decision (of ``shard``'s orders only, with one) with its policy digest, each order's
    payment_reference by order id, and each order's supplier code (for routing); or OrderError
    listing every bad record before anything is sent."""
    policies = load_policies(policy_dir)
    decided: list[Decided] = []
    references: dict[str, str] = {}
    suppliers: dict[str, str] = {}
    problems: list[Problem] = []
    for record in iter_records(orders, shard):
        if record.order is None:
            problems.extend(record.problems)
        elif not problems:
            decided.append((decide(record.order, policies, as_of), policies.digest))
            suppliers[record.order.id] = record.order.common.supplier
            if record.order.common.payment_reference is not None:
                references[record.order.id] = record.order.common.payment_reference
    if problems:
        raise OrderError(problems)
    return decided, references, suppliers


def fetch_orders(
    target: Target, conn: Connection, ids: Sequence[IdLine], policy_dir: Path | None, as_of: datetime
) -> list[Decided]:
    """Fetch every order by its supplier id and decide it with the supplier's own rule as fallback."""
    policies = load_policies(policy_dir)
    return asyncio.run(
        using(target.adapter, conn, lambda s: fetch_and_decide(s, ids, policies, as_of, conn.concurrency))
    )


def plan_all(decided: Sequence[Decided], references: Mapping[str, str]) -> dict[str, Plan | None]:
    """Every decided order's plan (its legs; the platform's against the order's payment), by order id, in input
    order; None for a decision that is not submitted."""
    return {
        d.order_id: plan_for(d, digest, references.get(d.order_id)) if d.submittable else None for d, digest in decided
    }


def dry_run(decided: Sequence[Decided], plans: Mapping[str, Plan], refused: Mapping[str, str]) -> list[Fate]:
    """What a run would do: every decision's fate, with the legs a submittable one would send."""
    return [fate_of_decision(d, would_send=plans.get(d.order_id), note=refused.get(d.order_id)) for d, _ in decided]


def unsubmitted_of(
    decided: Sequence[Decided], plans: Mapping[str, Plan], refused: Mapping[str, str]
) -> list[Unsubmitted]:
    """The decided orders not to be sent (not eligible, or refused before sending), as the journal records them."""
    return [
        Unsubmitted(
            d.order_id,
            "not_sent" if d.order_id in refused else "not_eligible",
            d.outcome,
            d.currency,
            d.refund,
            d.reason,
            refused.get(d.order_id),
        )
        for d, _ in decided
        if d.order_id not in plans
    ]


def totals(amounts: Sequence[tuple[Decimal, str]]) -> str:
    sums: dict[str, Decimal] = {}
    for amount, currency in amounts:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(sums.items()))


def confirm(
    apis: Mapping[str, str], due: Sequence[Plan], yes: bool, ask: Ask | None, payments: PaymentsTarget | None = None
) -> None:
    """A target that is not loopback, or a live payments key, is real money: say how many and how much, and ask.

    ``apis``: each target's URL by name (a plan's ``target``)."""
    asks = []
    for name, api in apis.items():
        mine = [p for p in due if p.target == name]
        if mine and not is_loopback(api):
            asks.append(f"{len(mine)} refund(s) totalling {totals([(p.amount, p.currency) for p in mine])} to {api}")
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


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a run did: every fate by order id, and whether the APIs answered at all."""

    fates: dict[str, Fate]
    answered: int  # legs sent this run that got an answer (any answer)
    unanswered: int  # legs that got none after every retry

    @property
    def unreachable(self) -> bool:
        """Legs were sent and none got an answer: the API, not the refunds, failed."""
        return self.unanswered > 0 and self.answered == 0


@dataclass(frozen=True, slots=True)
class Options:
    """How this run treats its journal: what the user allowed beyond resuming it as it is."""

    yes: bool = False  # real money without asking
    replan: bool = False  # plan anew the unsent orders whose decision changed
    rebind: bool = False  # the journal's API is the same API at a new URL
    resume: str = ""  # the command that resumes this run (said on Ctrl-C)
    shard: str = "0/1"  # the shard of the input this run takes (K/N), recorded in the journal for reports


def amounts(plan: Plan | None) -> str:
    """``980.00 CNY``, ``1530.00 CNY (supplier) + 20.00 CNY (platform)``, or ``nothing`` to submit."""
    if plan is None:
        return "nothing (not submitted)"
    cur = plan.currency
    if plan.platform is None:
        return f"{fmt(plan.amount, cur)} {cur}"
    return f"{fmt(plan.amount, cur)} {cur} (supplier) + {fmt(plan.platform.amount, cur)} {cur} (platform)"


def _legs(plan: Plan | None) -> tuple[object, ...]:
    """What a plan pays, leg by leg: the part that must never change silently."""
    if plan is None:
        return ()
    return plan.currency, plan.amount, None if plan.platform is None else plan.platform.amount


def changed(known: Mapping[str, Entry], today: Mapping[str, Plan | None]) -> list[tuple[Entry, Plan | None]]:
    """The journaled orders whose decision today would pay other amounts than their journaled plan."""
    return [(known[oid], plan) for oid, plan in today.items() if oid in known and _legs(known[oid].plan) != _legs(plan)]


SHOWN_ORDERS = 10  # orders named in a refusal; the rest are counted


def _refuse_changed(path: Path, pending: Sequence[tuple[Entry, Plan | None]]) -> JournalError:
    lines = [f"  {e.order_id}: journaled {amounts(e.plan)}; decided now {amounts(p)}" for e, p in pending]
    more = len(lines) - SHOWN_ORDERS
    return JournalError(
        "\n".join(
            [
                f"{len(pending)} order(s) in {path} were planned with other amounts than today's decision "
                "and nothing of them was sent; refusing to send the old amounts:",
                *lines[:SHOWN_ORDERS],
                *([f"  ... and {more} more"] if more > 0 else []),
                "rerun with --replan to plan them anew from today's decision, or pass a new --journal",
            ]
        )
    )


_STANDING = {"accepted": "accepted", "sent": "in flight", "planned": "not yet sent", "failed": "not yet sent"}
_OTHER = "otherwise settled or refused"


def standing(entries: Sequence[Entry]) -> str:
    """Where interrupted orders stand: accepted, in flight, not yet sent (and any other fate, if any)."""
    counts = dict.fromkeys([*dict.fromkeys(_STANDING.values()), _OTHER], 0)
    for entry in entries:
        counts[_STANDING.get(fate_of_entry(entry).fate, _OTHER)] += 1
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n or what != _OTHER)


def run_submit(
    lanes: OpenLane,
    journal_path: Path,
    today: Mapping[str, Plan | None],
    plans: Mapping[str, Plan],
    settings: Settings,
    options: Options,
    ask: Ask | None = None,
    payments: Payments | None = None,
    note: Callable[[str], None] = lambda line: None,
    digest: str | None = None,
    unsubmitted: Sequence[Unsubmitted] = (),
) -> Submitted:
    """Journal the plans, then send what is due; every fate by order id.

    ``today`` is every input order's plan by today's decision (None: not submitted), in input
    order; ``plans`` those to send (the submittable ones not refused before sending). An input
    order already in the journal follows its journaled plan even when today's decision would not
    submit it: in flight, it is resent; done, it is reported as done. An unsent order whose
    decision changed is refused with both amounts unless ``options.replan``; one that sent
    anything keeps its plan (``note`` says so). ``digest`` (the policies') is bound to the journal, and so is
    ``options.shard``; ``unsubmitted`` (the other input orders, with their outcomes) is recorded with the plans.
    ``note`` gets a line for each thing worth saying. Each refund goes through its plan's target (``lanes``
    opens it by name); a journaled one through the target it was journaled with, each target bound on its own.
    """
    journal = Journal.open(journal_path, lock=True)
    try:
        if journal.was_empty:
            note(f"{journal_path} was an empty file (0 bytes): made it a new journal")
        if payments is not None:
            for line in journal.bind(
                rebind=options.rebind, payments=payments[0].provider, payments_api=payments[0].api
            ):
                note(line)
        known = {e.order_id: e for e in journal.entries()}
        differ = changed(known, today)
        pending = [(e, p) for e, p in differ if unsent(e)]
        for entry, plan in differ:
            if not unsent(entry):
                note(f"{entry.order_id}: decided {amounts(plan)} now, but its journaled plan ({amounts(entry.plan)}) "
                     "has sent legs: it stands (a leg sent is never replanned)")  # fmt: skip
        if pending and not options.replan:
            raise _refuse_changed(journal_path, pending)
        if digest is not None:
            _bind_policies(journal, digest, options.replan, note)
        replanned = {e.order_id: plans.get(e.order_id) for e, _ in pending}
        fresh = {oid: p for oid, p in plans.items() if oid not in known or oid in replanned}
        inputs = list(dict.fromkeys([*today, *plans]))
        resumed = [known[oid] for oid in inputs if oid in known and oid not in replanned]
        due = [*fresh.values(), *(e.plan for e in resumed if Pipeline.is_due(e, settings.retry_failed))]
        links = {name: lanes(name) for name in dict.fromkeys([*(p.target for p in fresh.values()),
                                                               *(e.plan.target for e in resumed)])}  # fmt: skip
        for name, (target, _) in links.items():
            for line in journal.bind_target(name, rebind=options.rebind, api=target.api, adapter=target.adapter):
                note(line)
        confirm({name: t.api for name, (t, _) in links.items()}, due, options.yes, ask,
                None if payments is None else payments[0])  # fmt: skip
        if replanned:
            journal.replan(replanned)
            note(f"replanned {len(replanned)} unsent order(s) from today's decision (--replan)")
        journal.add_shard(options.shard)
        journal.plan(fresh.values(), unsubmitted)  # one transaction, before any request
        if settings.retry_failed:
            _say_retried(resumed, settings, note)
        known = {e.order_id: e for e in journal.entries()}
        entries = [known[oid] for oid in inputs if oid in known]
        try:
            return _send(links, journal, entries, settings, payments)
        except KeyboardInterrupt:
            now = {e.order_id: e for e in journal.entries()}
            where = standing([now[e.order_id] for e in entries if e.order_id in now])
            resume = f"\nresume with: {options.resume}" if options.resume else ""
            raise Interrupted(f"interrupted: {where}; the journal is committed{resume}") from None
    finally:
        journal.close()


def _send(
    lanes: Mapping[str, Lane],
    journal: Journal,
    entries: Sequence[Entry],
    settings: Settings,
    payments: Payments | None,
) -> Submitted:
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty(), total=len(entries), failed_label="not accepted")
    try:
        # Orders, decisions, plans and entries all live until the end: frozen, the cyclic GC stops
        # rescanning them on every collection while sending (measured: 1.5k -> 2.2k refunds/s at 20,000).
        gc.freeze()

        async def go(provider: PaymentProvider | None) -> Submitted:
            tick: Callable[[Fate], None] = lambda f: progress.tick(failed=f.fate in UNDONE)  # noqa: E731
            return Submitted(*await send_lanes(lanes, journal, entries, settings, provider, tick))

        return asyncio.run(paying(payments, go))
    finally:
        progress.close()


def _say_retried(resumed: Sequence[Entry], settings: Settings, note: Callable[[str], None]) -> None:
    """``--retry-failed`` takes up failed legs and quote mismatches: say how many of each, and with what tolerance."""
    legs = [leg for e in resumed for leg in e.legs if retried(leg)]
    quotes = sum(leg.state == "rejected" for leg in legs)
    failed = len(legs) - quotes
    if legs:
        note(f"--retry-failed: resending {failed} failed leg(s) with their keys, re-quoting {quotes} quote_mismatch "
             f"refund(s) with --tolerance {settings.tolerance}")  # fmt: skip


def _bind_policies(journal: Journal, digest: str, replan: bool, note: Callable[[str], None]) -> None:
    """Record the policies' digest the journal was planned under; a change is said, and (orders compared first)
    is harmless to the journaled plans that stand: their amounts are today's, or their money has left."""
    bound = journal.meta("policies")
    if bound == digest:
        return
    if bound is not None:
        how = "replanned where unsent (--replan)" if replan else "no unsent order's amounts changed"
        note(f"the policies changed since {journal.path} was planned (digest {bound[:12]} -> {digest[:12]}): {how}")
    journal.set_meta("policies", digest)


def fates_in_order(decided: Sequence[Decided], fates: dict[str, Fate], refused: Mapping[str, str]) -> list[Fate]:
    """Every input order's fate, in input order: sent ones as the run left them, the others as decided
    (or refused before sending, with the reason)."""
    return [fates.get(d.order_id) or fate_of_decision(d, note=refused.get(d.order_id)) for d, _ in decided]
