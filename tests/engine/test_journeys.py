"""Passenger rights on real itineraries: the journey model, EU 261 and US DOT per journey.

Each test names the provision it checks (the example trip: tests/support/regulations.py).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.engine.journeys import journeys
from refundctl.orders.parse import parse_order
from refundctl.policy.loader import load_policies
from tests.support.builders import decide_dict
from tests.support.policies import policy_copy, segment, trip
from tests.support.regulations import AS_OF, FARE_ONLY, FULL, seg


def changed(origin: str, destination: str, departs: str, arrives: str, new_departs: str, new_arrives: str,
            **fields: Any) -> dict[str, Any]:  # fmt: skip
    """A ``changed`` segment; the new times in the same short UTC form."""
    return seg(origin, destination, departs, arrives, status="changed", changed_departs_at=f"{new_departs}:00Z",
               changed_arrives_at=f"{new_arrives}:00Z", **fields)  # fmt: skip


def comp(order: dict[str, Any], policies: Any = None) -> list[tuple[str, str, list[int]]]:
    d = decide_dict(order, AS_OF, policies).to_dict()
    return [(c["amount"], c["regulation"], c["journey"]) for c in d["compensation"]]


def trips_of(*segments: dict[str, Any]) -> list[tuple[int, ...]]:
    order, problems = parse_order(trip(*segments))
    assert order is not None and order.kind == "flight", problems
    return [j.indexes for j in journeys(order.segments)]


# The journey model --------------------------------------------------------------------------


def test_journey_break_of_exactly_24_hours_is_still_a_connection() -> None:
    """A break of more than 24 h ends a journey; exactly 24 h does not (README: journey model)."""
    first = seg("PVG", "FRA", "2026-12-10T01:00", "2026-12-10T13:00")
    assert trips_of(first, seg("FRA", "JFK", "2026-12-11T13:00", "2026-12-11T21:00")) == [(0, 1)]
    assert trips_of(first, seg("FRA", "JFK", "2026-12-11T13:01", "2026-12-11T21:01")) == [(0,), (1,)]


def test_journey_a_return_to_the_first_origin_starts_a_new_journey_even_within_24_hours() -> None:
    out = seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00")
    back = seg("MAD", "CDG", "2026-12-10T18:00", "2026-12-10T20:00")
    assert trips_of(out, back) == [(0,), (1,)]
    # Outbound with a connection, return with one: two journeys of two segments.
    legs = [
        seg("PVG", "PEK", "2026-12-10T01:00", "2026-12-10T03:00"),
        seg("PEK", "FRA", "2026-12-10T05:00", "2026-12-10T15:00"),
        seg("FRA", "PEK", "2026-12-11T08:00", "2026-12-11T18:00"),
        seg("PEK", "PVG", "2026-12-11T20:00", "2026-12-11T22:00"),
    ]
    assert trips_of(*legs) == [(0, 1), (2, 3)]


# EU 261 ---------------------------------------------------------------------------------------

CONNECTION = (
    seg("PRG", "FRA", "2026-12-10T06:00", "2026-12-10T07:15"),
    seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00"),
)


def test_eu261_connection_band_is_the_distance_to_the_final_destination() -> None:
    """Art. 2(h), 7(1) last sentence; C-559/16 Bossen: PRG-JFK (6,5xx km), not PRG-FRA (410 km)."""
    first = {**CONNECTION[0], "status": "cancelled"}
    assert comp(trip(first, CONNECTION[1])) == [("600.00", "eu-261", [0, 1])]


def test_eu261_covers_a_third_country_leg_of_a_journey_departing_from_the_eu() -> None:
    """Art. 3(1)(a) on the journey as a whole (C-537/17 Wegener): IST-BKK on ZA, a non-Community carrier."""
    order = trip(
        seg("FRA", "IST", "2026-12-10T06:00", "2026-12-10T09:00"),
        seg("IST", "BKK", "2026-12-10T11:00", "2026-12-10T20:00", status="cancelled"),
    )
    d = decide_dict(order, AS_OF)
    assert "eu-261" in d.regulations and d.refund == FULL
    assert [c.amount for c in d.compensation] == [Decimal("600.00")]  # FRA-BKK is over 3,500 km


@pytest.mark.parametrize(("earlier", "cancelled"), [("07:00", False), ("06:59", True)])
def test_eu261_brought_forward_more_than_one_hour_is_a_cancellation(earlier: str, cancelled: bool) -> None:
    """C-146/20 Azurair: exactly 1 h earlier is not a cancellation; 1 h 1 min is, without Art. 7(2) reduction."""
    moved = changed("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", f"2026-12-10T{earlier}", "2026-12-10T09:00")
    d = decide_dict(trip(moved), AS_OF)
    assert ("eu-261" in d.regulations) == cancelled
    assert d.refund == (FULL if cancelled else FARE_ONLY)
    assert [c.amount for c in d.compensation] == ([Decimal("250.00")] if cancelled else [])


@pytest.mark.parametrize(("departs", "refund"), [("12:59", FARE_ONLY), ("13:00", FULL)])
def test_eu261_departure_delayed_five_hours_gives_a_refund(departs: str, refund: Decimal) -> None:
    """Art. 6(1)(c)(iii) and 8(1)(a): a delay of 5 h or more (4 h 59 min: none), when not accepted."""
    moved = changed(
        "CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", f"2026-12-10T{departs}", f"2026-12-10T{departs}"
    )
    d = decide_dict(trip(moved), AS_OF)
    assert d.refund == refund
    assert d.compensation == ()  # not flown: no Sturgeon compensation


@pytest.mark.parametrize(("arrives", "amount"), [("12:59", None), ("13:00", "300.00")])
def test_eu261_accepted_change_arriving_three_hours_late_is_compensated(arrives: str, amount: str | None) -> None:
    """Sturgeon (C-402/07, C-432/07): 3 h or more at the final destination on a change the traveller took."""
    moved = changed("FRA", "JFK", "2026-12-10T02:00", "2026-12-10T10:00", "2026-12-10T05:00", f"2026-12-10T{arrives}")
    order = trip(moved, change_accepted=True)
    # 3 h late on a flight over 3,500 km is within 4 h: halved by Art. 7(2)(c).
    assert comp(order) == ([("300.00", "eu-261", [0])] if amount else [])


@pytest.mark.parametrize(
    ("arrived", "amount"),
    [("19:59", None), ("20:00", "300.00"), ("21:00", "300.00"), ("21:01", "600.00")],
)
def test_eu261_actual_arrival_delay_and_the_art_7_2_reduction(arrived: str, amount: str | None) -> None:
    """Sturgeon: 3 h late by actual_arrives_at; Art. 7(2)(c): over 3,500 km, within 4 h halved, beyond not."""
    flown = seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="flown",
                actual_departs_at="2026-12-10T12:00:00Z", actual_arrives_at=f"2026-12-10T{arrived}:00Z")  # fmt: skip
    d = decide_dict(trip(flown), AS_OF)
    assert [str(c.amount) for c in d.compensation] == ([amount] if amount else [])
    assert d.refund == 0 and d.due_by is None  # flown: compensation only, nothing to refund


def test_eu261_reduction_band_under_1500_km_is_two_hours() -> None:
    """Art. 7(2)(a): up to 1,500 km, a 3 h delay is beyond 2 h: no reduction."""
    flown = seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="flown",
                actual_arrives_at="2026-12-10T13:00:00Z")  # fmt: skip
    assert comp(trip(flown)) == [("250.00", "eu-261", [0])]


@pytest.mark.parametrize(
    ("rerouted_arrival", "amount", "note"),
    [(None, "600.00", "assumed not to have been offered"), ("21:00", "300.00", "reduced by 50%"),
     ("21:01", "600.00", "no reduction")],
)  # fmt: skip
def test_eu261_cancellation_rerouting_and_the_art_7_2_reduction(rerouted_arrival: str | None, amount: str,
                                                                  note: str) -> None:  # fmt: skip
    """Art. 7(2)(c): a re-routing arriving within 4 h of the scheduled arrival halves it; without one, say so."""
    order = trip(seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled"))
    if rerouted_arrival:
        order["rerouting"] = {"departs_at": "2026-12-10T12:00:00Z", "arrives_at": f"2026-12-10T{rerouted_arrival}:00Z"}
    d = decide_dict(order, AS_OF)
    [hit] = [h for h in d.rules if h.effect == "compensation"]
    assert (str(hit.amount), note in hit.note) == (amount, True)


@pytest.mark.parametrize(
    ("notified", "arrives", "compensated"),
    [
        ("2026-11-30T09:00", "20:59", False),  # 10 days: (ii) re-routed 2 h earlier... arriving 3 h 59 later
        ("2026-11-30T09:00", "21:00", True),  # 4 h later: not under 4 h
        ("2026-12-04T09:00", "18:59", False),  # 6 days: (iii) arriving 1 h 59 later
        ("2026-12-04T09:00", "19:00", True),  # 2 h later: not under 2 h
    ],
)
def test_eu261_notice_exemptions_ii_and_iii_with_a_rerouting(notified: str, arrives: str, compensated: bool) -> None:
    """Art. 5(1)(c)(ii): 7 days to 2 weeks, re-routing no more than 2 h earlier and under 4 h later;
    (iii): under 7 days, no more than 1 h earlier and under 2 h later."""
    order = trip(seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled"),
                 cancellation_notified_at=f"{notified}:00Z")  # fmt: skip
    departs = "07:00" if notified.startswith("2026-11-30") else "08:00"
    order["rerouting"] = {"departs_at": f"2026-12-10T{departs}:00Z", "arrives_at": f"2026-12-10T{arrives}:00Z"}
    assert bool(comp(order)) == compensated


@pytest.mark.parametrize(("notified", "compensated"), [("2026-11-30T09:00", False), ("2026-12-04T09:00", True)])
def test_eu261_notice_exemptions_apply_to_schedule_changes_on_the_changed_times(notified: str,
                                                                                compensated: bool) -> None:  # fmt: skip
    """Art. 5(1)(c)(ii)-(iii) for changes: told 10 days ahead of a change arriving 3 h late (under 4 h): none;
    told 6 days ahead (under 2 h needed): compensated."""
    moved = changed("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", "2026-12-10T12:00", "2026-12-10T20:00")
    order = trip(moved, change_accepted=True, cancellation_notified_at=f"{notified}:00Z")
    assert bool(comp(order)) == compensated


def test_eu261_outbound_and_return_cancelled_get_two_compensations() -> None:
    """C-173/07 Emirates: outbound and return are separate flights, each compensated."""
    order = trip(seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="cancelled"),
                 seg("MAD", "CDG", "2026-12-14T08:00", "2026-12-14T10:00", status="cancelled"))  # fmt: skip
    d = decide_dict(order, AS_OF)
    assert comp(order) == [("250.00", "eu-261", [0]), ("250.00", "eu-261", [1])]
    assert d.refund == FULL


def test_eu261_inbound_community_carrier_comes_from_the_carriers_file(tmp_path: Path) -> None:
    """Art. 2(c), 3(1)(b): LH is licensed in DE (carriers file); BA in GB is not a Community carrier;
    an airline policy's eu_carrier overrides the file."""
    inbound = seg("JFK", "FRA", "2026-12-10T01:00", "2026-12-10T09:00", status="cancelled")
    on = {code: trip({**inbound, "carrier": code}) for code in ("LH", "BA", "XQ")}
    assert "eu-261" in decide_dict(on["LH"], AS_OF).regulations
    assert "eu-261" not in decide_dict(on["BA"], AS_OF).regulations
    assert "eu-261" not in decide_dict(on["XQ"], AS_OF).regulations
    directory = policy_copy(tmp_path / "p")
    (directory / "airlines" / "lufthansa.toml").write_text(
        (directory / "airlines" / "zephyr-air.toml").read_text(encoding="utf-8")
        .replace('id = "zephyr-air"', 'id = "lh"').replace('carriers = ["ZA"]', 'carriers = ["LH"]'),
        encoding="utf-8",
    )  # fmt: skip
    assert "eu-261" not in decide_dict(on["LH"], AS_OF, load_policies(directory)).regulations  # eu_carrier = false


