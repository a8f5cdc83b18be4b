"""The submit flow: decide (or fetch and decide) every order, plan, confirm, journal and send.

Memory stays flat in the number of orders: ``decide_orders`` reads, validates and decides the
input in one streaming pass into the run's :class:`~refundctl.submit.staging.Staging` (on disk),
and stops before anything is journaled or sent when any record is bad (``OrderError`` lists them
all); ``run_submit`` then walks the stage a page at a time, against the journal's rows of that
page: it checks and sums what is due, journals the plans in one transaction, asks for confirmation
before real money moves, then sends what is due through the pipeline, recording each fate on the
stage; ``fates_in_order`` reads them back in input order for the output. ``fetch_orders`` (ids
fetched from a supplier) still decides in memory before staging.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, TypeVar

from refundctl.adapters import Connection, PaymentProvider, Supplier, open_adapter, open_payments
from refundctl.config import PaymentsTarget, Target, is_loopback
from refundctl.engine import decide
from refundctl.errors import ConfigError, Interrupted, JournalError, OrderError, Problem
from refundctl.money import fmt
from refundctl.orders import iter_records
from refundctl.orders.dedup import chunks
from refundctl.orders.ids import IdLine
from refundctl.orders.shards import Shard
from refundctl.output.progress import Progress
from refundctl.policy.loader import load_policies
from refundctl.submit.fates import UNDONE, Fate, fate_of_entry, fate_of_unsubmitted, would_send
from refundctl.submit.fetch import Decided, fetch_and_decide
from refundctl.submit.journal import Entry, Journal, Plan, Unsubmitted, unsent
from refundctl.submit.legs import Due, unsendable
from refundctl.submit.pipeline import Pipeline, Settings, retried
from refundctl.submit.plan import plan_for
from refundctl.submit.routes import Lane, OpenLane, Router, send_lanes
from refundctl.submit.staging import Staged, Staging

T = TypeVar("T")
Ask = Callable[[str], bool]  # asks the user a yes/no question; None where nobody can answer


def default_journal(first_input: str, shard: Shard | None = None) -> Path:
    """``NAME.journal.sqlite`` beside the first input; a shard's ``NAME.shard-K-of-N.journal.sqlite``, so shards
    run side by side (one run at a time per journal)."""
    suffix = ".journal.sqlite" if shard is None else f".shard-{shard.index}-of-{shard.count}.journal.sqlite"
    return Path("refundctl" + suffix) if first_input == "-" else Path(first_input).with_suffix(suffix)


def staged(
    decided: Decided, reference: str | None, provider: str | None, router: Router | None = None, supplier: str = ""
) -> Staged:
    """One decision as the run stages it: its plan if submitted (the platform leg against ``reference``, the
    order's payment), refused before sending if ``provider`` cannot send its platform leg, else routed by
    ``router`` to its ``supplier``'s target."""
    d, digest = decided
    plan = plan_for(d, digest, reference) if d.submittable else None
    note = None if plan is None else unsendable(plan, provider)
    if plan is not None and note is None and router is not None:
        plan = router.route(plan, supplier)
    fate: Literal["not_eligible", "not_sent"] = "not_sent" if note else "not_eligible"
    return Staged(Unsubmitted(d.order_id, fate, d.outcome, d.currency, d.refund, d.reason, note), plan, digest)


def decide_orders(
    staging: Staging,
    orders: Sequence[str],
    policy_dir: Path | None,
    as_of: datetime,
    shard: Shard | None = None,
    provider: str | None = None,
    router: Router | None = None,
) -> None:
    """Decide every order (of ``shard``'s only, with one) into ``staging``, a batch at a time; or OrderError
    listing every bad record, then ConfigError naming every supplier ``router`` has no target for, before
    anything is journaled or sent. ``provider``: the payments provider (None: platform legs are paid by hand)."""
    policies = load_policies(policy_dir)
    problems: list[Problem] = []
    for batch in chunks(iter_records(orders, shard)):
        good = []
        for record in batch:
            if record.order is None:
                problems.extend(record.problems)
            elif not problems:
                decision = (decide(record.order, policies, as_of), policies.digest)
                common = record.order.common
                good.append(staged(decision, common.payment_reference, provider, router, common.supplier))
        if not problems:
            staging.add(good)
    if problems:
        raise OrderError(problems)
    if router is not None:
        router.check()


def fetch_orders(
    staging: Staging,
    target: Target,
    conn: Connection,
    ids: Sequence[IdLine],
    policy_dir: Path | None,
    as_of: datetime,
    provider: str | None = None,
) -> None:
    """Fetch every order by its supplier id and decide it with the supplier's own rule as fallback, into
    ``staging`` (all fetched first: this path holds every decision; a supplier's order does not know the
    platform's payment)."""
    policies = load_policies(policy_dir)
    decided = asyncio.run(
        using(target.adapter, conn, lambda s: fetch_and_decide(s, ids, policies, as_of, conn.concurrency))
    )
    staging.add([staged(d, None, provider) for d in decided])


def dry_run(staging: Staging) -> Iterator[Fate]:
    """What a run would do: every decision's fate, with the legs a submittable one would send, in input order."""
    for s in staging:
        plan = s.to_send
        yield fate_of_unsubmitted(s.order) if plan is None else would_send(s.order, plan)


def confirm(
    apis: Mapping[str, str], due: Due, yes: bool, ask: Ask | None, payments: PaymentsTarget | None = None
) -> None:
    """A target that is not loopback, or a live payments key, is real money: say how many and how much, and ask.

    ``apis``: each target's URL by name (a plan's ``target``)."""
    asks = []
    for name, api in apis.items():
        mine = due.targets.get(name)
        if mine is not None and not is_loopback(api):
            asks.append(f"{mine.refunds} refund(s) totalling {mine.totals()} to {api}")
    if payments is not None and payments.live:
        asks.append(f"the platform's share of {due.all.platform_refunds} refund(s), {due.all.platform_totals()}, "
                    f"with a LIVE {payments.provider} key to {payments.api}")  # fmt: skip
    if yes or not due.all.refunds or not asks:
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
    """Whether the APIs answered at all (every fate is recorded on the stage)."""

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


def _changed(staged: Staged, entry: Entry) -> bool:
    """Whether a journaled order would pay other amounts by today's decision than by its journaled plan."""
    return _legs(entry.plan) != _legs(staged.plan)


def _pending(staged: Staged, entry: Entry | None) -> bool:
    """A journaled order whose decision changed and that sent nothing: refused, or replanned with --replan."""
    return entry is not None and _changed(staged, entry) and unsent(entry)


def _journaled(journal: Journal, staging: Staging) -> Iterator[tuple[Staged, Entry | None]]:
    """Every staged order with its journal row (None: not journaled), in input order: a page of each at a time."""
    for page in staging.pages():
        known = journal.entries_of([s.order_id for s in page])
        for s in page:
            yield s, known.get(s.order_id)


def _entries(journal: Journal, staging: Staging, lane: str | None = None) -> Iterator[Entry]:
    """The journal rows of the staged orders (of those sent through ``lane`` only, with one), in input order: a
    page of each at a time."""
    for ids in staging.id_pages(lane):
        known = journal.entries_of(ids)
        yield from (known[oid] for oid in ids if oid in known)


SHOWN_ORDERS = 10  # orders named in a refusal; the rest are counted


@dataclass(slots=True)
class _Survey:
    """The run's input against its journal, before anything is written: counts, never lists of orders."""

    pending: int = 0  # journaled orders that sent nothing and whose decision changed (refused, or --replan)
    shown: list[str] = field(default_factory=list)  # the first SHOWN_ORDERS of them, both amounts
    due: Due = field(default_factory=Due)  # what this run will send
    entries: int = 0  # the input orders journaled once planned (the progress bar's total)
    failed: int = 0  # resumed legs that failed earlier (taken up by --retry-failed)
    quotes: int = 0  # resumed legs refused for their quote (re-quoted by --retry-failed)
    planned: dict[str, None] = field(default_factory=dict)  # the targets of the plans to journal, first first
    resumed: dict[str, None] = field(default_factory=dict)  # the targets of the journaled orders, first first


def _survey(journal: Journal, staging: Staging, settings: Settings, note: Callable[[str], None]) -> _Survey:
    """Compare each input order with its journal row and sum what is due, streaming: an order already journaled
    follows its journaled plan (``note`` says so when today's decision differs but legs were sent); an unsent one
    whose decision changed is pending (refused, or replanned with --replan); a new one is due as decided."""
    survey = _Survey()
    for s, entry in _journaled(journal, staging):
        plan = s.to_send
        if entry is None or _pending(s, entry):
            if entry is not None:
                survey.pending += 1
                if len(survey.shown) < SHOWN_ORDERS:
                    survey.shown.append(
                        f"  {s.order_id}: journaled {amounts(entry.plan)}; decided now {amounts(s.plan)}"
                    )
            if plan is not None:
                survey.due.add(plan)
                survey.entries += 1
                survey.planned[plan.target] = None
                staging.assign(s.order_id, plan.target)
            continue
        if _changed(s, entry):
            note(f"{s.order_id}: decided {amounts(s.plan)} now, but its journaled plan ({amounts(entry.plan)}) "
                 "has sent legs: it stands (a leg sent is never replanned)")  # fmt: skip
        survey.entries += 1
        survey.resumed[entry.plan.target] = None
        staging.assign(s.order_id, entry.plan.target)
        if Pipeline.is_due(entry, settings.retry_failed):
            survey.due.add(entry.plan)
        for leg in entry.legs:
            survey.failed += leg.state == "failed"
            survey.quotes += retried(leg) and leg.state == "rejected"
    return survey


def _refuse_changed(path: Path, survey: _Survey) -> JournalError:
    more = survey.pending - len(survey.shown)
    return JournalError(
        "\n".join(
            [
                f"{survey.pending} order(s) in {path} were planned with other amounts than today's decision "
                "and nothing of them was sent; refusing to send the old amounts:",
                *survey.shown,
                *([f"  ... and {more} more"] if more > 0 else []),
                "rerun with --replan to plan them anew from today's decision, or pass a new --journal",
            ]
        )
    )


_STANDING = {"accepted": "accepted", "sent": "in flight", "planned": "not yet sent", "failed": "not yet sent"}
_OTHER = "otherwise settled or refused"


def standing(entries: Iterable[Entry]) -> str:
    """Where interrupted orders stand: accepted, in flight, not yet sent (and any other fate, if any)."""
    counts = dict.fromkeys([*dict.fromkeys(_STANDING.values()), _OTHER], 0)
    for entry in entries:
        counts[_STANDING.get(fate_of_entry(entry).fate, _OTHER)] += 1
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n or what != _OTHER)


