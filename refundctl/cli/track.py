"""``refundctl track``: follow submitted refunds to the end, and say loudly when one is late."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from refundctl.adapters import Connection, open_adapter
from refundctl.adapters.base import FINAL_STATUSES
from refundctl.client import RateLimiter
from refundctl.config import Target
from refundctl.errors import ApiError, AuthError, ExitCode, JournalError
from refundctl.journal import Entry, Journal
from refundctl.money import fmt
from refundctl.output import output_option, render

from .connection import ConnectionFlags, connection_options
from .options import AsOf

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


@click.command()
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Journal to read (default: the one *.journal.sqlite in the current directory).",
)
@click.option("--sync", is_flag=True, help="Ask the API for the state of every refund not yet final, and record it.")
@click.option(
    "--overdue",
    "only_overdue",
    is_flag=True,
    help="Show only overdue refunds; exit 5 if there are any (for cron and CI alerts).",
)
@click.option("--as-of", type=AsOf(), default="now", show_default=True, help="Judge age and lateness at this instant.")
@connection_options
@click.option(
    "--concurrency",
    type=click.IntRange(1, 128),
    default=8,
    show_default=True,
    help="Status requests in flight at most (--sync).",
)
@output_option()
@click.pass_context
def track(
    ctx: click.Context,
    journal_path: Path | None,
    sync: bool,
    only_overdue: bool,
    as_of: datetime,
    connection: ConnectionFlags,
    concurrency: int,
    fmt: str,
) -> None:
    """List submitted refunds, their due dates and the overdue ones.

    Each refund's status, age, due date, and whether it is overdue.
    The due date is the regulation's deadline from the decision, else the
    profile's default_service_level_days after the submit's --as-of. A refund is overdue
    when that date has passed and it has not succeeded. With --sync the API is
    asked first (its URL and adapter are the journal's unless --api/--adapter say
    otherwise). Exit 5 with --overdue when any refund is overdue; exit 3 when
    --sync could not reach some refunds.
    """
    journal = Journal.open(journal_path or find_journal(Path.cwd()), create=False)
    problems: list[str] = []
    try:
        if sync:
            target = connection.target(journal.meta("api"), journal.meta("adapter"))
            conn = connection.connection(target, RateLimiter(None), concurrency)
            open_refunds = [e for e in journal.entries() if e.refund_id and e.refund_status not in FINAL_STATUSES]
            problems = asyncio.run(_sync(target, conn, journal, open_refunds))
        rows = [track_row(e, as_of) for e in journal.entries()]
    finally:
        journal.close()
    overdue = [r for r in rows if r["overdue"]]
    render(overdue if only_overdue else rows, fmt, sys.stdout, columns=COLUMNS)
    sys.stdout.flush()
    for problem in problems:
        click.echo(f"refundctl: could not sync {problem}", err=True)
    click.echo(f"refundctl: {len(rows)} refund(s), {len(overdue)} overdue", err=True)
    if only_overdue and overdue:
        ctx.exit(int(ExitCode.OVERDUE))
    if problems:
        ctx.exit(int(ExitCode.PARTIAL))
