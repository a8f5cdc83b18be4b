"""Virtual time for the rate limiter (its injectable ``clock`` and ``sleep``): exact figures, no waiting."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Coroutine
from typing import Any, TypeVar

from refundctl.client import RateLimiter

T = TypeVar("T")


class VirtualTime:
    """A clock that moves only when every task is asleep, straight to the earliest wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, self.sleeps, wake))
        await wake

    def limiter(self, rate: float | None) -> RateLimiter:
        return RateLimiter(rate, clock=self.clock, sleep=self.sleep)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        async def drive() -> T:
            task = asyncio.ensure_future(main)
            while True:
                for _ in range(50):  # let every runnable task run up to its next sleep
                    await asyncio.sleep(0)
                if task.done():
                    return task.result()
                assert self._timers, "every task waits, and not on the clock"
                when, _, wake = heapq.heappop(self._timers)
                self.now = max(self.now, when)
                wake.set_result(None)

        return asyncio.run(drive())
