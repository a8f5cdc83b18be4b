"""Orders as CSV: one row per single-segment flight or hotel stay, mapped to the JSON order format.

Cells are read strictly: each column has one cell syntax (text, a ';' list, charges, a
boolean, a whole number), and a cell that does not follow it is a problem named by row
and column, never a guess. A filled cell the row's kind has no use for is a problem too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from refundctl.errors import shown
from refundctl.orders.raw import RawItem

LIST_SEP = ";"


class CellError(ValueError):
    """A cell that does not follow its column's syntax."""


def text(cell: str) -> str:
    return cell


def items(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEP) if part.strip()]


def boolean(cell: str) -> bool:
    """``true`` or ``false``, in any case (spreadsheets write TRUE and FALSE); nothing else."""
    value = cell.lower()
    if value not in ("true", "false"):
        raise CellError(f"expected true or false, got {shown(cell)}")
    return value == "true"


_WHOLE = re.compile(r"[0-9]{1,18}")


def whole(cell: str) -> int:
    if not _WHOLE.fullmatch(cell):
        raise CellError(f"expected a whole number, got {shown(cell)}")
    return int(cell)


def _pairs(cell: str, syntax: str) -> Iterator[tuple[str, str]]:
    for part in items(cell):
        key, sep, value = part.partition("=")
        if not (sep and key.strip() and value.strip()):
            raise CellError(f"expected {syntax} items separated by '{LIST_SEP}', got {shown(part)}")
        yield key.strip(), value.strip()


def charges(cell: str) -> list[dict[str, str]]:
    return [{"code": code, "amount": amount} for code, amount in _pairs(cell, "CODE=AMOUNT")]


def ancillaries(cell: str) -> list[dict[str, Any]]:
    """``CODE=AMOUNT`` (unused) or ``CODE=AMOUNT:used`` (``used`` in any case)."""
    out = []
    for code, value in _pairs(cell, "CODE=AMOUNT or CODE=AMOUNT:used"):
        amount, sep, flag = value.partition(":")
        if sep and flag.strip().lower() != "used":
            raise CellError(f"expected CODE=AMOUNT or CODE=AMOUNT:used, got {shown(f'{code}={value}')}")
        out.append({"code": code, "amount": amount.strip(), "used": bool(sep)})
    return out


def evidence(cell: str) -> list[dict[str, str]]:
    return [{"waiver": waiver, "reference": ref} for waiver, ref in _pairs(cell, "WAIVER=REFERENCE")]


class Column(NamedTuple):
    """Where a column goes in a flight and in a hotel order ("": not used by that kind), and its cell syntax."""

    flight: str
    hotel: str
    cell: Callable[[str], Any] = text


def _both(path: str, cell: Callable[[str], Any] = text) -> Column:
    return Column(path, path, cell)


def _flight(path: str, cell: Callable[[str], Any] = text) -> Column:
    return Column(path, "", cell)


def _hotel(path: str, cell: Callable[[str], Any] = text) -> Column:
    return Column("", path, cell)


# Column -> paths in the JSON order format. One row per single-segment flight or hotel stay.
CSV_COLUMNS: dict[str, Column] = {
    "id": _both("id"), "kind": _both("kind"), "supplier": _both("supplier"), "currency": _both("currency"),
    "booked_at": _both("booked_at"), "channel": _both("channel"), "payment_method": _both("payment_method"),
    "traveler_tags": _both("traveler_tags", items), "waiver_codes": _both("waiver_codes", items),
    "fare_class": _flight("fare.class"), "base": _flight("fare.base"),
    "taxes": Column("fare.taxes", "taxes", charges), "fees": Column("fare.fees", "fees", charges),
    "ancillaries": _flight("ancillaries", ancillaries),
    "from": _flight("segments[0].from"), "to": _flight("segments[0].to"),
    "carrier": _flight("segments[0].carrier"), "flight": _flight("segments[0].flight"),
    "departs_at": _flight("segments[0].departs_at"), "arrives_at": _flight("segments[0].arrives_at"),
    "segment_status": _flight("segments[0].status"),
    "changed_departs_at": _flight("segments[0].changed_departs_at"),
    "changed_arrives_at": _flight("segments[0].changed_arrives_at"),
    "change_accepted": _flight("change_accepted", boolean),
    "check_in": _hotel("stay.check_in"), "nights": _hotel("stay.nights", whole),
    "rooms": _hotel("stay.rooms", whole), "timezone": _hotel("stay.timezone"),
    "rate_plan": _hotel("stay.rate_plan"), "nightly": _hotel("stay.nightly", items),
    "hotel_status": _hotel("status"),
    "evidence": _both("evidence", evidence),
    "cancellation_notified_at": _flight("cancellation_notified_at"),
    "changed_from": _flight("segments[0].changed_from"), "changed_to": _flight("segments[0].changed_to"),
    "added_connections": _flight("segments[0].added_connections", whole),
    "extraordinary_circumstances": _flight("segments[0].extraordinary_circumstances", boolean),
    "actual_departs_at": _flight("segments[0].actual_departs_at"),
    "actual_arrives_at": _flight("segments[0].actual_arrives_at"),
    "refund_requested_at": _flight("refund_requested_at"),
    "journey_abandoned": _flight("journey_abandoned", boolean),
    "rerouting_departs_at": _flight("rerouting.departs_at"), "rerouting_arrives_at": _flight("rerouting.arrives_at"),
    "payment_reference": _both("payment_reference"),
}  # fmt: skip


