"""China's 2021 passenger service rules (CAAC, refundctl/engine/caac.py), each at its boundaries.

Each test cites its provision (the example trip: tests/support/regulations.py).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import decide_dict
from tests.support.policies import trip
from tests.support.regulations import AS_OF, FARE_ONLY, FULL, explained, seg, variant


def mu(**fields: Any) -> dict[str, Any]:
    return seg("PVG", "PEK", "2026-12-10T00:00", "2026-12-10T02:15", carrier="MU", **fields)


@pytest.mark.parametrize(
    ("as_of", "due"), [("2026-09-29T15:59:59Z", "2026-10-14"), ("2026-09-29T16:00:00Z", "2026-10-15")]
)
def test_caac_counts_from_the_beijing_date_of_the_request(as_of: str, due: str) -> None:
    """CAAC 2021 7 working days, Civil Code art. 201 (from the next day), on Beijing dates [interpretation]."""
    order = trip({**mu(), "departs_at": "2026-10-20T00:00:00Z", "arrives_at": "2026-10-20T02:15:00Z"})
    order["booked_at"] = "2026-09-01T10:00:00+08:00"
    d = decide_dict(order, as_of)
    assert d.due_by is not None and d.due_by.isoformat() == due and list(d.regulations) == ["cn-caac-2021"]


def test_caac_involuntary_refund_has_no_fee_whatever_the_cause() -> None:
    """CAAC 2021 (旅客非自愿退票 ... 不得收取退票费): cancelled by the carrier, not accepted: everything unused back."""
    d = decide_dict(trip(mu(status="cancelled", extraordinary_circumstances=True)), AS_OF)
    assert (d.refund, list(d.regulations), d.due_by) == (FULL, ["cn-caac-2021"], date(2026, 12, 4))


def test_caac_voluntary_refund_keeps_the_fare_rules_amount_and_gets_the_deadline() -> None:
    """CAAC 2021: every refund within 7 working days, voluntary included; the amount is the carrier's own rule."""
    d = decide_dict(trip(mu(status="changed", changed_departs_at="2026-12-10T05:00:00Z",
                            changed_arrives_at="2026-12-10T07:15:00Z"), change_accepted=True), AS_OF)  # fmt: skip
    assert (d.refund, list(d.regulations), d.due_by) == (FARE_ONLY, ["cn-caac-2021"], date(2026, 12, 4))


def test_caac_is_not_listed_without_a_refund(tmp_path: Path) -> None:
    """CAAC 2021: no refund, no refund deadline (a ticket fully flown)."""
    order = trip(mu(status="flown"))
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.regulations, d.due_by) == (Decimal("0.00"), (), None)
    assert "no refund is due, so it sets no deadline" in explained(order, tmp_path)


def test_caac_covers_carriers_under_prc_law_only() -> None:
    """CAAC 2021 Art. 4 (承运人 established under PRC law): ZA is not; a policy variant saying cn_carrier is."""
    order = trip({**mu(status="cancelled"), "carrier": "ZA"})
    assert decide_dict(order, AS_OF).refund == FARE_ONLY
    assert decide_dict(order, AS_OF, variant(cn_carrier="true")).refund == FULL


@pytest.mark.parametrize(("requested", "provisional"), [("2026-12-22T12:00:00+08:00", False),
                                                         ("2026-12-23T12:00:00+08:00", True)])  # fmt: skip
def test_caac_deadline_in_an_unpublished_year_is_provisional(requested: str, provisional: bool,
                                                             tmp_path: Path) -> None:  # fmt: skip
    """CAAC 2021: 7 working days from 12-22 end on 12-31; from 12-23 they reach 2027, whose schedule is unpublished
    (python-holidays' estimate: 2027-01-01 off, so 2027-01-04)."""
    order = trip(mu(status="cancelled"), refund_requested_at=requested)
    d = decide_dict(order, AS_OF).to_dict()
    assert d["due_by_provisional"] is provisional
    assert d["due_by"] == ("2026-12-31" if not provisional else "2027-01-04")
    data = json.loads(explained(order, tmp_path, "-o", "json"))
    [caac] = [r for r in data["regulations"] if r["id"] == "cn-caac-2021"]
    assert caac["due_by_provisional"] is provisional
    text = explained(order, tmp_path)
    assert ("PROVISIONAL" in text) is provisional
