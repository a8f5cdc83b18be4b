"""Orders as CSV: one row per single-segment flight or hotel stay, mapped to the JSON order format."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from refundctl.orders.raw import RawItem

LIST_SEP = ";"
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
    "hotel_status": "status", "actual_departs_at": "segments[0].actual_departs_at",
    "actual_arrives_at": "segments[0].actual_arrives_at", "cancellation_notified_at": "cancellation_notified_at",
    "refund_requested_at": "refund_requested_at", "journey_abandoned": "journey_abandoned",
    "rerouting_departs_at": "rerouting.departs_at", "rerouting_arrives_at": "rerouting.arrives_at",
    "payment_reference": "payment_reference",
}  # fmt: skip


def csv_records(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
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
                                                 "channel", "payment_method",
                                                 "payment_reference") if k in cells}  # fmt: skip
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
                                     "changed_departs_at", "changed_arrives_at", "actual_departs_at",
                                     "actual_arrives_at") if k in cells}  # fmt: skip
    segment["status"] = cells.get("segment_status", "scheduled")
    for key in ("cancellation_notified_at", "refund_requested_at"):
        if key in cells:
            order[key] = cells[key]
    if "journey_abandoned" in cells:
        flag = cells["journey_abandoned"]
        # Only true/false: anything else reaches the parser as text and is reported with its column.
        order["journey_abandoned"] = {"true": True, "false": False}.get(flag.lower(), flag)
    if "rerouting_departs_at" in cells or "rerouting_arrives_at" in cells:
        order["rerouting"] = {k.removeprefix("rerouting_"): cells[k] for k in ("rerouting_departs_at",
                              "rerouting_arrives_at") if k in cells}  # fmt: skip
    order.update(
        fare={"class": cells.get("fare_class"), "base": cells.get("base"),
              "taxes": _charges(cells.get("taxes", ""), "taxes"), "fees": _charges(cells.get("fees", ""), "fees")},
        ancillaries=ancillaries,
        segments=[segment],
        change_accepted=cells.get("change_accepted", "false").lower() == "true",
    )  # fmt: skip
    return order


def csv_field(path: str) -> str:
    """Name the CSV column for a JSON field path, so the user knows which cell to fix."""
    for prefix in ("fare.taxes", "fare.fees"):  # a flight's charges sit in the same columns as a hotel's
        if path.startswith(prefix + "["):
            column = prefix.removeprefix("fare.")
            return f"{column} ({path})"
    for column, json_path in CSV_COLUMNS.items():
        if path == json_path or path.startswith(json_path + "[") or path.startswith(json_path + "."):
            return f"{column} ({path})" if path != column else column
    return path
