"""The shared pacing gate: rate, no bursts, a pause that holds everyone.

The limiter runs on virtual time (its injectable ``clock`` and ``sleep``), so the
figures are exact and the tests neither wait nor depend on the machine's load.
"""

from __future__ import annotations

import asyncio

import pytest

from refundctl.client import RateLimiter
from tests.support.clock import VirtualTime


async def _starts(limiter: RateLimiter, time: VirtualTime, n: int) -> list[float]:
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(time.clock())

    await asyncio.gather(*(one() for _ in range(n)))
    return starts


def test_never_more_than_the_rate() -> None:
    time = VirtualTime()
    starts = time.run(_starts(time.limiter(100), time, 30))
    span = max(starts) - min(starts)
    assert span >= 29 / 100 * 0.95  # 30 starts at 100/s need at least 0.29 s
    gaps = sorted(b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False))
    assert gaps[len(gaps) // 2] >= 0.008  # evenly spaced, not bursts
    assert gaps == pytest.approx([0.01] * 29)  # exactly one slot apart, never two in one slot


def test_no_rate_means_no_wait() -> None:
    time = VirtualTime()
    starts = time.run(_starts(time.limiter(None), time, 1000))
    assert max(starts) < 0.5
    assert (time.sleeps, max(starts)) == (0, 0.0)


def test_pause_holds_every_waiter_including_those_already_scheduled() -> None:
    time = VirtualTime()

    async def scenario() -> list[float]:
        limiter = time.limiter(50)
        task = asyncio.ensure_future(_starts(limiter, time, 10))
        await time.sleep(0.05)  # a few went out, the rest hold slots
        limiter.pause(0.3)
        starts = await task
        return sorted(starts)

    starts = time.run(scenario())
    early = [s for s in starts if s < 0.06]
    assert 1 <= len(early) < 10
    assert all(s >= 0.34 for s in starts[len(early) :])
    assert early == pytest.approx([0.0, 0.02, 0.04])  # the slots before the pause at 0.05
    assert starts[len(early)] == pytest.approx(0.35)  # the rest wait for the pause's end, then keep the rate


def test_pause_never_shortens() -> None:
    limiter = RateLimiter(None)
    limiter.pause(10)
    limiter.pause(1)
    assert limiter.pauses == 1


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
