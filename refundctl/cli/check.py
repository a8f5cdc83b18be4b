"""``refundctl check``: decide what every order gets back, and why."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import click

from refundctl.batch import Job, decide_records
from refundctl.config import resolve_policy_dir
from refundctl.engine import Decision
from refundctl.engine.decision import SUBMITTABLE
from refundctl.errors import ExitCode, InputError, OrderError, Problem
from refundctl.money import fmt
from refundctl.output import Encoded, dumps, encode, output_option, render
from refundctl.policy import load_policies

from .options import as_of_option, policies_option
from .streams import stdout_closed

TABLE_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
                 "next_change", "why")  # fmt: skip
CSV_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
               "funded_by_supplier", "funded_by_platform", "policy", "reason", "waivers", "regulations", "due_by",
               "compensation", "compensation_currency", "next_change_at", "next_change_refund", "rules")  # fmt: skip
SPOOL_BYTES = 8 << 20
CHARGES = ("base", "rooms", "all")
DEFAULT_JOBS = min(os.cpu_count() or 1, 8)


def check_row(decision: Decision, fmt_name: str, columns: Sequence[str]) -> dict[str, Any] | Encoded:
    """The output row of one decision; streaming formats come back encoded (in the worker)."""
    row = flat_row(decision, fmt_name)
    return encode(row, fmt_name, columns) if fmt_name in ("jsonl", "csv") else row


def flat_row(decision: Decision, fmt_name: str) -> dict[str, Any]:
    """JSON formats get the decision as is; table and csv get flat cells."""
    row = decision.to_dict()
    if fmt_name in ("json", "jsonl"):
        return row
    nxt = row["next_change"]
    comp = row["compensation"]
    row.update(
        funded_by_supplier=row["funded_by"].get("supplier"),
        funded_by_platform=row["funded_by"].get("platform"),
        waivers=";".join(row["waivers"]),
        regulations=";".join(row["regulations"]),
        compensation=comp["amount"] if comp else None,
        compensation_currency=comp["currency"] if comp else None,
        next_change_at=nxt["at"] if nxt else None,
        next_change_refund=nxt["refund"] if nxt else None,
    )
    if fmt_name == "table":
        row["next_change"] = f"{nxt['refund']} after {nxt['at']}" if nxt else ""
        # The rule that priced the fare or rooms says the most; "flown" only says what was used.
        priced = [r["rule"] for r in row["rules"] if r["component"] in CHARGES and not r["rule"].endswith("/flown")]
        row["why"] = row["reason"] or next(iter(priced), row["rules"][0]["rule"] if row["rules"] else "")
    return row


@click.command()
@click.argument("orders", nargs=-1, required=True)
@policies_option
@as_of_option
@output_option()
@click.option("--keep-going", is_flag=True, help="Decide the good records; report the bad ones instead of stopping.")
@click.option(
    "--error-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --keep-going: write bad records here as JSON Lines (default: beside the first input).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Worker processes deciding orders (1: decide in this process). Output is the same for any value.",
)
def check(
    orders: tuple[str, ...],
    policy_dir: Path | None,
    as_of: datetime,
    fmt: str,
    keep_going: bool,
    error_report: Path | None,
    jobs: int,
) -> None:
    """Decide what every order in ORDERS gets back, and why.

    ORDERS are files, or - for stdin. Orders may be a JSON object, a JSON array, JSON Lines or CSV. By default a bad
    record stops the run before any output (exit 2); with --keep-going the good
    ones are decided and every bad one is listed on stderr and in an error report.
    """
    policy_dir, _ = resolve_policy_dir(policy_dir)
    policies = load_policies(policy_dir)
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    totals: dict[str, Decimal] = {}
    columns = TABLE_COLUMNS if fmt == "table" else CSV_COLUMNS
    job = Job(policy_dir, as_of, partial(check_row, fmt_name=fmt, columns=columns))

    stopped = False

    def rows() -> Iterator[dict[str, Any] | Encoded]:
        nonlocal stopped
        for result in decide_records(list(orders), job, policies, jobs):
            if stdout_closed():  # `| head` has read enough: deciding the rest would be wasted
                stopped = True
                return
            if result.order_id is None:
                problems.extend(result.problems)
                if keep_going:
                    for problem in result.problems:
                        click.echo(f"refundctl: bad record: {problem}", err=True)
                continue
            counts[result.outcome] += 1
            if result.outcome in SUBMITTABLE:  # needs_evidence amounts are not refundable yet
                totals[result.currency] = totals.get(result.currency, Decimal(0)) + result.refund
            yield result.row

    out = sys.stdout
    if keep_going:
        render(rows(), fmt, out, columns=columns)
    else:
        # Nothing reaches stdout unless every record is good: spool, then copy.
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
            render(rows(), fmt, spool, columns=columns)  # type: ignore[arg-type]
            if problems:
                raise OrderError(problems)
            spool.seek(0)
            shutil.copyfileobj(spool, out)
    out.flush()
    _summary(counts, totals)
    if stopped:
        click.echo("refundctl: output closed by its reader; the remaining orders were not decided", err=True)
    if problems:
        path = error_report or _default_report(orders[0])
        _write_report(path, problems)
        click.echo(f"refundctl: {len(problems)} problem(s) in bad records; report written to {path}", err=True)
        sys.exit(int(ExitCode.BAD_INPUT))
    if stopped:
        sys.exit(int(ExitCode.CLOSED_PIPE))


def _summary(counts: Counter[str], totals: dict[str, Decimal]) -> None:
    decided = sum(counts.values())
    parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    money = ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(totals.items()))
    click.echo(f"refundctl: {decided} order(s) decided: {parts or 'none'}; refundable now {money or '0'}", err=True)


def _default_report(first: str) -> Path:
    return Path("refundctl-errors.jsonl") if first == "-" else Path(first).with_suffix(".errors.jsonl")


def _write_report(path: Path, problems: list[Problem]) -> None:
    try:
        with path.open("w", encoding="utf-8") as handle:
            _lines(handle, problems)
    except OSError as exc:
        message = f"cannot write the error report: {exc.strerror or exc}"
        raise InputError([Problem(str(path), None, None, message)]) from None


def _lines(handle: TextIO, problems: list[Problem]) -> None:
    for problem in problems:
        handle.write(dumps(problem.to_dict()) + "\n")
