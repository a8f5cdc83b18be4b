"""Duffel's order JSON -> refundctl's order format, and its refund conditions -> a policy.

Pure functions, no HTTP. Field mapping (documented in docs/duffel.md):

- ``id`` -> ``id``; ``owner.iata_code`` -> ``supplier``; ``total_currency`` -> ``currency``;
  ``created_at`` -> ``booked_at``.
- ``base_amount`` -> ``fare.base``; ``tax_amount`` -> one tax line ``TAX``; ``services[]``
  (bags, seats) -> ``ancillaries[]`` (unused). Their sum must be ``total_amount``.
- ``slices[].segments[]`` -> ``segments[]``: airports' ``iata_code``, the marketing carrier
  and flight number, and ``departing_at``/``arriving_at``, which are local wall-clock times
  without an offset, made instants with the airport's ``time_zone``.
- fare class: the first letter of the first passenger's ``fare_basis_code`` (the booking
  class by convention), else the ``cabin_class``.

``conditions.refund_before_departure`` (``allowed``, ``penalty_amount``/``penalty_currency``,
or the older ``fee_amount``/``fee_currency``) is the airline's own refund rule: it becomes a
TOML-shaped policy validated by the ordinary schema, so it is data like any policy file.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from refundctl.errors import DuffelDataError
from refundctl.money import fmt
from refundctl.policy.model import Policy
from refundctl.policy.schema import build_policy
from refundctl.validate import Fields, FirstIssue, Words, amount_in, boolean, text
from refundctl.zones import iana_zone

POLICY_PREFIX = "duffel-conditions"
RULE_ID = "refund_before_departure"
POLICY_NAME = "the airline's own refund rule from its Duffel order conditions"
TAX_CODE = "TAX"  # Duffel gives one tax total, not tax lines


# Duffel's answers are read with the shared reader: any key allowed (the API grows fields),
# and the first problem raised as DuffelDataError naming the JSON path.
DUFFEL = Words("object", "unknown field", "required field is missing or null")
FIRST = FirstIssue(lambda issue: DuffelDataError(issue.path, issue.message))


class Node(Fields):
    """One JSON object of a Duffel answer at a known path."""

    __slots__ = ()

    def __init__(self, data: object, path: str) -> None:
        super().__init__(data, path, None, FIRST, words=DUFFEL)

    def text(self, key: str) -> str:
        return self.get(key, text, "")  # the defaults here: never, a problem raises first (FIRST)

    def node(self, key: str) -> Node:
        return Node(self.data.get(key), self.at(key))

    def nodes(self, key: str) -> list[Node]:
        """The objects of a list field; absent, null or empty reads as none."""
        return list(self.items(key, Node)) if self.data.get(key) else []

    def amount(self, key: str, currency: str) -> Decimal:
        return self.get(key, amount_in(currency), Decimal(0))


def local_instant(local: str, zone: str) -> datetime:
    """A Duffel local time (``2020-06-13T16:38:02``, no offset) at an airport, as an aware instant.

    An offset already present is kept. A wall time that occurs twice (the autumn
    daylight-saving fold) is read as the first occurrence.
    """
    try:
        tz = iana_zone(zone)  # a listed name only: ZoneInfo would look a path-like name up as a file
    except ValueError:
        raise ValueError(f"unknown time zone {zone!r}") from None
    try:
        parsed = datetime.fromisoformat(local)
    except ValueError:
        raise ValueError(f"expected a local ISO 8601 time such as 2020-06-13T16:38:02, got {local!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _airport_time(segment: Node, time_key: str, airport_key: str) -> str:
    zone = segment.node(airport_key).text("time_zone")
    return segment.get(time_key, lambda v: local_instant(text(v), zone), datetime.min).isoformat()


def _same_currency(node: Node, key: str, currency: str) -> None:
    given = node.data.get(key)
    if given is not None and given != currency:
        raise DuffelDataError(node.at(key), f"expected {currency} like total_currency, got {given!r}")


def fare_class(order: Node) -> str:
    """The booking class: first letter of the fare basis code, else the cabin class."""
    for sl in order.nodes("slices"):
        for segment in sl.nodes("segments"):
            for passenger in segment.nodes("passengers"):
                basis = passenger.data.get("fare_basis_code")
                if isinstance(basis, str) and basis:
                    return basis[0].upper()
                cabin = passenger.data.get("cabin_class")
                if isinstance(cabin, str) and cabin:
                    return cabin
    return "unknown"


def _segment(segment: Node) -> dict[str, Any]:
    carrier = segment.node("marketing_carrier").text("iata_code")
    return {
        "from": segment.node("origin").text("iata_code"),
        "to": segment.node("destination").text("iata_code"),
        "carrier": carrier,
        "flight": carrier + segment.text("marketing_carrier_flight_number"),
        "departs_at": _airport_time(segment, "departing_at", "origin"),
        "arrives_at": _airport_time(segment, "arriving_at", "destination"),
        "status": "scheduled",
    }


def to_order(data: object) -> dict[str, Any]:
    """refundctl's order record (still to be validated by ``parse_order``) for a Duffel order object."""
    order = Node(data, "data")
    currency = order.text("total_currency")
    _same_currency(order, "base_currency", currency)
    _same_currency(order, "tax_currency", currency)
    base = order.amount("base_amount", currency)
    tax = order.amount("tax_amount", currency) if order.data.get("tax_amount") is not None else Decimal(0)
    services: list[tuple[str, Decimal]] = []
    for service in order.nodes("services"):
        _same_currency(service, "total_currency", currency)
        services.append((service.text("type"), service.amount("total_amount", currency)))
    total = order.amount("total_amount", currency)
    summed = base + tax + sum((amount for _, amount in services), Decimal(0))
    if summed != total:
        raise DuffelDataError(
            order.at("total_amount"),
            f"{fmt(total, currency)} is not base_amount + tax_amount + services ({fmt(summed, currency)} {currency})",
        )
    segments = [_segment(seg) for sl in order.nodes("slices") for seg in sl.nodes("segments")]
    if not segments:
        raise DuffelDataError(order.at("slices"), "the order has no segments")
    return {
        "id": order.text("id"),
        "kind": "flight",
        "supplier": order.node("owner").text("iata_code"),
        "currency": currency,
        "booked_at": order.text("created_at"),
        "channel": "duffel",
        "payment_method": "balance",  # Duffel refunds to the original payment method: the Duffel balance
        "traveler_tags": [],
        "waiver_codes": [],
        "fare": {
            "class": fare_class(order),
            "base": fmt(base, currency),
            "taxes": [{"code": TAX_CODE, "amount": fmt(tax, currency)}] if tax else [],
            "fees": [],
        },
        "ancillaries": [{"code": code, "amount": fmt(amount, currency), "used": False} for code, amount in services],
        "segments": segments,
        "change_accepted": False,
    }