def test_eu261_scope_exception_ercan_is_data() -> None:
    """Protocol No 10 to the 2003 Act of Accession: ECN is in CY for airportsdata, excluded in eu-261.toml."""
    order = trip(seg("ECN", "IST", "2026-12-10T08:00", "2026-12-10T09:30", status="cancelled"))
    assert "eu-261" not in decide_dict(order, AS_OF).regulations
    order = trip(seg("LCA", "IST", "2026-12-10T08:00", "2026-12-10T09:30", status="cancelled"))
    assert "eu-261" in decide_dict(order, AS_OF).regulations


def partly_flown(*, abandoned: bool, bases: bool = True) -> dict[str, Any]:
    first = seg("CDG", "FRA", "2026-12-10T06:00", "2026-12-10T07:15", status="flown")
    second = seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled")
    if bases:
        first["base"], second["base"] = "200.00", "800.00"
    return trip(first, second, journey_abandoned=abandoned)


def test_eu261_abandoned_journey_reimburses_the_parts_already_flown() -> None:
    """Art. 8(1)(a): "together with payment for the part or parts already made if the flight is no longer
    serving any purpose in relation to the passenger's original travel plan" (journey_abandoned)."""
    assert decide_dict(partly_flown(abandoned=True), AS_OF).refund == FULL
    # Without it, the flown CDG-FRA share (base 200.00, taxes 16.00 and fee 4.00 by share) stays used.
    assert decide_dict(partly_flown(abandoned=False), AS_OF).refund == Decimal("980.00")


