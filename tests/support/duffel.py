"""Duffel as the adapter tests mock it: the API's address and token, its recorded answers, a connection.

``fixture(name)`` is a fresh copy of tests/data/duffel/NAME.json (recorded from Duffel's
documentation); ``cancellation(**changes)`` is the order cancellation with ``data`` fields
changed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from refundctl.adapters import Connection
from refundctl.client import RateLimiter

API = "https://api.duffel.com"
TOKEN = "duffel_test_s3cret"
DATA = Path(__file__).parent.parent / "data" / "duffel"
ORDER_ID = "ord_0000AZtUqd1tPKxEyMDkcJ"
CANCELLATION_ID = "ore_00009qzZWzjDipIkqpaUAj"
CREATE = "/air/order_cancellations"
CONFIRM = f"/air/order_cancellations/{CANCELLATION_ID}/actions/confirm"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return copy.deepcopy(body)


def cancellation(**changes: Any) -> dict[str, Any]:
    body = fixture("order_cancellation")
    body["data"].update(changes)
    return body


def connection(limiter: RateLimiter | None = None) -> Connection:
    return Connection(API, TOKEN, limiter or RateLimiter(None), max_attempts=3, backoff=0.001)
