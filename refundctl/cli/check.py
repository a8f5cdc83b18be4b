"""``refundctl check``: decide what every order gets back, and why."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import click

from refundctl.engine import Decision, decide
from refundctl.errors import ExitCode, OrderError, Problem
from refundctl.money import fmt
from refundctl.orders import iter_records
from refundctl.output import dumps, output_option, render

from .options import as_of_option, load, policies_option

TABLE_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
                 "next_change", "why")  # fmt: skip
CSV_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
               "funded_by_supplier", "funded_by_platform", "policy", "reason", "waivers", "regulations", "due_by",
               "compensation", "compensation_currency", "next_change_at", "next_change_refund", "rules")  # fmt: skip
SPOOL_BYTES = 8 << 20


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
        row["why"] = row["reason"] or (row["rules"][0]["rule"] if row["rules"] else "")
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
def check(
    orders: tuple[str, ...],
    policy_dir: Path | None,
    as_of: datetime,
    fmt: str,
    keep_going: bool,
    error_report: Path | None,
) -> None:
    """Decide the refund of every order in ORDERS (files, or - for stdin).

    Orders may be a JSON object, a JSON array, JSON Lines or CSV. By default a bad
    record stops the run before any output (exit 2); with --keep-going the good
    ones are decided and every bad one is listed on stderr and in an error report.
    """
    policies = load(policy_dir)
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    totals: dict[str, Decimal] = {}

    def rows() -> Iterator[dict[str, Any]]:
        for record in iter_records(orders):
            if record.order is None:
                problems.extend(record.problems)
                if keep_going:
                    for problem in record.problems:
                        click.echo(f"refundctl: bad record: {problem}", err=True)
                continue
            decision = decide(record.order, policies, as_of)
            counts[decision.outcome] += 1
            totals[decision.currency] = totals.get(decision.currency, Decimal(0)) + decision.refund
            yield flat_row(decision, fmt)

    out = sys.stdout
    columns = TABLE_COLUMNS if fmt == "table" else CSV_COLUMNS
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
    if problems:
        path = error_report or _default_report(orders[0])
        _write_report(path, problems)
        click.echo(f"refundctl: {len(problems)} problem(s) in bad records; report written to {path}", err=True)
        sys.exit(int(ExitCode.BAD_INPUT))


def _summary(counts: Counter[str], totals: dict[str, Decimal]) -> None:
    decided = sum(counts.values())
    parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    money = ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(totals.items()))
    click.echo(f"refundctl: {decided} order(s) decided: {parts or 'none'}; refundable {money or '0'}", err=True)


def _default_report(first: str) -> Path:
    return Path("refundctl-errors.jsonl") if first == "-" else Path(first).with_suffix(".errors.jsonl")


def _write_report(path: Path, problems: list[Problem]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        _lines(handle, problems)


def _lines(handle: TextIO, problems: list[Problem]) -> None:
    for problem in problems:
        handle.write(dumps(problem.to_dict()) + "\n")
