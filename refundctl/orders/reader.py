"""Read orders from files or stdin, streaming: JSON object, JSON array, JSON Lines or CSV.

Memory stays flat in the number of orders: a JSON array is split element by element
(``json_formats``), and the ids seen (to find duplicates across a run) are kept on disk
(``dedup``). This module sniffs each input's format and turns every record into a
:class:`Record`: an order, or the problems with it, located by file and line (and by
element index in a JSON array, by column in CSV). Every JSON record is decoded by
``jsonvalue`` here, whatever its format, so the same record gets the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from refundctl import jsonvalue
from refundctl.errors import OrderError, Problem
from refundctl.orders.csv_format import csv_field, csv_records
from refundctl.orders.dedup import Dedup, chunks
from refundctl.orders.fast import fast_order
from refundctl.orders.json_formats import block_records, is_json, json_array, json_document, jsonl_records
from refundctl.orders.model import Order
from refundctl.orders.parse import parse_order
from refundctl.orders.raw import Block, NotText, RawItem, TextLines, close_input, open_input, warn
from refundctl.orders.shards import Shard


@dataclass(slots=True)
class Record:
    source: str
    line: int
    order: Order | None
    problems: list[Problem] = field(default_factory=list)


def iter_raw(paths: Sequence[str]) -> Iterator[RawItem]:
    """Every raw record of every input, in input order; ``-`` is stdin."""
    for path in paths:
        for part in read_input(path):
            if isinstance(part, Block):
                yield from block_records(part)
            else:
                yield part


def to_record(item: RawItem) -> Record:
    """Decode and validate one raw record (duplicates across records are :class:`Dedup`'s job)."""
    source, line, data = item.source, item.line, item.data
    problems = [Problem(source, line, name, message) for name, message in item.problems]
    if data is None:  # unreadable: its problems say why
        return Record(source, line, None, problems)
    if isinstance(data, bytes):
        try:
            data = jsonvalue.loads(data)
        except jsonvalue.JsonError as exc:
            at = line + exc.line - 1  # the line of the error itself, not of the record it is in
            return Record(source, at, None, [*problems, Problem(source, at, _field(item, None), exc.message)])
        fast = None if problems else fast_order(data)
        if fast is not None:  # a good record, read in C: parse_order would build the same order
            return Record(source, line, fast)
    order, invalid = parse_order(data)
    unread = {name for name, _ in item.problems}  # a cell that could not be read is not also "missing"
    for invalid_field in invalid:
        name = _field(item, invalid_field.path)
        if name is None or name.split(" (")[0] not in unread:
            problems.append(Problem(source, line, name, invalid_field.message))
    return Record(source, line, None if problems else order, problems)


def _field(item: RawItem, path: str | None) -> str | None:
    """A field path as the user wrote it: the CSV column, or the path within a JSON array element."""
    if item.csv and path is not None:
        return csv_field(path)
    if item.element is None:
        return path
    if path is None or path == "<record>":
        return f"[{item.element}]"
    return f"[{item.element}].{path}"


def iter_records(paths: Sequence[str], shard: Shard | None = None) -> Iterator[Record]:
    """Every record of every input (or of ``shard`` only), in input order; ``-`` is stdin."""
    raw = iter_raw(paths) if shard is None else shard.select(iter_raw(paths))
    dedup = Dedup()
    try:
        for batch in chunks(to_record(item) for item in raw):
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


def read_input(path: str, note: Callable[[str], None] = warn) -> Iterator[RawItem | Block]:
    """Every raw record of one input, its format told by its name and its first character.

    JSON Lines come as their first record, then in blocks of lines (split into records by
    ``block_records``, in a check worker): reading them costs this process no work per record.
    ``note`` is told what the user should know (an input with no orders).
    """
    source = "<stdin>" if path == "-" else path
    stream = open_input(path)
    suffix = "" if path == "-" else Path(path).suffix.lower()
    count = 0
    try:
        for count, item in enumerate(_records(source, suffix, TextLines(stream)), 1):  # noqa: B007
            yield item
    except NotText as exc:
        count += 1
        yield RawItem(source, exc.line, None, ((None, str(exc)),))
    finally:
        close_input(path, stream)
    if not count:
        note(f"{source}: no orders in this input")


def _records(source: str, suffix: str, lines: TextLines) -> Iterator[RawItem | Block]:
    if suffix == ".csv":
        yield from csv_records(source, lines)
        return
    head: list[str] = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    first = head[-1].lstrip() if head else ""
    if not first:
        return
    if suffix == ".jsonl" or (first.startswith("{") and is_json(first) and suffix != ".json"):
        yield from jsonl_records(source, head)  # with a .jsonl name even when the first line is broken
        yield from lines.blocks(source)
        return
    rest = _chain(head, lines)
    if first.startswith("["):
        yield from json_array(source, rest)
    elif first.startswith("{") or suffix == ".json" or is_json(first):
        # A JSON file, or one whose first line is a JSON number or string: the decoder says what it holds.
        yield from json_document(source, rest, len(head))
    else:
        yield from csv_records(source, rest)


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest
