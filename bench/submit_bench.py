"""``refundctl submit`` against the sandbox: its rate beside a plain aiohttp script, and under a rate limit.

Run ``python bench/submit_bench.py [COUNT]``. Each phase gets a fresh sandbox
(one live refund per order) started in a subprocess:

1. ``refundctl submit`` of COUNT refunds at 32 in flight, no rate limit,
   ``--no-verify-quote`` so both sides send the same requests (one POST per
   refund). Timed as the whole command (reading, deciding, journal, retries) and
   as its send phase (first ``sent`` to last answer, from the journal).
2. A plain aiohttp script POSTing the same bodies at the same concurrency.
3. ``refundctl submit --rate 200/s`` against a sandbox limited to 200/s: the
   achieved request rate and how many 429 answers it received (every retry in
   this phase is a 429, since no other fault is on: attempts beyond one per
   refund, from the journal).
4. The transport choice: the same POSTs through httpx's default transport,
   httpx over ``httpx_aiohttp``, and raw aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from generate import refundable

from refundctl.client import build_client

TOKEN = "bench-token"


@contextlib.contextmanager
def sandbox(orders: Path, *flags: str) -> Iterator[str]:
    """A sandbox subprocess serving ``orders``; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "refundctl", "sandbox", "serve", "--orders", str(orders), "--print-config", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "REFUNDCTL_SANDBOX_TOKEN": TOKEN},
    )
    try:
        assert proc.stdout is not None
        yield str(json.loads(proc.stdout.readline())["base_url"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _submit(orders: Path, api: str, journal: Path, *flags: str) -> tuple[float, list[dict[str, Any]]]:
    """Run ``refundctl submit``; its wall time and its output rows."""
    argv = [
        sys.executable,
        "-m",
        "refundctl",
        "submit",
        str(orders),
        "--api",
        api,
        "--journal",
        str(journal),
        "--no-verify-quote",
        "-o",
        "jsonl",
        *flags,
    ]
    env = {**os.environ, "REFUNDCTL_TOKEN": TOKEN}
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"refundctl submit exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, [json.loads(line) for line in done.stdout.splitlines()]


def _journal_figures(journal: Path) -> tuple[float, int, int]:
    """Send-phase seconds (first sent to last answer), HTTP attempts, and refunds, from the journal."""
    db = sqlite3.connect(journal)
    first, last, attempts, refunds = db.execute(
        "SELECT min(sent_at), max(updated_at), sum(attempts), count(*) FROM refunds WHERE state = 'accepted'"
    ).fetchone()
    db.close()
    seconds = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    return seconds, int(attempts), int(refunds)


async def _plain(api: str, bodies: list[str], concurrency: int) -> tuple[float, int]:
    """POST every body at ``concurrency`` in flight; seconds taken and 201s received."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    created = 0
    queue = iter(enumerate(bodies))
    async with aiohttp.ClientSession(api, headers=headers, connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            nonlocal created
            for n, body in queue:
                async with s.post("/v1/refunds", data=body, headers={"Idempotency-Key": f"plain-{n}"}) as resp:
                    await resp.read()
                    created += resp.status == 201

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, created


async def _httpx(client: httpx.AsyncClient, bodies: list[str], concurrency: int, prefix: str) -> float:
    """POST every body through ``client`` (keys ``prefix-N``); requests per second."""
    queue = iter(enumerate(bodies))

    async def worker() -> None:
        for n, body in queue:
            headers = {"Idempotency-Key": f"{prefix}-{n}", "Content-Type": "application/json"}
            (await client.post("/v1/refunds", content=body, headers=headers)).raise_for_status()

    async with client:
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - start)


def _transports(orders: Path, count: int, concurrency: int) -> dict[str, float]:
    """The transport choice: the same POSTs through httpx's default transport, httpx over aiohttp, raw aiohttp."""
    bodies = [json.dumps({"order_id": f"BENCH-{n}", "amount": "500.00", "currency": "CNY"}) for n in range(3 * count)]
    limits = httpx.Limits(max_connections=concurrency)
    with sandbox(orders) as api:
        default = httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits)
        over_aiohttp = build_client(api, TOKEN, concurrency=concurrency)
        default_rps = asyncio.run(_httpx(default, bodies[:count], concurrency, "default"))
        over_aiohttp_rps = asyncio.run(_httpx(over_aiohttp, bodies[count : 2 * count], concurrency, "aiohttp"))
        aiohttp_rps = count / asyncio.run(_plain(api, bodies[2 * count :], concurrency))[0]
    return {
        "httpx_default_rps": round(default_rps, 1),
        "httpx_aiohttp_rps": round(over_aiohttp_rps, 1),
        "aiohttp_rps": round(aiohttp_rps, 1),
    }


def measure(
    count: int = 20_000,
    concurrency: int = 32,
    limit: int = 200,
    limited_count: int = 3_000,
    transport_count: int = 3_000,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.jsonl"
        orders.write_text("".join(json.dumps(o) + "\n" for o in refundable(count)))

        with sandbox(orders) as api:
            wall, rows = _submit(orders, api, Path(tmp) / "a.journal.sqlite", "--concurrency", str(concurrency))
        send_seconds, _, accepted = _journal_figures(Path(tmp) / "a.journal.sqlite")
        if accepted != count:
            raise RuntimeError(f"refundctl accepted {accepted} of {count} refunds")

        bodies = [
            json.dumps({"order_id": r["order_id"], "amount": r["amount"], "currency": r["currency"]}) for r in rows
        ]
        with sandbox(orders) as api:
            plain_seconds, created = asyncio.run(_plain(api, bodies, concurrency))

        limited = Path(tmp) / "limited.jsonl"
        limited.write_text("".join(json.dumps(o) + "\n" for o in refundable(limited_count)))
        with sandbox(limited, "--rate-limit", f"{limit}/s") as api:
            _submit(
                limited, api, Path(tmp) / "b.journal.sqlite", "--concurrency", str(concurrency), "--rate", f"{limit}/s"
            )
        limited_seconds, attempts, limited_accepted = _journal_figures(Path(tmp) / "b.journal.sqlite")
        spare = Path(tmp) / "transport.jsonl"
        spare.write_text("".join(json.dumps(o) + "\n" for o in refundable(3 * transport_count)))
        transports = _transports(spare, transport_count, concurrency)

    submit_rps = count / send_seconds
    plain_rps = created / plain_seconds
    return {
        "refunds": count,
        "concurrency": concurrency,
        "submit_wall_s": round(wall, 2),
        "submit_rps_whole_command": round(count / wall, 1),
        "submit_rps_send_phase": round(submit_rps, 1),
        "plain_aiohttp_rps": round(plain_rps, 1),
        "ratio_send_phase": round(submit_rps / plain_rps, 3),
        "ratio_whole_command": round(count / wall / plain_rps, 3),
        "limited_to_rps": limit,
        "limited_refunds": limited_accepted,
        "limited_achieved_rps": round(attempts / limited_seconds, 1),
        "limited_achieved_share": round(attempts / limited_seconds / limit, 3),
        "limited_429": attempts - limited_accepted,
        "limited_429_share": round((attempts - limited_accepted) / attempts, 4),
        **{f"transport_{k}": v for k, v in transports.items()},
    }


if __name__ == "__main__":
    figures = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    print(json.dumps(figures, indent=2))
