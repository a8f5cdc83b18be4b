"""The track flow: follow submitted refunds to the end, and say when one is late."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from refundctl.adapters import Connection, open_adapter, open_payments
from refundctl.adapters.base import FINAL_STATUSES, RefundState
from refundctl.config import PaymentsTarget, Target
from refundctl.errors import ApiError, AuthError, JournalError
from refundctl.money import fmt
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
    provider: _Provider, journal: Journal, legs: list[tuple[str, Leg]], concurrency: int, tick: Tick
) -> list[str]:
    """Poll every leg not yet final at its provider and record its state; the problems met, one line each."""
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

    try:
        async with asyncio.TaskGroup() as group:
            for order_id, leg in legs:
                group.create_task(one(order_id, leg))
    except BaseExceptionGroup as exc:
        raise exc.exceptions[0] from None
    return problems


def _open(entry: Entry, payer: str) -> list[Leg]:
    """The order's legs of ``payer`` not yet final at their provider."""
    return [
        leg for leg in entry.legs if leg.payer == payer and leg.refund_id and leg.refund_status not in FINAL_STATUSES
    ]


def _open_legs(journal: Journal, payer: str, target: str | None = None) -> list[tuple[str, Leg]]:
    """The legs of ``payer`` (of one ``target``'s refunds, if named) not yet final at their provider."""
    return [
        (e.order_id, leg)
        for e in journal.entries()
        if target is None or e.plan.target == target
        for leg in _open(e, payer)
    ]


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


def follow(
    journal_path: Path, as_of: datetime, connect: Connect | None = None, connect_payments: ConnectPayments | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every journaled leg's row at ``as_of``; with ``connect``, the providers are asked first about the legs
    not yet final: the supplier, and (``connect_payments``) the payments provider (the problems met, one line
    each, come second)."""
    # --sync records states, so it takes the journal's lock (one writer at a time); reading alone never waits.
    journal = Journal.open(journal_path, create=False, lock=connect is not None, busy=SYNC_BUSY)
    problems: list[str] = []
    try:
        if connect is not None:
            bound = journal.targets() or {"": (journal.meta("api"), journal.meta("adapter"))}
            # A routed journal's target is asked (its token read) only about legs still open there.
            asked = {n for n in bound if not n} | {e.plan.target for e in journal.entries() if _open(e, "supplier")}
            suppliers = {name: connect(name, api, adapter) for name, (api, adapter) in bound.items() if name in asked}
            payments = None
            if _open_legs(journal, "platform"):
                payments = (
                    None
                    if connect_payments is None
                    else connect_payments(journal.meta("payments"), journal.meta("payments_api"))
                )
                if payments is None:
                    problems.append("platform legs: no payments provider to ask (--payments, or the journal's)")
            total = len(_open_legs(journal, "supplier")) + (len(_open_legs(journal, "platform")) if payments else 0)
            progress = Progress(
                sys.stderr, enabled=sys.stderr.isatty(), total=total, noun="synced", failed_label="unreachable"
            )
            try:
                problems += asyncio.run(_sync(suppliers, payments, journal, progress))
            finally:
                progress.close()
        rows = [row for e in journal.entries() for row in track_rows(e, as_of)]
    finally:
        journal.close()
    return rows, problems