def test_partly_flown_without_bases_still_gets_its_regulation_assessment() -> None:
    """The refund cannot be priced (manual_review), but regulations, compensation and due_by are decided."""
    d = decide_dict(partly_flown(abandoned=False, bases=False), AS_OF)
    assert d.outcome == "manual_review"
    assert "us-dot-2024" in d.regulations and "eu-261" in d.regulations
    assert [c.amount for c in d.compensation] == [Decimal("600.00")]
    assert d.due_by == date(2026, 12, 2)


def test_eu261_refunds_only_the_disrupted_journey() -> None:
    """Art. 8(1)(a): reimbursement of the part of the journey not made; the return stays with the fare rules."""
    out = seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="cancelled", base="600.00")
    back = seg("MAD", "CDG", "2026-12-14T08:00", "2026-12-14T10:00", base="400.00")
    d = decide_dict(trip(out, back), AS_OF)
    # The fare rules refund CN (50.00); eu-261 adds the outbound's base (600.00), its 60 % share of YQ
    # (18.00) and of the fee (12.00), and the unused bag (100.00). The return's 400.00, 12.00 YQ and 8.00
    # fee stay with the fare rules (not refundable on a saver fare).
    assert d.regulations == ("eu-261",)
    assert (d.refund, d.non_refundable) == (Decimal("780.00"), Decimal("420.00"))


