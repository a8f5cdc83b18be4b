"""EU 261 and its UK copy (refundctl/engine/eu261.py) against the published rules.

EU 261/2004, Art. 7(1): 250 EUR for flights of 1,500 km or less; 400 EUR for intra-
Community flights of more than 1,500 km and all other flights between 1,500 and 3,500 km;
600 EUR otherwise. Art. 5(1)(c)(i): none when informed at least two weeks before the
scheduled departure. Art. 5(3): none for extraordinary circumstances. Art. 8: refund
within seven days. Art. 3(1)(b): inbound flights only on a Community carrier. UK 261
(the retained Regulation, as amended): the same mechanism, its own bands (GBP) and scope.
Journeys across several flights: tests/engine/test_journeys.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from refundctl.engine.geo import airport, distance_km
from tests.support.builders import decide_dict
from tests.support.policies import extra_policies, segment, trip
from tests.support.regulations import AS_OF, FULL, comp, seg


def eu(origin: str, destination: str, **fields: Any) -> dict[str, Any]:
    leg = segment(origin, destination, "2026-12-10T09:00:00+01:00", "2026-12-10T18:00:00+01:00", status="cancelled")
    return trip(leg, **fields)


@pytest.mark.parametrize(
    ("origin", "destination", "km", "amount"),
    [
        ("CDG", "MAD", 1062, "250.00"),  # up to 1,500 km
        ("CDG", "ATH", 2109, "400.00"),  # intra-Community over 1,500 km
        ("FRA", "TLV", 2954, "400.00"),  # other, 1,500 to 3,500 km
        ("FRA", "JFK", 6188, "600.00"),  # other, over 3,500 km
        ("CDG", "RUN", 9369, "400.00"),  # Reunion is in the EU: intra-Community, whatever the distance
    ],
)
def test_eu261_compensation_bands(origin: str, destination: str, km: int, amount: str) -> None:
    a, b = airport(origin), airport(destination)
    assert a is not None and b is not None
    assert round(distance_km(a, b)) == km
    d = decide_dict(eu(origin, destination), AS_OF)
    assert "eu-261" in d.regulations
    [compensation] = d.compensation
    assert (compensation.amount, compensation.currency) == (Decimal(amount), "EUR")
    assert d.refund == Decimal("1200.00")  # compensation is never part of the refund
    assert d.to_dict()["compensation"] == [
        {"amount": amount, "currency": "EUR", "regulation": "eu-261", "journey": [0]}
    ]


def test_eu261_refund_is_due_within_seven_days() -> None:
    assert decide_dict(eu("CDG", "MAD"), AS_OF).due_by == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("notified", "compensated"),
    [
        ("2026-11-26T09:00:00+01:00", False),  # exactly 14 days before departure
        ("2026-11-26T09:00:01+01:00", True),
        (None, True),
    ],
)
def test_eu261_no_compensation_when_told_two_weeks_ahead(notified: str | None, compensated: bool) -> None:
    d = decide_dict(eu("CDG", "MAD", cancellation_notified_at=notified), AS_OF)
    assert d.regulations == ("eu-261",)
    assert bool(d.compensation) == compensated
    assert d.refund == Decimal("1200.00")


def test_eu261_extraordinary_circumstances_keep_the_refund_but_not_the_compensation() -> None:
    order = eu("CDG", "MAD")
    order["segments"][0]["extraordinary_circumstances"] = True
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.compensation) == (Decimal("1200.00"), ())


def test_eu261_re_routing_accepted_gets_compensation_but_no_refund() -> None:
    d = decide_dict(eu("CDG", "MAD", change_accepted=True), AS_OF)
    assert d.regulations == ("eu-261",)
    assert d.refund == Decimal("50.00")  # the fare rule's own refund
    assert d.compensation
    assert d.due_by is None


def test_eu261_inbound_only_on_an_eu_carrier() -> None:
    inbound = segment("JFK", "FRA", "2026-12-10T18:00:00-05:00", "2026-12-11T08:00:00+01:00", status="cancelled")
    assert decide_dict(trip(inbound), AS_OF).regulations == ("us-dot-2024",)  # ZA is not an EU carrier
    order = trip({**inbound, "carrier": "AE"}, supplier="AE", currency="EUR")
    order["fare"]["class"] = "Q"
    d = decide_dict(order, AS_OF, extra_policies())
    assert d.regulations == ("eu-261", "us-dot-2024")
    assert [c.amount for c in d.compensation] == [Decimal("600.00")]


def test_eu261_does_not_cover_departures_from_the_uk_or_flights_not_cancelled() -> None:
    assert "eu-261" not in decide_dict(eu("LHR", "JFK"), AS_OF).regulations
    order = eu("CDG", "MAD")
    order["segments"][0]["status"] = "scheduled"
    assert decide_dict(order, AS_OF).regulations == ()


def test_compensation_stays_in_eur_for_a_jpy_order() -> None:
    order = eu("FRA", "JFK", supplier="SK", currency="JPY", ancillaries=[])
    order["fare"].update(base="100000", taxes=[{"code": "DE", "amount": "8000"}], fees=[])
    order["fare"]["class"] = "V"
    d = decide_dict(order, AS_OF, extra_policies())
    out = d.to_dict()
    assert (out["refund"], out["currency"]) == ("108000", "JPY")
    assert out["compensation"] == [{"amount": "600.00", "currency": "EUR", "regulation": "eu-261", "journey": [0]}]
    [hit] = [r for r in out["rules"] if r["effect"] == "compensation"]
    assert (hit["amount"], hit["currency"]) == ("600.00", "EUR")


# UK 261 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("km", "amount"), [(1500.0, "220.00"), (1500.001, "350.00"), (3500.0, "350.00"), (3500.001, "520.00")]
)
def test_uk261_band_edges_at_1500_and_3500_km(monkeypatch: pytest.MonkeyPatch, km: float, amount: str) -> None:
    """UK 261 Art. 7(1)(a)-(c) in GBP: 1,500 km or less 220, to 3,500 km 350, beyond 520 (LHR departure)."""
    monkeypatch.setattr("refundctl.engine.eu261.distance_km", lambda a, b: km)
    order = trip(seg("LHR", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled"))
    assert comp(order) == [(f"{amount} GBP", "uk-261")]


@pytest.mark.parametrize(("notified", "amount"), [("2026-11-26T09:00:00Z", []),
                                                  ("2026-11-26T09:00:01Z", [("220.00 GBP", "uk-261")])])  # fmt: skip
def test_uk261_told_exactly_14_days_ahead_owes_no_compensation(notified: str, amount: list[Any]) -> None:
    """UK 261 Art. 5(1)(c)(i): told at least two weeks before departure: none; 1 s less: GBP 220 (LHR-CDG)."""
    order = trip(seg("LHR", "CDG", "2026-12-10T09:00", "2026-12-10T10:15", status="cancelled"),
                 cancellation_notified_at=notified)  # fmt: skip
    assert comp(order) == amount


@pytest.mark.parametrize(
    ("origin", "destination", "carrier", "regulations"),
    [
        ("LHR", "JFK", "ZA", ["uk-261", "us-dot-2024"]),  # 3(1)(a): any carrier departing GB
        ("JER", "LHR", "ZA", []),  # Jersey is not the UK [interpretation]: no 3(1)(a), and ZA is neither carrier
        ("JER", "CDG", "BA", ["uk-261"]),  # no 3(1)(a), but 3(1)(b)(ii): to France on a UK carrier
        ("JFK", "LHR", "ZA", ["us-dot-2024"]),  # 3(1)(b)(i): neither a UK nor a Community carrier
        ("JFK", "LHR", "AF", ["uk-261", "us-dot-2024"]),  # 3(1)(b)(i): a Community carrier
        ("JFK", "CDG", "BA", ["uk-261", "us-dot-2024"]),  # 3(1)(b)(ii): to a Member State on a UK carrier
        ("CDG", "JFK", "BA", ["eu-261", "us-dot-2024"]),  # UK 3(1)(b) needs arrival in the UK or a Member State
        ("JFK", "OSL", "BA", ["us-dot-2024"]),  # Norway is not a Member State [interpretation]
    ],
)
def test_uk261_scope(origin: str, destination: str, carrier: str, regulations: list[str]) -> None:
    """UK 261 Art. 3(1)(a), 3(1)(b)(i)-(ii); SI 2019/278 reg. 8(3): UK and Community carriers."""
    order = trip(seg(origin, destination, "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled",
                     carrier=carrier))  # fmt: skip
    assert list(decide_dict(order, AS_OF).regulations) == regulations


@pytest.mark.parametrize(
    ("origin", "destination", "paid_by"),
    [("LHR", "CDG", ("220.00 GBP", "uk-261")), ("CDG", "LHR", ("250.00 EUR", "eu-261"))],
)
def test_uk_and_eu_261_on_one_flight_refund_once_and_compensate_by_departure(
    origin: str, destination: str, paid_by: tuple[str, str]
) -> None:
    """UK and EU 261 Art. 3(1)(b): both listed, refund once, earliest due date, one compensation by departure."""
    order = trip(seg(origin, destination, "2026-12-10T09:00", "2026-12-10T10:15", status="cancelled",
                     carrier="AF"))  # fmt: skip
    d = decide_dict(order, AS_OF)
    assert list(d.regulations) == ["eu-261", "uk-261"]
    assert d.refund == FULL and d.due_by == date(2026, 12, 2)
    assert comp(order) == [paid_by]


def test_uk261_is_not_in_force_before_2021() -> None:
    """SI 2019/278 reg. 1(3), in force on exit day: from 2021-01-01 at decision-date granularity [interpretation]."""
    order = trip(seg("LHR", "JFK", "2020-12-10T09:00", "2020-12-10T17:00", status="cancelled"))
    order["booked_at"] = "2020-11-01T10:00:00+08:00"
    assert "uk-261" not in decide_dict(order, "2020-12-31T23:59:59Z").regulations
    assert "uk-261" in decide_dict(order, "2021-01-01T00:00:00Z").regulations
