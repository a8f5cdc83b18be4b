"""Injected faults and concurrency, over a real loopback socket."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aiohttp
import httpx
import pytest

from refundctl.sandbox.faults import FaultConfig, Faults, TokenBucket, parse_latency, parse_probability, parse_rate
from tests.support.openapi import check
from tests.support.sandbox import REFUND, RunningSandbox, SandboxFactory


def test_parsers_accept_the_documented_forms() -> None:
    assert parse_rate("20/s") == 20.0
    assert parse_rate("0.5/s") == 0.5
    assert parse_latency("200") == (200.0, 0.0)
    assert parse_latency("200:50") == (200.0, 50.0)
    assert parse_probability("0.25", "--error-rate") == 0.25


@pytest.mark.parametrize("text", ["abc", "20", "0/s", "-1/s", "20/m", ""])
def test_bad_rates_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="--rate-limit"):
        parse_rate(text)


@pytest.mark.parametrize("text", ["abc", "1.5", "-0.1", "nan"])
def test_bad_probabilities_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="--drop-rate"):
        parse_probability(text, "--drop-rate")


@pytest.mark.parametrize("text", ["fast", "200:", ":50", "-5"])
def test_bad_latencies_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="--latency"):
        parse_latency(text)


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert [bucket.take().allowed for _ in range(3)] == [True, True, False]
    refused = bucket.take()
    assert (refused.retry_after, refused.remaining, refused.limit) == (1, 0, 2)
    now[0] += 0.5  # one token back
    assert bucket.take().allowed
    assert not bucket.take().allowed


def test_same_seed_same_faults() -> None:
    config = FaultConfig(error_rate=0.3, drop_rate=0.3, failure_rate=0.5, seed=42)

    def draws(faults: Faults) -> list[Any]:
        return [(faults.error_status(), faults.drop(), faults.refund_fails()) for _ in range(50)]

    assert draws(Faults(config)) == draws(Faults(config))
    assert draws(Faults(config)) != draws(Faults(FaultConfig(error_rate=0.3, drop_rate=0.3, failure_rate=0.5, seed=43)))
    # Faults draw from separate streams: turning one on does not move another.
    only_errors = Faults(FaultConfig(error_rate=0.3, seed=42))
    assert [only_errors.error_status() for _ in range(50)] == [d[0] for d in draws(Faults(config))]


# One request per operation behind the fault gate.
REQUESTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("getOrder", "GET", "/v1/orders/ZA-1001", None),
    ("createRefundQuote", "POST", "/v1/refund_quotes", {"order_id": "ZA-1001"}),
    ("createRefund", "POST", "/v1/refunds", REFUND),
    ("listRefunds", "GET", "/v1/refunds?order_id=ZA-1001", None),
    ("getRefund", "GET", "/v1/refunds/rf_00", None),
]


def test_rate_limit_is_429_with_headers(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(rate_limit=3.0)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        ok = [c.get("/v1/orders/ZA-1001") for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        assert ok[0].headers["RateLimit-Limit"] == "3"
        assert [r.headers["RateLimit-Remaining"] for r in ok] == ["2", "1", "0"]
        for operation, method, url, body in REQUESTS:
            resp = c.request(method, url, json=body, headers={"Idempotency-Key": "k"})
            check(resp, operation, 429, "rate_limited")
            assert resp.headers["Retry-After"] == "1"
            assert resp.headers["RateLimit-Remaining"] == "0"
            assert int(resp.headers["RateLimit-Reset"]) >= 1
        time.sleep(1.0)
        assert c.get("/v1/orders/ZA-1001").status_code == 200
    assert box.store.refunds_for("ZA-1001") == []


ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


def test_error_rate_answers_5xx_before_processing(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(error_rate=1.0, seed=3)
    seen: dict[str, set[int]] = {operation: set() for operation, *_ in REQUESTS}
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        for i in range(30):
            for operation, method, url, body in REQUESTS:
                resp = c.request(method, url, json=body, headers={"Idempotency-Key": f"e{i}"})
                assert check(resp, operation, resp.status_code, None)["error"]["type"] == ERRORS[resp.status_code]
                seen[operation].add(resp.status_code)
    assert seen == {operation: set(ERRORS) for operation in seen}
    assert box.store.refunds_for("ZA-1001") == []  # nothing was processed


def _seeded_statuses(box: RunningSandbox) -> list[int]:
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        return [c.get("/v1/orders/ZA-1001").status_code for _ in range(20)]


def test_error_rate_is_reproducible_with_a_seed(sandbox_factory: SandboxFactory) -> None:
    first = _seeded_statuses(sandbox_factory(error_rate=0.5, seed=11))
    assert first == _seeded_statuses(sandbox_factory(error_rate=0.5, seed=11))
    assert 0 < first.count(200) < 20


def test_drop_stores_the_refund_and_sends_no_bytes(
    sandbox_factory: SandboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    box = sandbox_factory(drop_rate=1.0)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c, pytest.raises(httpx.RemoteProtocolError):
        c.post("/v1/refunds", json=REFUND, headers={"Idempotency-Key": "lost"})
    [stored] = box.store.refunds_for("ZA-1001")
    host, port = box.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            f"GET /v1/refunds/{stored.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {box.token}\r\n\r\n".encode()
        )
        assert raw.recv(1024) == b""  # closed with not even a status line
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]  # deliberate drops are not errors


def test_drop_is_a_transport_error_for_aiohttp_and_a_retry_replays(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(drop_rate=0.5, seed=5)

    async def submit() -> tuple[int, dict[str, Any], int]:
        drops = 0
        async with aiohttp.ClientSession(box.base_url, headers=box.headers) as session:
            while True:
                try:
                    async with session.post("/v1/refunds", json=REFUND, headers={"Idempotency-Key": "retry"}) as r:
                        return r.status, await r.json(), drops
                except aiohttp.ServerDisconnectedError:
                    drops += 1

    status, body, drops = asyncio.run(submit())
    assert status == 201
    assert drops >= 1  # seed 5 drops the first attempt
    assert [r.id for r in box.store.refunds_for("ZA-1001")] == [body["id"]]


def test_latency_delays_each_request(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(latency_ms=150, jitter_ms=20)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        start = time.monotonic()
        assert c.get("/v1/orders/ZA-1001").status_code == 200
        assert 0.13 <= time.monotonic() - start < 1.0


async def _race(box: RunningSandbox, bodies: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """Send every (key, body) at once, each on its own connection."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(box.base_url, headers=box.headers, connector=connector) as session:

        async def one(key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with session.post("/v1/refunds", json=body, headers={"Idempotency-Key": key}) as r:
                return r.status, await r.json()

        return await asyncio.gather(*(one(k, b) for k, b in bodies))


@pytest.mark.parametrize("latency_ms", [0, 50])
def test_parallel_clients_same_key_make_exactly_one_refund(sandbox_factory: SandboxFactory, latency_ms: int) -> None:
    box = sandbox_factory(latency_ms=latency_ms)
    results = asyncio.run(_race(box, [("race", REFUND)] * 64))
    [refund] = box.store.refunds_for("ZA-1001")
    created = [body for status, body in results if status == 201]
    assert created and all(body["id"] == refund.id for body in created)
    others = {body["error"]["type"] for status, body in results if status != 201}
    assert others <= {"idempotency_key_in_use"}
    if latency_ms:
        assert "idempotency_key_in_use" in others  # the race really overlapped


def test_parallel_clients_different_keys_make_exactly_one_refund(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(latency_ms=30)
    results = asyncio.run(_race(box, [(f"k{i}", REFUND) for i in range(48)]))
    [refund] = box.store.refunds_for("ZA-1001")
    assert [s for s, _ in results].count(201) == 1
    conflicts = [body["error"] for status, body in results if status == 409]
    assert len(conflicts) == 47
    assert {e["type"] for e in conflicts} == {"order_already_refunded"}
    assert {e["refund_id"] for e in conflicts} == {refund.id}