# US DOT ---------------------------------------------------------------------------------------


def dot_connection(**middle: Any) -> dict[str, Any]:
    legs = [
        seg("JFK", "ORD", "2026-12-01T13:00", "2026-12-01T15:30"),
        seg("ORD", "LAX", "2026-12-01T17:00", "2026-12-01T21:30"),
    ]
    legs[0].update(middle)
    return trip(*legs)


def test_dot_retimed_leg_that_moves_neither_end_past_the_threshold_is_not_significant() -> None:
    """14 CFR 260.2 "significantly delayed or changed flight": measured on the origin and destination."""
    order = dot_connection(status="changed", changed_departs_at="2026-12-01T11:00:00Z",
                           changed_arrives_at="2026-12-01T13:30:00Z")  # fmt: skip  # first leg 2 h earlier
    assert decide_dict(order, AS_OF).regulations == ()
    order = dot_connection(status="changed", changed_departs_at="2026-12-01T10:00:00Z",
                           changed_arrives_at="2026-12-01T12:30:00Z")  # fmt: skip  # 3 h earlier: significant
    assert decide_dict(order, AS_OF).regulations == ("us-dot-2024",)


def test_dot_another_connecting_airport_alone_is_not_significant() -> None:
    """14 CFR 260.2 (6): a different connecting airport matters only for passengers with a disability."""
    order = dot_connection(status="changed", changed_departs_at="2026-12-01T13:00:00Z",
                           changed_arrives_at="2026-12-01T15:30:00Z", changed_to="MDW")  # fmt: skip
    assert decide_dict(order, AS_OF).regulations == ()


