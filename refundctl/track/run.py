"""The track flow: follow submitted refunds to the end, and say when one is late."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from refundctl.adapters import Connection, open_adapter
from refundctl.adapters.base import FINAL_STATUSES
from refundctl.config import Target
from refundctl.errors import ApiError, AuthError, JournalError
from refundctl.money import fmt
from refundctl.submit.journal import Entry, Journal

Connect = Callable[[str | None, str | None], tuple[Target, Connection]]  # the journal's api and adapter
COLUMNS = ("order_id", "state", "status", "amount", "currency", "refund_id", "age_days", "due_by", "overdue", "note")


def find_journal(directory: Path) -> Path:
    """The one ``*.journal.sqlite`` here, as submit names them; anything else needs --journal."""
    found = sorted(directory.glob("*.journal.sqlite"))
    if len(found) != 1:
        what = "no journal" if not found else f"{len(found)} journals ({', '.join(p.name for p in found)})"
        raise JournalError(f"{what} in {directory}; pass --journal FILE")
    return found[0]


def track_row(entry: Entry, as_of: datetime) -> dict[str, Any]:
    """A refund is overdue once its due date has passed and the money has not arrived."""
    plan = entry.plan
    amount = entry.sent_amount if entry.sent_amount is not None else plan.amount
    since = entry.sent_at or entry.created_at
    overdue = plan.due_by is not None and as_of.date() > plan.due_by and entry.refund_status != "succeeded"
    return {
        "order_id": plan.order_id,
        "state": entry.state,
        "status": entry.refund_status,
        "amount": fmt(amount, plan.currency),
        "currency": plan.currency,
        "refund_id": entry.refund_id,
        "age_days": max(0, (as_of - since).days),
        "due_by": None if plan.due_by is None else plan.due_by.isoformat(),
        "overdue": overdue,
        "note": entry.error,
    }


async def _sync(target: Target, conn: Connection, journal: Journal, entries: list[Entry]) -> list[str]:
    """Poll every refund not yet final and record its state; the problems met, one line each."""
    supplier = open_adapter(target.adapter, conn)
    gate = asyncio.Semaphore(conn.concurrency)
    problems: list[str] = []

    async def one(entry: Entry) -> None:
        assert entry.refund_id is not None
        async with gate:
            try:
                state = await supplier.get_refund(entry.refund_id)
            except AuthError:
                raise
            except ApiError as exc:  # includes TransportError: this refund stays as it was
                problems.append(f"{entry.order_id}: {exc}")
                return
        journal.record_status(entry.order_id, status=state.status, answer=state.raw)

    try:
        async with asyncio.TaskGroup() as group:
            for entry in entries:
                group.create_task(one(entry))
    except BaseExceptionGroup as exc:
        raise exc.exceptions[0] from None
    finally:
        await supplier.aclose()
    return problems


def follow(
    journal_path: Path, as_of: datetime, connect: Connect | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every journaled refund's row at ``as_of``; with ``connect``, the API is asked first about those
    not yet final (the problems met, one line each, come second)."""
    journal = Journal.open(journal_path, create=False)
    problems: list[str] = []
    try:
        if connect is not None:
            target, conn = connect(journal.meta("api"), journal.meta("adapter"))
            open_refunds = [e for e in journal.entries() if e.refund_id and e.refund_status not in FINAL_STATUSES]
            problems = asyncio.run(_sync(target, conn, journal, open_refunds))
        rows = [track_row(e, as_of) for e in journal.entries()]
    finally:
        journal.close()
    return rows, problems
