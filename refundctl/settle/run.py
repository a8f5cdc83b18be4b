"""Record platform legs paid by hand: a ``manual`` leg (no payments provider sent it) becomes ``paid_by_hand``
with the reference of the payment a person made, so reconcile confirms it and reruns stop reporting it unpaid.

The payments come from the command line (one order and its reference) or from a file of ``order_id,reference``
(CSV with that header, or JSON Lines of ``{"order_id": ..., "reference": ...}``), every record validated
(``validate.Fields``) and every problem located by file and line before the journal is touched. Then all are
recorded in one transaction or none: an unknown order, a leg that is not manual, or a leg already recorded
with another reference refuses the whole file (each refusal named), while the same reference again is a no-op,
so a file can be applied twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refundctl import jsonvalue
from refundctl.errors import InputError, JournalError, Problem
from refundctl.money import fmt
from refundctl.orders.raw import NotText, TextLines, close_input, open_input
from refundctl.submit.journal import HandPaid, Journal
from refundctl.validate import Fields, Issue, text

COLUMNS = ("order_id", "payer", "amount", "currency", "reference", "result")
FIELDS = ("order_id", "reference")
BUSY = "settle records payments, so it waits for that run to end: settle again once it has finished"


@dataclass(frozen=True, slots=True)
class HandPayment:
    """One platform leg a person paid: the order, the payment's reference, and where it was read."""

    order_id: str
    reference: str
    source: str = ""  # "": the command line
    line: int | None = None


def _payment(data: Any, source: str, line: int, problems: list[Problem]) -> HandPayment | None:
    """A record's fields, or None with its problems located (``file:line: field: expected ...``)."""
    issues: list[Issue] = []
    fields = Fields(data, "", frozenset(FIELDS), issues, required=frozenset(FIELDS))
    order_id = fields.get("order_id", text, "", required=False)  # both required: missing is reported above
    reference = fields.get("reference", text, "", required=False)
    problems += [Problem(source, line, issue.path, issue.message) for issue in issues]
    return None if issues else HandPayment(order_id, reference, source, line)


def _jsonl(source: str, lines: Iterator[str], problems: list[Problem]) -> Iterator[HandPayment | None]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = jsonvalue.loads(line)
        except jsonvalue.JsonError as exc:
            problems.append(Problem(source, number, None, exc.message))
            continue
        yield _payment(data, source, number, problems)


def _csv(source: str, lines: Iterator[str], problems: list[Problem]) -> Iterator[HandPayment | None]:
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames or []
        if sorted(header) != sorted(FIELDS):
            got = ", ".join(header) or "no header row"
            problems.append(Problem(source, 1, None, f"expected the header order_id,reference; got {got}"))
            return
        for row in reader:
            if None in row or None in row.values():
                problems.append(Problem(source, reader.line_num, None, "expected 2 cells: order_id,reference"))
                continue
            yield _payment({k: v for k, v in row.items() if v}, source, reader.line_num, problems)
    except csv.Error as exc:
        problems.append(Problem(source, reader.line_num, None, f"invalid CSV: {exc}"))


def read_payments(path: str) -> list[HandPayment]:
    """The hand payments in a file (``-``: stdin), CSV or JSON Lines; InputError listing every bad record."""
    source = "<stdin>" if path == "-" else path
    problems: list[Problem] = []
    found: list[HandPayment] = []
    stream = open_input(path, "hand payments")
    try:
        lines = list(TextLines(stream))  # a person's list of payments: small, and read twice (sniffed, then read)
    except NotText as exc:
        raise InputError([Problem(source, exc.line, None, str(exc))]) from None
    finally:
        close_input(path, stream)
    first = next((line for line in lines if line.strip()), "")
    if first:
        read = _jsonl if first.lstrip().startswith("{") else _csv
        found = [p for p in read(source, iter(lines), problems) if p is not None]
    if not found and not problems:
        problems.append(Problem(source, None, None, "no hand payments (expected order_id,reference records)"))
    if problems:
        raise InputError(problems)
    return found


def _where(payment: HandPayment) -> str:
    """``FILE:LINE: `` before a refusal of a file's record (none for the command line's one payment)."""
    return f"{payment.source}:{payment.line}: " if payment.source else ""


def settle(journal_path: Path, payments: Sequence[HandPayment]) -> list[dict[str, Any]]:
    """Record ``payments`` in the journal, all or none (it takes the journal's lock: it writes); one row each.

    JournalError listing every refusal, located, when any is refused (nothing is recorded then)."""
    journal = Journal.open(journal_path, create=False, lock=True, busy=BUSY)
    try:
        done, refused = journal.pay_by_hand([(p.order_id, p.reference) for p in payments])
    finally:
        journal.close()
    if refused:
        lines = [f"{_where(payments[index])}{why}" for index, why in refused]
        raise JournalError("\n".join([*lines, f"nothing recorded: {len(refused)} of {len(payments)} refused"]))
    return [_row(paid) for paid in done]


def _row(paid: HandPaid) -> dict[str, Any]:
    return {
        "order_id": paid.order_id,
        "payer": "platform",
        "amount": fmt(paid.amount, paid.currency),
        "currency": paid.currency,
        "reference": paid.reference,
        "result": "recorded" if paid.recorded else "already_recorded",
    }
