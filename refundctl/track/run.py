"""The track flow: follow submitted refunds to the end, and say when one is late."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from refundctl.adapters import Connection, open_adapter, open_payments
from refundctl.adapters.base import FINAL_STATUSES, RefundState
from refundctl.config import PaymentsTarget, Target
from refundctl.errors import ApiError, AuthError, JournalError
from refundctl.money import fmt
from refundctl.orders.dedup import chunks
from refundctl.output.progress import Progress
from refundctl.submit.journal import Entry, Journal, Leg, overdue

# A target's name ("": the run's one API) and the api and adapter the journal bound it to -> where to ask.
Connect = Callable[[str, str | None, str | None], tuple[Target, Connection]]
Payments = tuple[PaymentsTarget, Connection]
# The journal's payments provider and its URL -> where to ask about platform legs (None: nowhere).
ConnectPayments = Callable[[str | None, str | None], Payments | None]
COLUMNS = (
    "order_id",
    "payer",
    "state",
    "status",
    "amount",
    "currency",
    "refund_id",
    "age_days",
    "due_by",
    "due_by_provisional",
    "overdue",
    "note",
)


POLL_PAGE = 1000  # legs polled per batch of tasks: a journal of any size in little memory
SYNC_BUSY = (
    "track --sync records what the providers answer, so it waits for that run to end: run track without --sync "
    "to read the journal now, or --sync again once that run has finished"
)


def find_journal(directory: Path) -> Path:
    """The one ``*.journal.sqlite`` here, as submit names them; anything else needs --journal."""
    found = sorted(directory.glob("*.journal.sqlite"))
    if len(found) != 1:
        what = "no journal" if not found else f"{len(found)} journals ({', '.join(p.name for p in found)})"
        raise JournalError(f"{what} in {directory}; pass --journal FILE")
    return found[0]


def track_rows(entry: Entry, as_of: datetime) -> list[dict[str, Any]]:
    """One row per leg. A leg is overdue once its due date has passed and its money has not arrived.

    Without a regulation deadline an order is due a service level after its first leg left (the
    journal sets ``due_by`` then): until then it has no due date and cannot be overdue.
    """
    plan = entry.plan
    rows = []
    for leg in entry.legs:
        amount = leg.sent_amount if leg.sent_amount is not None else leg.amount
        since = leg.sent_at or leg.created_at
        rows.append(
            {
                "order_id": plan.order_id,
                "payer": leg.payer,
                "state": leg.state,
                "status": leg.refund_status,
                "amount": fmt(amount, plan.currency),
                "currency": plan.currency,
                "refund_id": leg.refund_id,
                "age_days": max(0, (as_of - since).days),
                "due_by": None if plan.due_by is None else plan.due_by.isoformat(),
                "due_by_provisional": plan.due_by_provisional,
                "overdue": overdue(plan, leg, as_of),
                "note": leg.error,
            }
        )
    return rows


class _Provider(Protocol):
    async def get_refund(self, refund_id: str) -> RefundState: ...


Tick = Callable[[bool], None]  # one leg polled (True: it could not be)


async def _poll(
    provider: _Provider, journal: Journal, legs: Iterable[tuple[str, Leg]], concurrency: int, tick: Tick
) -> list[str]:
    """Poll every leg not yet final at its provider and record its state; the problems met, one line each.

    The legs come a page at a time from the journal (``_open_legs``), and are polled a page at a time: as many
    tasks as a page holds, never one per leg of the journal."""
    gate = asyncio.Semaphore(concurrency)
    problems: list[str] = []

    async def one(order_id: str, leg: Leg) -> None:
        assert leg.refund_id is not None
        async with gate:
            try:
                state = await provider.get_refund(leg.refund_id)
            except AuthError:
                raise
            except ApiError as exc:  # includes TransportError: this leg stays as it was
                problems.append(f"{order_id} ({leg.payer}): {exc}")
                tick(True)
                return
        journal.record_status(order_id, status=state.status, answer=state.raw, payer=leg.payer)
        tick(False)

    for page in chunks(legs, POLL_PAGE):
        try:
            async with asyncio.TaskGroup() as group:
                for order_id, leg in page:
                    group.create_task(one(order_id, leg))
        except BaseExceptionGroup as exc:
            raise exc.exceptions[0] from None
    return problems


def _open(entry: Entry, payer: str) -> list[Leg]:
    """The order's legs of ``payer`` not yet final at their provider."""
    return [
        leg for leg in entry.legs if leg.payer == payer and leg.refund_id and leg.refund_status not in FINAL_STATUSES
    ]