def refund_condition(data: object) -> tuple[bool, str | None, str | None] | None:
    """``(allowed, penalty amount, penalty currency)`` of ``conditions.refund_before_departure``.

    None when Duffel does not know the rule (the condition, or the whole ``conditions``, is null).
    Both the newer ``penalty_*`` and the older ``fee_*`` field names are read.
    """
    order = Node(data, "data")
    conditions = order.data.get("conditions")
    if conditions is None:
        return None
    condition = Node(conditions, order.at("conditions")).data.get(RULE_ID)
    if condition is None:
        return None
    node = Node(condition, f"data.conditions.{RULE_ID}")
    allowed = node.get("allowed", boolean, False)
    amount = node.data.get("penalty_amount", node.data.get("fee_amount"))
    currency = node.data.get("penalty_currency", node.data.get("fee_currency"))
    if amount is not None and not isinstance(amount, str):
        raise DuffelDataError(node.at("penalty_amount"), f'expected a decimal string such as "100.00", got {amount!r}')
    if currency is not None and not isinstance(currency, str):
        raise DuffelDataError(node.at("penalty_currency"), f"expected a currency code, got {currency!r}")
    return allowed, amount, currency


def policy_data(order: dict[str, Any], condition: tuple[bool, str | None, str | None]) -> dict[str, Any] | None:
    """The conditions as a policy file's data (what ``policies/*.toml`` would hold), or None.

    None when refunds are allowed but Duffel does not know the penalty (amount or currency
    null): no rule can be stated.
    Allowed: the penalty is charged on the base fare until departure, taxes and unused
    services come back (Duffel: "If there's a penalty, that will be subtracted from the money
    that is refunded"); after departure the base fare is kept. Not allowed: nothing comes back.
    """
    allowed, amount, currency = condition
    carrier = order["supplier"]
    head = {
        "id": f"{POLICY_PREFIX}/{carrier}",
        "kind": "airline",
        "name": POLICY_NAME,
        "source": f"Duffel order {order['id']}: conditions.{RULE_ID}",
        "carriers": [carrier],
        "currency": order["currency"],
    }
    rule: dict[str, Any] = {"id": RULE_ID, "classes": [order["fare"]["class"]], "refundable": allowed}
    if allowed:
        if amount is None or currency is None:
            return None
        rule |= {
            "windows": [{"id": "before-departure", "penalty": {"amount": amount, "currency": currency}}],
            "no_show": {"id": "after-departure", "penalty": {"percent": "100"}},
            "taxes": {"refund": "all"},
            "ancillaries": "unused",
        }
    else:
        rule |= {"taxes": {"refund": "none"}, "ancillaries": "none"}
    return {"policy": head, "fares": [rule]}


def conditions_policy(data: object, order: dict[str, Any]) -> tuple[Policy | None, str]:
    """The airline's refund rule as a policy, or None; and a sentence saying which (for explanations)."""
    condition = refund_condition(data)
    if condition is None:
        return None, f"Duffel order {order['id']} has no conditions.{RULE_ID}: the airline's refund rule is unknown"
    raw = policy_data(order, condition)
    if raw is None:
        unknown = "penalty_amount or penalty_currency is null"
        return None, f"Duffel order {order['id']} allows refunds but its penalty is unknown ({unknown})"
    policy, issues = build_policy(raw, f"duffel:{order['id']}", {})
    if policy is None:
        detail = "; ".join(f"{path}: {message}" for path, message in issues)
        raise DuffelDataError(f"data.conditions.{RULE_ID}", f"cannot be used as a refund rule ({detail})")
    return policy, f"from {POLICY_NAME} ({policy.source})"