def run_submit(
    lanes: OpenLane,
    journal_path: Path,
    staging: Staging,
    settings: Settings,
    options: Options,
    ask: Ask | None = None,
    payments: Payments | None = None,
    note: Callable[[str], None] = lambda line: None,
    digest: str | None = None,
) -> Submitted:
    """Journal the staged plans, then send what is due; every fate is recorded on ``staging``.

    An input order already in the journal follows its journaled plan even when today's decision
    would not submit it: in flight, it is resent; done, it is reported as done. An unsent order whose
    decision changed is refused with both amounts unless ``options.replan``; one that sent anything
    keeps its plan (``note`` says so). ``digest`` (the policies') is bound to the journal, and so is
    ``options.shard``; the input orders not to be sent are recorded with the plans, with their outcomes.
    ``note`` gets a line for each thing worth saying. Each refund goes through its plan's target (``lanes``
    opens it by name); a journaled one through the target it was journaled with, each target bound on its own.
    The stage is walked page by page, never loaded.
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
        survey = _survey(journal, staging, settings, note)
        if survey.pending and not options.replan:
            raise _refuse_changed(journal_path, survey)
        if digest is not None:
            _bind_policies(journal, digest, options.replan, note)
        links = {name: lanes(name) for name in dict.fromkeys([*survey.planned, *survey.resumed])}
        for name, (target, _) in links.items():
            for line in journal.bind_target(name, rebind=options.rebind, api=target.api, adapter=target.adapter):
                note(line)
        confirm({name: t.api for name, (t, _) in links.items()}, survey.due, options.yes, ask,
                None if payments is None else payments[0])  # fmt: skip
        if survey.pending:
            journal.replan((s.order_id, s.to_send) for s, e in _journaled(journal, staging) if _pending(s, e))
            note(f"replanned {survey.pending} unsent order(s) from today's decision (--replan)")
        journal.add_shard(options.shard)
        # One transaction, before any request: the new orders' plans, and the orders not to be sent.
        journal.plan(
            (plan for s, e in _journaled(journal, staging) if e is None and (plan := s.to_send) is not None),
            (s.order for s in staging if s.to_send is None),
        )
        if settings.retry_failed and survey.failed + survey.quotes:
            note(f"--retry-failed: resending {survey.failed} failed leg(s) with their keys, re-quoting "
                 f"{survey.quotes} quote_mismatch refund(s) with --tolerance {settings.tolerance}")  # fmt: skip
        try:
            return _send(links, journal, staging, survey.entries, settings, payments)
        except KeyboardInterrupt:
            where = standing(_entries(journal, staging))
            resume = f"\nresume with: {options.resume}" if options.resume else ""
            raise Interrupted(f"interrupted: {where}; the journal is committed{resume}") from None
    finally:
        journal.close()


def _send(
    lanes: Mapping[str, Lane],
    journal: Journal,
    staging: Staging,
    total: int,
    settings: Settings,
    payments: Payments | None,
) -> Submitted:
    """Send the input's journaled orders, each target's read from the journal a page at a time; each fate onto
    the stage."""
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty(), total=total, failed_label="not accepted")

    def ended(fate: Fate) -> None:
        staging.record(fate)
        progress.tick(failed=fate.fate in UNDONE)

    def entries(lane: str) -> Iterator[Entry]:
        return _entries(journal, staging, lane)

    try:

        async def go(provider: PaymentProvider | None) -> Submitted:
            return Submitted(*await send_lanes(lanes, journal, entries, settings, provider, ended))

        return asyncio.run(paying(payments, go))
    finally:
        progress.close()


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


def fates_in_order(staging: Staging) -> Iterator[Fate]:
    """Every input order's fate, in input order: sent ones as the run left them, the others as decided
    (or refused before sending, with the reason)."""
    return staging.fates(lambda s: fate_of_unsubmitted(s.order))