def _open_legs(journal: Journal, payer: str, target: str | None = None) -> Iterator[tuple[str, Leg]]:
    """The legs of ``payer`` (of one ``target``'s refunds, if named) not yet final at their provider, read from the
    journal a page at a time."""
    for e in journal.iter_entries():
        if target is None or e.plan.target == target:
            for leg in _open(e, payer):
                yield e.order_id, leg


def _count(legs: Iterable[object]) -> int:
    return sum(1 for _ in legs)


async def _sync(
    suppliers: dict[str, tuple[Target, Connection]], payments: Payments | None, journal: Journal, progress: Progress
) -> list[str]:
    """Poll both providers: each supplier leg at the target that created it, platform legs at the payments
    provider."""

    def tick(failed: bool) -> None:
        progress.tick(failed=failed)

    problems: list[str] = []
    for name, (target, conn) in suppliers.items():
        adapter = open_adapter(target.adapter, conn)
        try:
            problems += await _poll(adapter, journal, _open_legs(journal, "supplier", name), conn.concurrency, tick)
        finally:
            await adapter.aclose()
    if payments is None:
        return problems
    provider = open_payments(payments[0].provider, payments[1])
    try:
        legs = _open_legs(journal, "platform")
        return problems + await _poll(provider, journal, legs, payments[1].concurrency, tick)
    finally:
        await provider.aclose()


def _synced(journal: Journal, connect: Connect, connect_payments: ConnectPayments | None) -> list[str]:
    """Ask the providers about the legs not yet final and record their answers; the problems met, one line each."""
    problems: list[str] = []
    bound = journal.targets() or {"": (journal.meta("api"), journal.meta("adapter"))}
    # A routed journal's target is asked (its token read) only about legs still open there.
    asked = {n for n in bound if not n} | {e.plan.target for e in journal.iter_entries() if _open(e, "supplier")}
    suppliers = {name: connect(name, api, adapter) for name, (api, adapter) in bound.items() if name in asked}
    payments = None
    if next(_open_legs(journal, "platform"), None) is not None:
        payments = (
            None
            if connect_payments is None
            else connect_payments(journal.meta("payments"), journal.meta("payments_api"))
        )
        if payments is None:
            problems.append("platform legs: no payments provider to ask (--payments, or the journal's)")
    total = _count(_open_legs(journal, "supplier")) + (_count(_open_legs(journal, "platform")) if payments else 0)
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty(), total=total, noun="synced", failed_label="unreachable")
    try:
        problems += asyncio.run(_sync(suppliers, payments, journal, progress))
    finally:
        progress.close()
    return problems


class Followed:
    """The journal's legs, read a page at a time as their rows are taken (``rows``), counted as they pass; the
    problems a sync met."""

    def __init__(self, journal: Journal, as_of: datetime, problems: list[str]) -> None:
        self._journal = journal
        self._as_of = as_of
        self.problems = problems
        self.refunds = 0  # legs read so far
        self.overdue = 0  # of which overdue

    def rows(self, only_overdue: bool = False) -> Iterator[dict[str, Any]]:
        """Every leg's row in planning order (only the overdue ones with ``only_overdue``); every leg is counted."""
        for entry in self._journal.iter_entries():
            for row in track_rows(entry, self._as_of):
                self.refunds += 1
                self.overdue += row["overdue"]
                if row["overdue"] or not only_overdue:
                    yield row


@contextlib.contextmanager
def follow(
    journal_path: Path, as_of: datetime, connect: Connect | None = None, connect_payments: ConnectPayments | None = None
) -> Iterator[Followed]:
    """The journal's legs at ``as_of``, to be read while it is open; with ``connect``, the providers are asked
    first about the legs not yet final: the supplier, and (``connect_payments``) the payments provider (the
    problems met, one line each, are ``Followed.problems``)."""
    # --sync records states, so it takes the journal's lock (one writer at a time); reading alone never waits.
    journal = Journal.open(journal_path, create=False, lock=connect is not None, busy=SYNC_BUSY)
    try:
        problems = [] if connect is None else _synced(journal, connect, connect_payments)
        yield Followed(journal, as_of, problems)
    finally:
        journal.close()