def test_dot_a_journey_between_foreign_points_is_not_a_covered_flight() -> None:
    """14 CFR 260.2 "covered flight": CDG-FCO after a stop of days in Paris is not covered; EU 261 is."""
    order = trip(
        seg("JFK", "CDG", "2026-12-01T22:00", "2026-12-02T08:00", status="flown", base="700.00"),
        seg("CDG", "FCO", "2026-12-05T08:00", "2026-12-05T10:00", status="cancelled", base="300.00"),
    )
    assert decide_dict(order, AS_OF).regulations == ("eu-261",)


@pytest.mark.parametrize(
    ("method", "due"),
    [("credit_card", date(2026, 12, 7)), ("card", date(2026, 12, 7)), ("debit_card", date(2026, 12, 15)),
     ("cash", date(2026, 12, 15)), ("check", date(2026, 12, 15))],
)  # fmt: skip
def test_dot_prompt_refund_deadline_by_payment_method(method: str, due: date) -> None:
    """14 CFR 260.2 "prompt refund", 49 USC 42305(b): 7 business days for credit cards, 20 days otherwise."""
    order = trip(seg("JFK", "LAX", "2026-12-01T13:00", "2026-12-01T19:30", status="cancelled"), payment_method=method)
    assert decide_dict(order, AS_OF).due_by == due


def test_deadlines_run_from_refund_requested_at() -> None:
    """EU 261 Art. 8(1): seven days; 14 CFR 260.2: from the request (refund_requested_at, not --as-of)."""
    order = trip(seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="cancelled"),
                 refund_requested_at="2026-11-20T10:00:00+01:00")  # fmt: skip
    assert decide_dict(order, AS_OF).due_by == date(2026, 11, 27)


def test_dot_accepted_change_still_refunds_unused_ancillaries() -> None:
    """14 CFR 260.4: a prepaid ancillary not used because of the cancellation comes back even when accepted."""
    order = trip(seg("JFK", "LAX", "2026-12-01T13:00", "2026-12-01T19:30", status="cancelled"), change_accepted=True)
    d = decide_dict(order, AS_OF)
    assert d.regulations == ("us-dot-2024",)
    assert d.refund == FARE_ONLY + Decimal("100.00")  # the fare rules' 50.00 and the bag


# The 24-hour rule -----------------------------------------------------------------------------

BOOKED = "2026-11-24T12:00:00Z"


