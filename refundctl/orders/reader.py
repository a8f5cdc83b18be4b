"""Read orders from files or stdin, streaming: JSON object, JSON array, JSON Lines or CSV.

Memory stays flat in the number of orders: a JSON array is decoded element by
element, and the ids seen (to find duplicates across a run) are kept on disk.
Every record comes out as a :class:`Record`: an order, or the problems with it,
located by file and line.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from refundctl.errors import OrderError, Problem
from refundctl.orders.model import Order
from refundctl.orders.parse import parse_order

CHUNK = 256  # records per batch: duplicate checks, and check --jobs tasks
LIST_SEP = ";"
T = TypeVar("T")
# CSV: one row per single-segment flight or hotel stay. Lists use ';', charges CODE=AMOUNT,
# ancillaries CODE=AMOUNT or CODE=AMOUNT:used. Column -> path in the JSON order format.
CSV_COLUMNS = {
    "id": "id", "kind": "kind", "supplier": "supplier", "currency": "currency", "booked_at": "booked_at",
    "channel": "channel", "payment_method": "payment_method", "traveler_tags": "traveler_tags",
    "waiver_codes": "waiver_codes", "fare_class": "fare.class", "base": "fare.base", "taxes": "taxes",
    "fees": "fees", "ancillaries": "ancillaries", "from": "segments[0].from", "to": "segments[0].to",
    "carrier": "segments[0].carrier", "flight": "segments[0].flight", "departs_at": "segments[0].departs_at",
    "arrives_at": "segments[0].arrives_at", "segment_status": "segments[0].status",
    "changed_departs_at": "segments[0].changed_departs_at", "changed_arrives_at": "segments[0].changed_arrives_at",
    "change_accepted": "change_accepted", "check_in": "stay.check_in", "nights": "stay.nights",
    "rooms": "stay.rooms", "timezone": "stay.timezone", "rate_plan": "stay.rate_plan", "nightly": "stay.nightly",
    "hotel_status": "status",
}  # fmt: skip


@dataclass(slots=True)
class Record:
    source: str
    line: int
    order: Order | None
    problems: list[Problem] = field(default_factory=list)


# (source, line, decoded value or undecoded JSON as bytes, error). JSON Lines records stay
# bytes until to_record (in a worker, for check --jobs); decoded JSON is never bytes.
RawItem = tuple[str, int, Any, str | None]


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
    problems = [Problem(source, line, _csv_field(p.path) if is_csv else p.path, p.message) for p in invalid]
    return Record(source, line, order, problems)


class Dedup:
    """Order ids must be unique within a run; remembers where each was first seen.

    The ids live in a private temporary SQLite database on disk (SQLite caches a few
    pages in memory), so memory stays flat however many orders a run has. Records are
    checked a batch at a time: one query and one insert per batch.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": temporary, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE seen (id TEXT PRIMARY KEY, first TEXT NOT NULL) WITHOUT ROWID;"
        )

    def duplicates(self, batch: Sequence[tuple[str | None, str, int]]) -> list[Problem | None]:
        """For each (order id or None, source, line): the duplicate-id problem, or None."""
        ids = [oid for oid, _, _ in batch if oid is not None]
        marks = ",".join("?" * len(ids))
        first: dict[str, str] = dict(self._db.execute(f"SELECT id, first FROM seen WHERE id IN ({marks})", ids))
        out: list[Problem | None] = []
        new: list[tuple[str, str]] = []
        for oid, source, line in batch:
            if oid is None or oid not in first:
                out.append(None)
                if oid is not None:
                    first[oid] = f"{source}:{line}"
                    new.append((oid, first[oid]))
            else:
                out.append(Problem(source, line, "id", f"duplicate order id {oid!r} (first at {first[oid]})"))
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?, ?)", new)
        self._db.execute("COMMIT")
        return out

    def close(self) -> None:
        self._db.close()


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


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


@dataclass(frozen=True, slots=True)
class IdLine:
    """A supplier order id and where it was read."""

    source: str
    line: int
    order_id: str


