"""The example trip the regulation tests share (tests/engine/test_eu261.py, test_dot.py, test_appr.py,
test_caac.py, test_journeys.py).

The example order (class V, saver) pays 1200.00 CNY: base 1000.00, taxes CN 50.00 and YQ
30.00, fee 20.00, an unused bag 100.00; the fare rules alone refund 50.00 (``FARE_ONLY``:
taxes except YQ), a regulation's refund gives back all of it (``FULL``). Decided at
``AS_OF`` unless a test says otherwise. ``seg`` writes a segment in short UTC times,
``comp`` lists the compensations, ``explained`` is ``explain``'s output, ``variant`` the
shipped policies with Zephyr Air (ZA) given carrier attributes.
"""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies
from tests.support.builders import decide_dict
from tests.support.policies import policy_copy, segment

AS_OF = "2026-11-25T12:00:00Z"  # a Wednesday; Thursday 2026-11-26 is Thanksgiving
FULL, FARE_ONLY = Decimal("1200.00"), Decimal("50.00")


def seg(origin: str, destination: str, departs: str, arrives: str, **fields: Any) -> dict[str, Any]:
    """A segment with UTC times given as "2026-12-10T09:00"."""
    return segment(origin, destination, f"{departs}:00Z", f"{arrives}:00Z", **fields)


def comp(order: dict[str, Any], policies: PolicySet | None = None, as_of: str = AS_OF) -> list[tuple[str, str]]:
    d = decide_dict(order, as_of, policies).to_dict()
    return [(f"{c['amount']} {c['currency']}", c["regulation"]) for c in d["compensation"]]


def explained(order: dict[str, Any], tmp_path: Path, *args: str) -> str:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(order) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(order["id"]), "--orders", str(path), "--as-of", AS_OF, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@cache
def variant(**attributes: str) -> PolicySet:
    """The shipped policies with Zephyr Air (ZA) given carrier attributes, e.g. appr_carrier_size="small"."""
    directory = policy_copy(Path(tempfile.mkdtemp(prefix="refundctl-variant-")) / "p")
    path = directory / "airlines" / "zephyr-air.toml"
    extra = "".join(f"{k} = {v}\n" for k, v in sorted(attributes.items()))
    path.write_text(path.read_text(encoding="utf-8").replace("eu_carrier = false\n", f"eu_carrier = false\n{extra}"))
    return load_policies(directory)