@pytest.mark.parametrize(
    ("as_of", "departs", "applies"),
    [
        ("2026-11-25T12:00:00Z", "2026-12-01T12:00", True),  # 24 h after booking exactly, 7 days ahead exactly
        ("2026-11-25T12:00:01Z", "2026-12-01T12:00", False),  # one second too late
        ("2026-11-25T10:00:00Z", "2026-12-01T11:59", False),  # booked 6 days 23 h 59 min ahead
    ],
)
def test_dot_24_hour_rule_at_its_boundaries(as_of: str, departs: str, applies: bool) -> None:
    """14 CFR 259.5(b)(4): cancelled within 24 h of a booking made one week or more before departure."""
    order = trip(seg("JFK", "LAX", departs, "2026-12-01T19:30"), booked_at=BOOKED)
    order["fare"]["class"] = "M"
    d = decide_dict(order, as_of)
    assert ("us-dot-24-hour" in d.regulations) == applies
    assert (d.outcome == "full") == applies


def test_dot_24_hour_rule_not_for_a_carrier_that_holds_or_outside_the_us(tmp_path: Path) -> None:
    """14 CFR 259.5(b)(4): the carrier offers a hold or a free cancellation (dot_24_hour)."""
    order = trip(seg("JFK", "LAX", "2026-12-01T12:00", "2026-12-01T19:30"), booked_at=BOOKED)
    directory = policy_copy(tmp_path / "p")
    path = directory / "airlines" / "zephyr-air.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('"cancel"', '"hold"'), encoding="utf-8")
    assert decide_dict(order, AS_OF, load_policies(directory)).regulations == ()
    china = trip(seg("PVG", "PEK", "2026-12-01T12:00", "2026-12-01T14:00"), booked_at=BOOKED)
    assert decide_dict(china, AS_OF).regulations == ()


# Unknown airports (issue 10 section 3) ----------------------------------------------------------


def test_an_unknown_airport_sends_a_regulated_order_to_manual_review() -> None:
    order = trip(seg("QQQ", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="cancelled"))
    d = decide_dict(order, AS_OF)
    assert d.outcome == "manual_review" and d.refund == 0
    assert "airport QQQ is unknown to airportsdata" in (d.reason or "")


@pytest.mark.parametrize("code", ["qqq", "QQQQ", "Q1Q"])
def test_a_code_that_cannot_be_an_airport_is_a_record_error(code: str) -> None:
    _, problems = parse_order(trip(seg(code, "MAD", "2026-12-10T08:00", "2026-12-10T10:00")))
    assert [(p.path, p.message) for p in problems] == [
        ("segments[0].from", f"expected a 3-letter IATA airport code in capitals such as PVG, got {code!r}")
    ]


def test_actual_times_only_on_flown_segments_and_rerouting_is_validated() -> None:
    order = trip(seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", actual_arrives_at="2026-12-10T12:00:00Z"))
    order["rerouting"] = {"departs_at": "2026-12-10T12:00:00Z"}
    order["journey_abandoned"] = "yes"
    _, problems = parse_order(order)
    assert [(p.path, p.message) for p in problems] == [
        ("segments[0].actual_arrives_at", "only a flown segment has actual_arrives_at, this one is 'scheduled'"),
        ("journey_abandoned", "expected true or false, got 'yes'"),
        ("rerouting.arrives_at", "required field is missing"),
    ]


# Output: compensation list, totals per currency, journeys in explain ---------------------------


def two_cancelled_journeys(tmp_path: Path) -> Path:
    order = trip(seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00", status="cancelled"),
                 seg("MAD", "CDG", "2026-12-14T08:00", "2026-12-14T10:00", status="cancelled"))  # fmt: skip
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(order) + "\n", encoding="utf-8")
    return path