def read_order_ids(paths: Sequence[str]) -> list[IdLine]:
    """Order ids, one per line (blank lines and ``#`` comments ignored), or OrderError listing every bad line."""
    ids: list[IdLine] = []
    problems: list[Problem] = []
    for path in paths:
        source = "<stdin>" if path == "-" else path
        stream = _open(path, "order ids")
        try:
            for number, text in enumerate(stream, 1):
                value = text.strip()
                if not value or value.startswith("#"):
                    continue
                if len(value.split()) > 1:
                    problems.append(Problem(source, number, None, f"expected one order id per line, got {value!r}"))
                else:
                    ids.append(IdLine(source, number, value))
        except UnicodeDecodeError as exc:
            problems.append(Problem(source, None, None, f"not UTF-8 text: {exc.reason}"))
        finally:
            _close(path, stream)
    dedup = Dedup()
    try:
        for batch in chunks(ids):
            found = dedup.duplicates([(i.order_id, i.source, i.line) for i in batch])
            problems.extend(p for p in found if p is not None)
    finally:
        dedup.close()
    if problems:
        rank = {("<stdin>" if path == "-" else path): n for n, path in enumerate(paths)}
        raise OrderError(sorted(problems, key=lambda p: (rank.get(p.file, 0), p.line or 0)))
    return ids


def _open(path: str, what: str = "orders") -> IO[str]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    try:
        return Path(path).open(encoding="utf-8-sig", newline="")  # a BOM (Excel, Notepad) is not content
    except OSError as exc:
        raise OrderError([Problem(path, None, None, f"cannot read {what}: {exc.strerror}")]) from None


def _close(path: str, stream: IO[str]) -> None:
    if isinstance(stream, io.TextIOWrapper) and path == "-":
        stream.detach()  # leave stdin open: a closed wrapper would close sys.stdin's buffer
    else:
        stream.close()