def csv_records(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        yield RawItem(source, reader.line_num, None, ((None, f"invalid CSV: {exc}"),))
        return
    unknown = [c for c in header or [] if c not in CSV_COLUMNS]
    repeated = sorted({c for c in header or [] if header and header.count(c) > 1})
    if unknown or repeated or not header:
        expected = ", ".join(CSV_COLUMNS)
        what = (
            f"unknown column(s) {', '.join(map(shown, unknown))}"
            if unknown
            else f"column(s) {', '.join(repeated)} given twice"
            if repeated
            else "no header row"
        )
        yield RawItem(source, 1, None, ((None, f"{what}; expected columns among: {expected}"),), csv=True)
        return
    try:
        for row in reader:
            order, problems = _row_to_order(row, len(header))
            yield RawItem(source, reader.line_num, order, problems, csv=True)
    except csv.Error as exc:
        yield RawItem(source, reader.line_num, None, ((None, f"invalid CSV: {exc}"),), csv=True)


def _row_to_order(row: dict[str | None, Any], width: int) -> tuple[dict[str, Any], tuple[tuple[str | None, str], ...]]:
    """The order in the JSON shape (empty cells absent), and the cells that could not be read."""
    problems: list[tuple[str | None, str]] = []
    extra = row.pop(None, None)
    if extra:
        problems.append((None, f"{len(extra)} cell(s) beyond the header's {width} columns"))
    kind = (row.get("kind") or "").strip()
    # The objects a kind requires are always there, so a missing cell is named by its column.
    required: dict[str, dict[str, Any]] = {"flight": {"fare": {}, "segments": [{}]}, "hotel": {"stay": {}}}
    order = required.get(kind, {})
    for column, value in row.items():
        cell = (value or "").strip()
        if not cell or column is None:
            continue
        spec = CSV_COLUMNS[column]
        path = spec.flight if kind == "flight" else spec.hotel if kind == "hotel" else ""
        if kind not in ("flight", "hotel"):
            path = spec.flight if spec.flight == spec.hotel else ""  # the kind is reported; read what is common
        elif not path:
            problems.append((column, f"not used by {kind} orders: leave it empty"))
            continue
        if path:
            try:
                _put(order, path, spec.cell(cell))
            except CellError as exc:
                problems.append((column, str(exc)))
    return order, tuple(problems)


def _put(order: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a path such as ``segments[0].from``, creating the objects on the way."""
    target = order
    *parents, leaf = path.split(".")
    for name in parents:
        key, _, index = name.partition("[")
        if index:
            slots: list[Any] = target.setdefault(key, [])
            position = int(index.rstrip("]"))
            slots.extend({} for _ in range(position + 1 - len(slots)))
            target = slots[position]
        else:
            target = target.setdefault(key, {})
    target[leaf] = value


def csv_field(path: str) -> str:
    """Name the CSV column for a JSON field path, so the user knows which cell to fix."""
    for column, spec in CSV_COLUMNS.items():
        for json_path in (spec.flight, spec.hotel):
            if json_path and (path == json_path or path.startswith((json_path + "[", json_path + "."))):
                return column if path == column else f"{column} ({path})"
    return path