def test_check_json_lists_each_compensation_and_csv_totals_them_per_currency(tmp_path: Path) -> None:
    path = two_cancelled_journeys(tmp_path)
    result = CliRunner().invoke(cli, ["check", str(path), "--as-of", AS_OF, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    [decision] = json.loads(result.stdout)
    assert decision["compensation"] == [
        {"amount": "250.00", "currency": "EUR", "regulation": "eu-261", "journey": [0]},
        {"amount": "250.00", "currency": "EUR", "regulation": "eu-261", "journey": [1]},
    ]
    result = CliRunner().invoke(cli, ["check", str(path), "--as-of", AS_OF, "-o", "csv"])
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert (row["compensation"], row["compensation_currency"]) == ("500.00", "EUR")
    assert result.stderr.startswith("refundctl: 1 order(s) decided")


def test_explain_shows_each_journey_with_each_regulations_verdict_and_numbers(tmp_path: Path) -> None:
    path = two_cancelled_journeys(tmp_path)
    result = CliRunner().invoke(cli, ["explain", "T-1", "--orders", str(path), "--as-of", AS_OF, "-o", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert [(j["journey"], j["segments"], j["origin"], j["destination"]) for j in data["journeys"]] == [
        (1, [0], "CDG", "MAD"),
        (2, [1], "MAD", "CDG"),
    ]
    [eu] = [r for r in data["regulations"] if r["id"] == "eu-261"]
    assert [v["applies"] for v in eu["journeys"]] == [True, True]
    assert "CDG-MAD (final destination) great-circle 1062 km: up to 1500 km, 250.00 EUR" in eu["journeys"][0]["numbers"]
    text = CliRunner().invoke(cli, ["explain", "T-1", "--orders", str(path), "--as-of", AS_OF]).stdout
    assert "  journey 2: MAD-CDG, segment(s) 2, 2026-12-14T08:00:00Z to 2026-12-14T10:00:00Z" in text
    assert "compensation: 250.00 EUR (eu-261, segment(s) 2), paid apart from the refund" in text


def test_an_unknown_carrier_on_an_inbound_journey_is_named_in_explain(tmp_path: Path) -> None:
    """Art. 2(c): neither the carriers file nor an airline policy knows XQ; explain says so."""
    order = trip(seg("JFK", "FRA", "2026-12-10T01:00", "2026-12-10T09:00", status="cancelled", carrier="XQ"))
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(order) + "\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["explain", "T-1", "--orders", str(path), "--as-of", AS_OF]).stdout
    assert "operating carrier XQ is in neither the carriers file nor an airline policy" in out


@pytest.mark.parametrize(
    ("km", "amount"), [(1500.0, "250.00"), (1500.001, "400.00"), (3500.0, "400.00"), (3500.001, "600.00")]
)
def test_eu261_band_edges_at_1500_and_3500_km(monkeypatch: pytest.MonkeyPatch, km: float, amount: str) -> None:
    """Art. 7(1)(a)-(c): "1500 kilometres or less", "between 1500 and 3500 kilometres", beyond (FRA-JFK, not intra)."""
    monkeypatch.setattr("refundctl.engine.eu261.distance_km", lambda a, b: km)
    order = trip(seg("FRA", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled"))
    assert comp(order) == [(amount, "eu-261", [0])]


def test_journey_break_is_measured_in_elapsed_time_across_time_zones() -> None:
    """The 24 h break is elapsed time: PEK 18:00 (+08:00) to FRA 11:00 next day (+01:00) is exactly 24 h."""
    first = segment("PVG", "PEK", "2026-12-10T16:00:00+08:00", "2026-12-10T18:00:00+08:00")
    on_time = segment("PEK", "FRA", "2026-12-11T11:00:00+01:00", "2026-12-11T15:00:00+01:00")
    late = segment("PEK", "FRA", "2026-12-11T11:01:00+01:00", "2026-12-11T15:01:00+01:00")
    assert trips_of(first, on_time) == [(0, 1)]
    assert trips_of(first, late) == [(0,), (1,)]


def test_a_refund_request_before_the_booking_is_a_record_error() -> None:
    order = trip(
        seg("CDG", "MAD", "2026-12-10T08:00", "2026-12-10T10:00"), refund_requested_at="2026-10-31T09:59:59+08:00"
    )
    order["booked_at"] = "2026-11-01T10:00:00+08:00"
    _, problems = parse_order(order)
    assert [(p.path, p.message) for p in problems] == [("refund_requested_at", "expected a time at or after booked_at")]
