"""Duffel order JSON -> refundctl order, and conditions.refund_before_departure -> a policy the engine applies."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.adapters.duffel_orders import (
    DuffelDataError,
    conditions_policy,
    local_instant,
    policy_data,
    refund_condition,
    to_order,
)
from refundctl.engine.supplier_rules import decide_with_supplier_rules
from refundctl.orders.model import FlightOrder
from refundctl.orders.parse import parse_order
from refundctl.policy import Policy
from refundctl.policy.loader import load_policies
from refundctl.policy.schema import build_policy

DATA = Path(__file__).parents[1] / "data" / "duffel"
BEFORE = datetime.fromisoformat("2026-05-01T10:00:00+00:00")
AFTER_DEPARTURE = datetime.fromisoformat("2026-06-14T10:00:00+00:00")


def duffel_order() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "order.json").read_text())["data"]
    return copy.deepcopy(data)


def parsed(data: dict[str, Any]) -> FlightOrder:
    order, problems = parse_order(to_order(data))
    assert isinstance(order, FlightOrder), [f"{p.path}: {p.message}" for p in problems]
    return order


class Rules:
    """A supplier stand-in that states the order's own rule, as the Duffel adapter does."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def order_policy(self, order_id: str) -> tuple[Policy | None, str]:
        return conditions_policy(self.data, to_order(self.data))


def test_order_fields_map_to_refundctl_fields() -> None:
    order = parsed(duffel_order())
    assert order.id == "ord_0000AZtUqd1tPKxEyMDkcJ"
    assert order.common.supplier == "ZZ"
    assert order.currency == "GBP"
    assert order.common.booked_at.isoformat() == "2026-04-11T15:48:11.642000+00:00"
    assert order.fare.fare_class == "O"  # first letter of fare_basis_code OXZ0RO
    assert order.fare.base == Decimal("45.60")
    assert [(t.code, t.amount) for t in order.fare.taxes] == [("TAX", Decimal("30.20"))]
    assert [(a.code, a.amount, a.used) for a in order.ancillaries] == [("baggage", Decimal("15.00"), False)]
    assert order.paid == Decimal("90.80")
    assert [(s.origin, s.destination, s.carrier, s.flight) for s in order.segments] == [
        ("LHR", "JFK", "ZZ", "ZZ1234"),
        ("JFK", "LHR", "ZZ", "ZZ1235"),
    ]


def test_segment_times_are_local_times_at_each_airport() -> None:
    outbound, inbound = parsed(duffel_order()).segments
    assert outbound.departs_at.isoformat() == "2026-06-13T11:10:00+01:00"  # London, summer time
    assert outbound.arrives_at.isoformat() == "2026-06-13T14:05:00-04:00"  # New York, daylight time
    assert inbound.arrives_at.isoformat() == "2026-06-21T07:10:00+01:00"
    assert (outbound.arrives_at - outbound.departs_at).total_seconds() == 7 * 3600 + 55 * 60


def test_local_instant() -> None:
    assert local_instant("2026-01-10T08:00:00", "Europe/London").isoformat() == "2026-01-10T08:00:00+00:00"
    assert local_instant("2026-01-10T08:00:00+08:00", "Europe/London").isoformat() == "2026-01-10T08:00:00+08:00"
    with pytest.raises(ValueError, match="unknown time zone"):
        local_instant("2026-01-10T08:00:00", "Mars/Olympus")
    with pytest.raises(ValueError, match="local ISO 8601 time"):
        local_instant("next tuesday", "Europe/London")


def test_fare_class_falls_back_to_the_cabin() -> None:
    data = duffel_order()
    for sl in data["slices"]:
        for seg in sl["segments"]:
            for pax in seg["passengers"]:
                del pax["fare_basis_code"]
    assert to_order(data)["fare"]["class"] == "economy"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d.update(total_amount="99.99"), "data.total_amount", "is not base_amount + tax_amount + services"),
        (lambda d: d["slices"][0]["segments"][0]["origin"].pop("time_zone"),
         "data.slices[0].segments[0].origin.time_zone", "missing"),
        (lambda d: d.update(base_currency="USD"), "data.base_currency", "expected GBP"),
        (lambda d: d.update(base_amount=None), "data.base_amount", "missing or null"),
        (lambda d: d.update(tax_amount="30.205"), "data.tax_amount", "more decimals"),
        (lambda d: d.update(slices=[]), "data.slices", "no segments"),
        (lambda d: d["slices"][1]["segments"][0].update(departing_at="soon"),
         "data.slices[1].segments[0].departing_at", "local ISO 8601"),
    ],
)  # fmt: skip
def test_unreadable_orders_name_the_duffel_field(change: Any, path: str, message: str) -> None:
    data = duffel_order()
    change(data)
    with pytest.raises(DuffelDataError) as caught:
        to_order(data)
    assert caught.value.path == path
    assert message in str(caught.value)
    assert caught.value.exit_code == 6


def test_conditions_become_a_policy_validated_by_the_schema() -> None:
    data = duffel_order()
    policy, note = conditions_policy(data, to_order(data))
    assert policy is not None
    assert policy.id == "duffel-conditions/ZZ"
    assert policy.suppliers == frozenset({"ZZ"})
    assert policy.file == "duffel:ord_0000AZtUqd1tPKxEyMDkcJ"
    (rule,) = policy.rules
    assert rule.id == "refund_before_departure" and rule.codes == frozenset({"O"}) and rule.refundable
    assert rule.windows[0].penalty.amount == Decimal("10.00") and rule.windows[0].penalty.currency == "GBP"
    assert rule.no_show is not None and rule.no_show.penalty.percent == Decimal(100)
    assert "Duffel order conditions" in note


def test_older_fee_field_names_are_read_like_penalty_names() -> None:
    data = duffel_order()
    data["conditions"]["refund_before_departure"] = {"allowed": True, "fee_amount": "10.00", "fee_currency": "GBP"}
    assert refund_condition(data) == (True, "10.00", "GBP")
    assert refund_condition(duffel_order()) == (True, "10.00", "GBP")


def test_refund_not_allowed_refunds_nothing() -> None:
    data = duffel_order()
    data["conditions"]["refund_before_departure"] = {"allowed": False, "penalty_amount": None, "penalty_currency": None}
    decision, _ = decide_with_supplier_rules(parsed(data), load_policies(), Rules(data), BEFORE)
    assert decision.outcome == "none" and decision.refund == 0


@pytest.mark.parametrize(
    "condition",
    [None, {"allowed": True, "penalty_amount": None, "penalty_currency": None}],
)
def test_unknown_rules_give_no_policy_and_say_why(condition: dict[str, Any] | None) -> None:
    data = duffel_order()
    data["conditions"]["refund_before_departure"] = condition
    policy, note = conditions_policy(data, to_order(data))
    assert policy is None
    assert "ord_0000AZtUqd1tPKxEyMDkcJ" in note
    decision, _ = decide_with_supplier_rules(parsed(data), load_policies(), Rules(data), BEFORE)
    assert decision.outcome == "manual_review"
    assert decision.reason is not None and "no airline policy covers carrier ZZ" in decision.reason
    assert "Duffel order" in decision.reason


def test_engine_applies_the_conditions_and_says_so() -> None:
    data = duffel_order()
    decision, digest = decide_with_supplier_rules(parsed(data), load_policies(), Rules(data), BEFORE)
    assert decision.outcome == "partial"
    assert decision.refund == Decimal("80.80")  # 90.80 paid, less the 10.00 penalty
    assert decision.penalty == Decimal("10.00")
    assert decision.policy == "duffel:ord_0000AZtUqd1tPKxEyMDkcJ"
    assert {h.rule for h in decision.rules} >= {"duffel-conditions/ZZ/refund_before_departure/before-departure"}
    assert all("the airline's own refund rule from its Duffel order conditions" in h.note for h in decision.rules)
    assert digest != load_policies().digest  # the supplier's rule is part of the idempotency key


def test_after_departure_the_base_fare_is_kept() -> None:
    data = duffel_order()
    decision, _ = decide_with_supplier_rules(parsed(data), load_policies(), Rules(data), AFTER_DEPARTURE)
    assert decision.refund == Decimal("45.20")  # taxes 30.20 and the unused bag 15.00
    assert any(h.rule.endswith("/after-departure") for h in decision.rules)


def test_penalty_in_another_currency_goes_to_manual_review() -> None:
    data = duffel_order()
    data["conditions"]["refund_before_departure"]["penalty_currency"] = "USD"
    decision, _ = decide_with_supplier_rules(parsed(data), load_policies(), Rules(data), BEFORE)
    assert decision.outcome == "manual_review"
    assert decision.reason is not None and "USD" in decision.reason and "Duffel order conditions" in decision.reason


def test_a_policy_file_for_the_carrier_wins_over_the_conditions(tmp_path: Path) -> None:
    (tmp_path / "zz.toml").write_text(
        '[policy]\nid = "zz-local"\nkind = "airline"\ncarriers = ["ZZ"]\ncurrency = "GBP"\n'
        '[[fares]]\nid = "all"\nclasses = ["O"]\n'
        '[[fares.windows]]\nid = "free"\npenalty = { amount = "0.00" }\n'
    )
    data = duffel_order()
    decision, _ = decide_with_supplier_rules(parsed(data), load_policies(tmp_path), Rules(data), BEFORE)
    assert decision.policy == "zz.toml"
    assert decision.refund == Decimal("75.80")  # the local rule: free, but bags are not refunded
    assert not any("Duffel" in h.note for h in decision.rules)


def test_with_fallback_leaves_covered_carriers_alone() -> None:
    policies = load_policies()
    data = duffel_order()
    zz_policy, _ = conditions_policy(data, to_order(data))
    assert zz_policy is not None
    merged = policies.with_fallback(zz_policy)
    assert merged.for_supplier("airline", "ZZ") is zz_policy
    assert merged.for_supplier("airline", "ZA") is policies.for_supplier("airline", "ZA")
    raw = policy_data(to_order(data), (True, "10.00", "GBP"))
    assert raw is not None
    raw["policy"]["carriers"] = ["ZA"]  # the shipped policies cover ZA already
    za_policy, issues = build_policy(raw, "duffel:x", {})
    assert za_policy is not None, issues
    assert policies.with_fallback(za_policy) is policies
