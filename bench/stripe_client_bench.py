"""The platform leg's client: refundctl's own Stripe adapter beside the official ``stripe`` library.

Run ``python bench/stripe_client_bench.py [COUNT]`` (needs ``pip install stripe``; without it
only refundctl's adapter is measured). Each side gets a fresh sandbox (a subprocess serving
the Stripe-like payments API) and creates COUNT refunds, one per payment, 16 in flight,
each under its own Idempotency-Key:

1. no faults: refunds per second;
2. 20% dropped answers and 10% 5xx (``--drop-rate 0.2 --error-rate 0.1``): time, and how many
   payments ended with exactly one refund (both sides pass their own keys, so a retry replays).

The library runs over its own async httpx client (``stripe.HTTPXClient``), retries with
``max_network_retries=7`` (8 attempts, as refundctl's default), and is given each key
explicitly; left to itself it would draw a random key per call, which a rerun cannot repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from generate import orders as generated_orders
from submit_bench import sandbox

from refundctl.adapters import Connection, PaymentRefundRequest
from refundctl.adapters.stripe import STRIPE_VERSION, StripeAdapter
from refundctl.client import RateLimiter

KEY = "sk_test_bench"
CONCURRENCY = 16
FAULTS = ("--drop-rate", "0.2", "--error-rate", "0.1", "--seed", "7")


@contextlib.contextmanager
def _payments_sandbox(orders: Path, *flags: str) -> Iterator[str]:
    """A sandbox subprocess (as submit_bench starts it, with a known payments key); yields its payments API URL."""
    os.environ["REFUNDCTL_SANDBOX_PAYMENTS_TOKEN"] = KEY
    with sandbox(orders, *flags) as base_url:
        yield base_url + "/stripe"


def _requests(count: int) -> list[PaymentRefundRequest]:
    return [
        PaymentRefundRequest(f"B-{n}", f"pi_bench{n}", Decimal("10.00"), "CNY", f"pfk_bench{n}", f"rfk_bench{n}")
        for n in range(count)
    ]


async def _gather(requests: list[PaymentRefundRequest], send: Callable[[PaymentRefundRequest], Awaitable[Any]]) -> int:
    """Send every request, CONCURRENCY at a time; how many raised."""
    gate = asyncio.Semaphore(CONCURRENCY)
    failures = 0

    async def one(request: PaymentRefundRequest) -> None:
        nonlocal failures
        async with gate:
            try:
                await send(request)
            except Exception:  # counted; the bench goes on
                failures += 1

    await asyncio.gather(*(one(r) for r in requests))
    return failures


async def _ours(url: str, requests: list[PaymentRefundRequest]) -> int:
    adapter = StripeAdapter(Connection(url, KEY, RateLimiter(None), concurrency=CONCURRENCY))
    try:
        return await _gather(requests, adapter.refund)
    finally:
        await adapter.aclose()


async def _library(url: str, requests: list[PaymentRefundRequest]) -> int:
    import stripe  # noqa: PLC0415 - optional, measured only when installed

    client = stripe.StripeClient(
        KEY,
        base_addresses={"api": url},
        http_client=stripe.HTTPXClient(),
        max_network_retries=7,
        stripe_version=STRIPE_VERSION,
    )

    async def send(request: PaymentRefundRequest) -> Any:
        params: Any = {
            "payment_intent": request.payment_reference,
            "amount": 1000,
            "metadata": {"order_id": request.order_id, "idempotency_key": request.idempotency_key},
        }
        return await client.v1.refunds.create_async(params, {"idempotency_key": request.idempotency_key})

    return await _gather(requests, send)


def _exactly_once(url: str, requests: list[PaymentRefundRequest]) -> int:
    """How many payments hold exactly one refund."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:

        def page(**params: str) -> Any:
            while True:  # the sandbox still drops and fails: ask until answered
                with contextlib.suppress(httpx.TransportError):
                    response = client.get("/v1/refunds", params={"limit": "100", **params})
                    if response.status_code == 200:
                        return response.json()

        body = page()
        counts: dict[str, int] = {}
        while True:
            for refund in body["data"]:
                counts[refund["payment_intent"]] = counts.get(refund["payment_intent"], 0) + 1
            if not body["has_more"]:
                break
            body = page(starting_after=body["data"][-1]["id"])
    return sum(1 for r in requests if counts.get(r.payment_reference) == 1)


def _side(
    orders: Path, requests: list[PaymentRefundRequest], run: Callable[[str, list[PaymentRefundRequest]], Awaitable[int]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _payments_sandbox(orders) as url:
        start = time.perf_counter()
        failed = asyncio.run(run(url, requests))
        seconds = time.perf_counter() - start
        out["clean"] = f"{len(requests) / seconds:,.0f} refunds/s ({seconds:.2f} s, {failed} failed)"
    with _payments_sandbox(orders, *FAULTS) as url:
        start = time.perf_counter()
        failed = asyncio.run(run(url, requests))
        seconds = time.perf_counter() - start
        once = _exactly_once(url, requests)
        out["faults"] = f"{seconds:.2f} s, {failed} failed, {once}/{len(requests)} payments refunded exactly once"
    return out


def measure(count: int = 2000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.jsonl"
        records = [order | {"payment_reference": f"pi_bench{n}"} for n, order in enumerate(generated_orders(count))]
        orders.write_text("".join(json.dumps(record) + "\n" for record in records))
        requests = _requests(count)
        figures = {f"refundctl StripeAdapter, {k}": v for k, v in _side(orders, requests, _ours).items()}
        try:
            import stripe  # noqa: F401, PLC0415
        except ImportError:
            figures["stripe library"] = "not installed (pip install stripe)"
            return figures
        figures |= {f"stripe library, {k}": v for k, v in _side(orders, requests, _library).items()}
        return figures


if __name__ == "__main__":
    for key, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 2000).items():
        print(f"{key}: {value}")
