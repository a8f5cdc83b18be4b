"""Read orders from files or stdin, streaming: JSON object, JSON array, JSON Lines or CSV.

Memory stays flat in the number of orders: a JSON array is decoded element by
element (``json_formats``), and the ids seen (to find duplicates across a run) are
kept on disk (``dedup``). This module sniffs each input's format and turns every
record into a :class:`Record`: an order, or the problems with it, located by file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson

from refundctl.errors import OrderError, Problem
from refundctl.orders.csv_format import csv_field, csv_records
from refundctl.orders.dedup import Dedup, chunks
from refundctl.orders.json_formats import is_json, json_array, json_document, jsonl_records
from refundctl.orders.model import Order
from refundctl.orders.parse import parse_order
from refundctl.orders.raw import RawItem, close_input, open_input


@dataclass(slots=True)
class Record:
    source: str
    line: int
    order: Order | None
    problems: list[Problem] = field(default_factory=list)


def iter_raw(paths: Sequence[str]) -> Iterator[RawItem]:
    """Every raw record of every input, in input order; ``-`` is stdin."""
    for path in paths:
        yield from _raw(path)


def to_record(item: RawItem) -> Record:
    """Decode and validate one raw record (duplicates across records are :class:`Dedup`'s job)."""
    source, line, data, error = item
    if error is None and isinstance(data, bytes):
        try:
            data = orjson.loads(data)
        except ValueError as exc:
            error = f"invalid JSON: {exc}"
    if error is not None:
        return Record(source, line, None, [Problem(source, line, None, error)])
    order, invalid = parse_order(data)
    is_csv = source.lower().endswith(".csv")
    problems = [Problem(source, line, csv_field(p.path) if is_csv else p.path, p.message) for p in invalid]
    return Record(source, line, order, problems)


def iter_records(paths: Sequence[str]) -> Iterator[Record]:
    """Every record of every input, in input order; ``-`` is stdin."""
    dedup = Dedup()
    try:
        for batch in chunks(to_record(item) for item in iter_raw(paths)):
            keys = [(r.order.id if r.order else None, r.source, r.line) for r in batch]
            for record, problem in zip(batch, dedup.duplicates(keys), strict=True):
                if problem is not None:
                    record.problems.append(problem)
                    record.order = None
                yield record
    finally:
        dedup.close()


def load_orders(paths: Sequence[str]) -> list[Order]:
    """All orders, or OrderError listing every bad record (for small inputs: sandbox seeding, explain)."""
    orders: list[Order] = []
    problems: list[Problem] = []
    for record in iter_records(paths):
        if record.order is None:
            problems.extend(record.problems)
        else:
            orders.append(record.order)
    if problems:
        raise OrderError(problems)
    return orders


def _raw(path: str) -> Iterator[RawItem]:
    """(source, line, decoded object, error) for each record of one input."""
    source = "<stdin>" if path == "-" else path
    stream = open_input(path)
    try:
        if path.lower().endswith(".csv"):
            yield from csv_records(source, stream)
            return
        head: list[str] = []
        for line in stream:
            head.append(line)
            if line.strip():
                break
        first = head[-1].lstrip() if head else ""
        lines = _chain(head, stream)
        if not first:
            return
        if path.lower().endswith(".jsonl"):
            yield from jsonl_records(source, lines)  # even when the first line is broken
        elif first.startswith("["):
            yield from json_array(source, lines)
        elif first.startswith("{"):
            if is_json(first) and not path.lower().endswith(".json"):
                yield from jsonl_records(source, lines)
            else:
                yield from json_document(source, lines, len(head))
        else:
            yield from csv_records(source, lines)
    except UnicodeDecodeError as exc:
        yield (source, 0, None, f"not UTF-8 text: {exc.reason}")
    finally:
        close_input(path, stream)


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest
