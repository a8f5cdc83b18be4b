"""The sandbox's own capacity: requests per second it serves to a plain aiohttp client.

Client benchmarks run against the sandbox, so their figures are only meaningful
below this ceiling. Run ``python bench/sandbox_capacity.py [SECONDS]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from generate import refundable

TOKEN = "bench-token"
MAX_ORDERS = 100_000  # POSTs need one order each (one live refund per order)


async def _load(
    base_url: str, seconds: float, connections: int, method: str, target: str, bodies: list[str] | None
) -> tuple[int, int, float]:
    """Hit the sandbox from ``connections`` workers until the time (or the bodies) run out."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections)
    ok = failed = 0
    next_body = 0
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as session:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal ok, failed, next_body
            while time.monotonic() < deadline:
                extra: dict[str, str] = {}
                data = None
                if bodies is not None:
                    if next_body >= len(bodies):
                        return
                    data, next_body = bodies[next_body], next_body + 1
                    extra["Idempotency-Key"] = f"bench-{next_body}"
                async with session.request(method, target, data=data, headers=extra) as resp:
                    await resp.read()
                    ok, failed = (ok + 1, failed) if resp.status < 300 else (ok, failed + 1)

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return ok, failed, time.monotonic() - start


async def _run(base_url: str, seconds: float, connections: int, order_count: int) -> tuple[tuple[int, int, float], ...]:
    # 1.00 is below what the supplier owes for any of these orders (the sandbox caps refunds by that).
    bodies = [json.dumps({"order_id": f"BENCH-{n}", "amount": "1.00", "currency": "CNY"}) for n in range(order_count)]
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "bench-get"}
    async with (
        aiohttp.ClientSession(base_url, headers=headers) as session,
        session.post("/v1/refunds", data=bodies[0], headers={"Content-Type": "application/json"}) as resp,
    ):
        refund_id = (await resp.json())["id"]
    get = await _load(base_url, seconds, connections, "GET", f"/v1/refunds/{refund_id}", None)
    post = await _load(base_url, seconds, connections, "POST", "/v1/refunds", bodies[1:])
    return get, post


def measure(seconds: float = 5.0, connections: int = 32, order_count: int = MAX_ORDERS) -> dict[str, Any]:
    """Start the sandbox on a free port and measure GET and POST refund throughput."""
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.jsonl"
        orders.write_text("".join(json.dumps(order) + "\n" for order in refundable(order_count)))
        proc = subprocess.Popen(
            [sys.executable, "-m", "refundctl", "sandbox", "serve", "--orders", str(orders), "--print-config"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "REFUNDCTL_SANDBOX_TOKEN": TOKEN},
        )
        try:
            assert proc.stdout is not None
            base_url = json.loads(proc.stdout.readline())["base_url"]
            get, post = asyncio.run(_run(base_url, seconds, connections, order_count))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {
        "connections": connections,
        "seconds": seconds,
        "get_refund_rps": round(get[0] / get[2], 1),
        "create_refund_rps": round(post[0] / post[2], 1),
        "errors": get[1] + post[1],
    }


if __name__ == "__main__":
    result = measure(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
    print(json.dumps(result))
    print(
        f"sandbox capacity at {result['connections']} connections: "
        f"GET /v1/refunds/{{id}} {result['get_refund_rps']:.0f} rps, "
        f"POST /v1/refunds {result['create_refund_rps']:.0f} rps",
        file=sys.stderr,
    )
