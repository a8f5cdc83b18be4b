"""The shared pacing gate: rate, no bursts, a pause that holds everyone."""

from __future__ import annotations

import asyncio
import time

import pytest

from refundctl.client import RateLimiter


async def _starts(limiter: RateLimiter, n: int) -> list[float]:
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(n)))
    return starts


def test_never_more_than_the_rate() -> None:
    starts = asyncio.run(_starts(RateLimiter(100), 30))
    span = max(starts) - min(starts)
    assert span >= 29 / 100 * 0.95  # 30 starts at 100/s need at least 0.29 s
    gaps = sorted(b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False))
    assert gaps[len(gaps) // 2] >= 0.008  # evenly spaced, not bursts


def test_no_rate_means_no_wait() -> None:
    t0 = time.monotonic()
    asyncio.run(_starts(RateLimiter(None), 1000))
    assert time.monotonic() - t0 < 0.5


def test_pause_holds_every_waiter_including_those_already_scheduled() -> None:
    async def scenario() -> list[float]:
        limiter = RateLimiter(50)
        t0 = time.monotonic()
        task = asyncio.ensure_future(_starts(limiter, 10))
        await asyncio.sleep(0.05)  # a few went out, the rest hold slots
        limiter.pause(0.3)
        starts = await task
        return sorted(s - t0 for s in starts)

    starts = asyncio.run(scenario())
    early = [s for s in starts if s < 0.06]
    assert 1 <= len(early) < 10
    assert all(s >= 0.34 for s in starts[len(early) :])


def test_pause_never_shortens() -> None:
    limiter = RateLimiter(None)
    limiter.pause(10)
    limiter.pause(1)
    assert limiter.pauses == 1


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
