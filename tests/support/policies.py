"""Shared by the waiver, regulation and invariant tests: the shipped policies plus test carriers.

``extra_policies()`` loads the shipped policies with the carriers and hotels of
tests/data/policies-extra/ added: AE (an EU carrier, EUR), SK (JPY), GW (KWD) and the
hotel KYOTO-INN (JPY).
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from refundctl.policy import PolicySet
from refundctl.policy.loader import SHIPPED, load_policies
from tests.support.builders import flight

EXTRA = Path(__file__).parent.parent / "data" / "policies-extra"


def policy_copy(target: Path) -> Path:
    """The shipped policies (without their test cases) and the extra ones, copied under ``target``."""
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(EXTRA, target, dirs_exist_ok=True)
    return target


@cache
def extra_policies() -> PolicySet:
    return load_policies(policy_copy(Path(tempfile.mkdtemp(prefix="refundctl-policies-")) / "p"))


def segment(origin: str, destination: str, departs_at: str, arrives_at: str, **fields: Any) -> dict[str, Any]:
    return {"from": origin, "to": destination, "carrier": "ZA", "flight": "ZA1", "departs_at": departs_at,
            "arrives_at": arrives_at, "status": "scheduled", **fields}  # fmt: skip


def trip(*segments: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The example flight (class V: the fare rules refund nothing but taxes) over ``segments``."""
    order = flight(id="T-1", segments=list(segments), **fields)
    order["fare"]["class"] = "V"
    return order


def line_of(text: str, snippet: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line containing ``snippet``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if snippet in line]
    assert len(hits) >= nth, f"{snippet!r} not found {nth} time(s)"
    return hits[nth - 1]


def replaced(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)


AIRLINE = (SHIPPED / "airlines" / "zephyr-air.toml").read_text(encoding="utf-8")  # the shipped texts, to alter
HOTEL = (SHIPPED / "hotels" / "harbor-hotel.toml").read_text(encoding="utf-8")
