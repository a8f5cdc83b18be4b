"""A one-line progress bar on stderr: done, failed, rate, time left. Drawn only on a TTY."""

from __future__ import annotations

import time
from typing import TextIO

from refundctl.submit.fates import UNDONE, Fate

WIDTH = 24


class Progress:
    def __init__(self, total: int, stream: TextIO, *, enabled: bool, interval: float = 0.1) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._enabled = enabled and total > 0
        self._interval = interval
        self._start = time.monotonic()
        self._drawn = 0.0

    def __call__(self, fate: Fate) -> None:
        self.done += 1
        self.failed += fate.fate in UNDONE
        now = time.monotonic()
        if self._enabled and (now - self._drawn >= self._interval or self.done == self.total):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        filled = WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (WIDTH - filled)
        self._stream.write(
            f"\r[{bar}] {self.done}/{self.total} done, {self.failed} not accepted, {rate:,.0f}/s, {left:,.0f}s left "
        )
        self._stream.flush()

    def close(self) -> None:
        if self._enabled and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