def _raw(path: str) -> Iterator[RawItem]:
    """(source, line, decoded object, error) for each record of one input."""
    source = "<stdin>" if path == "-" else path
    stream = _open(path)
    try:
        if path.lower().endswith(".csv"):
            yield from _csv(source, stream)
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
            yield from _jsonl(source, lines)  # even when the first line is broken
        elif first.startswith("["):
            yield from _json_array(source, lines)
        elif first.startswith("{"):
            if _is_json(first) and not path.lower().endswith(".json"):
                yield from _jsonl(source, lines)
            else:
                yield from _json_document(source, lines, len(head))
        else:
            yield from _csv(source, lines)
    except UnicodeDecodeError as exc:
        yield (source, 0, None, f"not UTF-8 text: {exc.reason}")
    finally:
        _close(path, stream)


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _jsonl(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield (source, number, line.encode(), None)


def _json_document(source: str, lines: Iterable[str], start_line: int) -> Iterator[RawItem]:
    """A whole file that is one JSON value: an order object (or an array, handled as one)."""
    text = "".join(lines)
    try:
        value = json.loads(text)
    except ValueError as exc:
        yield (source, getattr(exc, "lineno", start_line), None, f"invalid JSON: {exc}")
        return
    for item in value if isinstance(value, list) else [value]:
        yield (source, start_line, item, None)


def _json_array(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    """Decode a JSON array element by element, tracking each element's first line."""
    decoder = json.JSONDecoder()
    buf = ""
    line = 1  # line number at buf[0]
    it = iter(lines)
    pos = 0
    exhausted = False
    opened = False

    def refill() -> bool:
        nonlocal buf, pos, line, exhausted
        chunk = "".join(_take(it, 512))
        if not chunk:
            exhausted = True
            return False
        line += buf.count("\n", 0, pos)
        buf = buf[pos:] + chunk
        pos = 0
        return True

    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            if buf[pos] == "," and not opened:
                break
            pos += 1
        if pos >= len(buf):
            if exhausted or not refill():
                yield (source, line + buf.count("\n", 0, pos), None, "invalid JSON: the array is not closed with ]")
                return
            continue
        if not opened:
            if buf[pos] != "[":
                yield (source, line, None, "invalid JSON: expected [")
                return
            opened = True
            pos += 1
            continue
        if buf[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not exhausted and refill():
                continue
            # The line of the error itself, not of the element it is in.
            yield (source, line + buf.count("\n", 0, exc.pos), None, f"invalid JSON: {exc.msg}")
            return
        element_line = line + buf.count("\n", 0, pos)
        # A value ending exactly at the buffer end may be a truncated number; read on to be sure.
        if end == len(buf) and not exhausted and refill():
            continue
        yield (source, element_line, value, None)
        pos = end


def _take(it: Iterator[str], n: int) -> Iterator[str]:
    for _, item in zip(range(n), it, strict=False):
        yield item


def _csv(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    reader = csv.DictReader(lines)
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown or not reader.fieldnames:
        expected = ", ".join(CSV_COLUMNS)
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "no header row"
        yield (source, 1, None, f"{what}; expected columns among: {expected}")
        return
    try:
        for row in reader:
            try:
                yield (source, reader.line_num, _row_to_order(row), None)
            except ValueError as exc:
                yield (source, reader.line_num, None, str(exc))
    except csv.Error as exc:
        yield (source, reader.line_num, None, f"invalid CSV: {exc}")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEP) if part.strip()]


def _charges(cell: str, column: str) -> list[dict[str, str]]:
    out = []
    for part in _split(cell):
        code, sep, amount = part.partition("=")
        if not sep:
            raise ValueError(f"{column}: expected CODE=AMOUNT items separated by ';', got {part!r}")
        out.append({"code": code.strip(), "amount": amount.strip()})
    return out


def _row_to_order(row: dict[str, str]) -> dict[str, Any]:
    cells = {k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip()}
    order: dict[str, Any] = {k: cells[k] for k in ("id", "kind", "supplier", "currency", "booked_at",
                                                 "channel", "payment_method") if k in cells}  # fmt: skip
    order["traveler_tags"] = _split(cells.get("traveler_tags", ""))
    order["waiver_codes"] = _split(cells.get("waiver_codes", ""))
    if cells.get("kind") == "hotel":
        stay: dict[str, Any] = {k: cells[k] for k in ("check_in", "timezone", "rate_plan") if k in cells}
        for k in ("nights", "rooms"):
            if k in cells:
                stay[k] = int(cells[k]) if cells[k].isdigit() else cells[k]
        stay["nightly"] = _split(cells.get("nightly", ""))
        order.update(
            stay=stay,
            taxes=_charges(cells.get("taxes", ""), "taxes"),
            fees=_charges(cells.get("fees", ""), "fees"),
            status=cells.get("hotel_status", "confirmed"),
        )
        return order
    ancillaries = []
    for item in _charges(cells.get("ancillaries", ""), "ancillaries"):
        amount, _, used = item["amount"].partition(":")
        ancillaries.append({"code": item["code"], "amount": amount, "used": used == "used"})
    segment: dict[str, Any] = {k: cells[k] for k in ("from", "to", "carrier", "flight", "departs_at", "arrives_at",
                                     "changed_departs_at", "changed_arrives_at") if k in cells}  # fmt: skip
    segment["status"] = cells.get("segment_status", "scheduled")
    order.update(
        fare={"class": cells.get("fare_class"), "base": cells.get("base"),
              "taxes": _charges(cells.get("taxes", ""), "taxes"), "fees": _charges(cells.get("fees", ""), "fees")},
        ancillaries=ancillaries,
        segments=[segment],
        change_accepted=cells.get("change_accepted", "false").lower() == "true",
    )  # fmt: skip
    return order


def _csv_field(path: str) -> str:
    """Name the CSV column for a JSON field path, so the user knows which cell to fix."""
    for prefix in ("fare.taxes", "fare.fees"):  # a flight's charges sit in the same columns as a hotel's
        if path.startswith(prefix + "["):
            column = prefix.removeprefix("fare.")
            return f"{column} ({path})"
    for column, json_path in CSV_COLUMNS.items():
        if path == json_path or path.startswith(json_path + "[") or path.startswith(json_path + "."):
            return f"{column} ({path})" if path != column else column
    return path
