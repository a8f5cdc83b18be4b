"""An async pacing gate shared by every worker of a run.

Requests start at most ``rate`` per second, evenly spaced (no bursts: a server
counting per second never sees more than the limit). ``pause`` stops everyone,
including workers already waiting for their slot, so one 429 slows the whole
run rather than only the request that received it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # when the next request may start
        self._resume_at = 0.0  # end of the current shared pause
        self.pauses = 0  # how many 429s paused the run

    async def acquire(self) -> None:
        """Wait for this request's start slot."""
        while True:
            now = self._clock()
            start = max(now, self._next, self._resume_at)
            # Slots follow the schedule, not the wake-up time, so sleep jitter does not lower the rate.
            self._next = start + self._interval
            if start > now:
                await self._sleep(start - now)
            if self._clock() >= self._resume_at:
                return
            # A pause began while we slept: take a new slot after it.

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (extends, never shortens, a pause)."""
        until = self._clock() + seconds
        if until > self._resume_at:
            self._resume_at = until
            self._next = max(self._next, until)
            self.pauses += 1
