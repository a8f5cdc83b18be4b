"""Decide every record of a batch, stream the output rows, tally outcomes and bad records."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from refundctl.check.batch import Job, decide_records
from refundctl.engine import Decision
from refundctl.errors import InputError, OrderError, Problem
from refundctl.orders.shards import Shard
from refundctl.output import dumps, encode, render
from refundctl.policy.loader import load_policies

TABLE_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
                 "compensation", "next_change", "why")  # fmt: skip
CSV_COLUMNS = ("order_id", "kind", "outcome", "currency", "paid", "refund", "penalty", "non_refundable",
               "funded_by_supplier", "funded_by_platform", "policy", "reason", "waivers", "regulations", "due_by",
               "due_by_provisional", "compensation", "compensation_currency", "next_change_at", "next_change_refund",
               "rules")  # fmt: skip
SPOOL_BYTES = 8 << 20
CHARGES = ("base", "rooms", "all")
DEFAULT_JOBS = min(os.cpu_count() or 1, 8)


@dataclass
class Tally:
    """What a check run decided: outcomes counted, refundable totals per currency, and the bad records."""

    problems: list[Problem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    totals: dict[str, Decimal] = field(default_factory=dict)
    stopped: bool = False  # the reader closed the output before every record was decided


def check_row(decision: Decision, fmt_name: str, columns: Sequence[str]) -> dict[str, Any] | str:
    """The output row of one decision; streaming formats come back encoded (in the worker)."""
    row = flat_row(decision, fmt_name)
    return encode(row, fmt_name, columns) if fmt_name in ("jsonl", "csv") else row


def flat_row(decision: Decision, fmt_name: str) -> dict[str, Any]:
    """JSON formats get the decision as is; table and csv get flat cells."""
    row = decision.to_dict()
    if fmt_name in ("json", "jsonl"):
        return row
    nxt = row["next_change"]
    comp = decision.compensation_totals()  # one total per currency; CSV lists them with ';'
    row.update(
        funded_by_supplier=row["funded_by"].get("supplier"),
        funded_by_platform=row["funded_by"].get("platform"),
        waivers=";".join(row["waivers"]),
        regulations=";".join(row["regulations"]),
        compensation=";".join(comp.values()) or None,
        compensation_currency=";".join(comp) or None,
        next_change_at=nxt["at"] if nxt else None,
        next_change_refund=nxt["refund"] if nxt else None,
    )
    if fmt_name == "table":
        row["compensation"] = ", ".join(f"{amount} {cur}" for cur, amount in comp.items())
        row["next_change"] = f"{nxt['refund']} after {nxt['at']}" if nxt else ""
        # The rule that priced the fare or rooms says the most; "flown" only says what was used.
        priced = [r["rule"] for r in row["rules"] if r["component"] in CHARGES and not r["rule"].endswith("/flown")]
        row["why"] = row["reason"] or next(iter(priced), row["rules"][0]["rule"] if row["rules"] else "")
    return row


def run_check(
    orders: Sequence[str],
    policy_dir: Path | None,
    as_of: datetime,
    fmt_name: str,
    out: TextIO,
    *,
    keep_going: bool,
    jobs: int,
    shard: Shard | None = None,
    on_problem: Callable[[Problem], None] = lambda problem: None,
    stop: Callable[[], bool] = lambda: False,
    on_records: Callable[[int, int], None] = lambda records, bad: None,
) -> Tally:
    """Decide every record of ``orders`` and render the rows to ``out``.

    Without ``keep_going`` nothing reaches ``out`` unless every record is good (OrderError
    lists them all); with it the good ones are rendered, and each bad one goes to ``on_problem``.
    With ``shard``, only that shard's records are decided (and reported when bad).
    Once ``stop()`` is true (nobody reads the output any more) the rest is not decided.
    ``on_records(records, bad)`` follows every chunk of records (a progress meter).
    """
    policies = load_policies(policy_dir)
    tally = Tally()
    columns = TABLE_COLUMNS if fmt_name == "table" else CSV_COLUMNS
    job = Job(policy_dir, as_of, partial(check_row, fmt_name=fmt_name, columns=columns), shard)

    # Per chunk, not per record: with workers deciding, this process's time per record bounds the run.
    def rows() -> Iterator[dict[str, Any] | str]:
        for chunk in decide_records(list(orders), job, policies, jobs):
            if stop():  # `| head` has read enough: deciding the rest would be wasted
                tally.stopped = True
                return
            on_records(len(chunk.ids) + len(chunk.bad), len(chunk.bad))
            for _, problems in chunk.bad:
                tally.problems.extend(problems)
                if keep_going:
                    for problem in problems:
                        on_problem(problem)
            tally.counts.update(chunk.counts)
            for currency, total in chunk.totals.items():
                tally.totals[currency] = tally.totals.get(currency, Decimal(0)) + Decimal(total)
            if chunk.text:
                yield chunk.text
            else:
                yield from chunk.rows

    if keep_going:
        render(rows(), fmt_name, out, columns=columns)
    else:
        # Nothing reaches the output unless every record is good: spool, then copy.
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
            render(rows(), fmt_name, spool, columns=columns)  # type: ignore[arg-type]
            if tally.problems:
                raise OrderError(tally.problems)
            spool.seek(0)
            shutil.copyfileobj(spool, out)
    out.flush()
    return tally


def default_report(first: str) -> Path:
    """The error report's default path: beside the first input (in the working directory for stdin)."""
    return Path("refundctl-errors.jsonl") if first == "-" else Path(first).with_suffix(".errors.jsonl")


def check_report_path(path: Path) -> None:
    """Refuse a report path that cannot be written before any work is done, not after it."""
    parent = path.parent
    problem = (
        "is a directory" if path.is_dir()
        else f"its folder {parent} does not exist" if not parent.is_dir()
        else f"its folder {parent} is not writable" if not os.access(parent, os.W_OK)
        else None
    )  # fmt: skip
    if problem is not None:
        raise InputError([Problem(str(path), None, None, f"cannot write the error report here: {problem}")])


def bad_records(problems: list[Problem]) -> list[dict[str, Any]]:
    """One entry per bad record, with every problem found in it, in input order."""
    records: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    for problem in problems:
        records.setdefault((problem.file, problem.line), []).append(
            {"field": problem.field, "message": problem.message}
        )
    return [{"file": file, "line": line, "problems": found} for (file, line), found in records.items()]


def write_report(path: Path, records: list[dict[str, Any]]) -> None:
    """Every bad record as one JSON line; InputError if the file cannot be written."""
    try:
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(record) + "\n" for record in records)
    except OSError as exc:
        message = f"cannot write the error report: {exc.strerror or exc}"
        raise InputError([Problem(str(path), None, None, message)]) from None
