"""A one-line progress meter on stderr, drawn only on a TTY (never into pipes or logs).

With a known total it draws a bar and the time left; without one (``check`` streaming an
input of unknown length) the count and the rate. The first line is drawn only after
``interval`` seconds, so quick runs print nothing.
"""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        total: int | None = None,
        noun: str = "done",
        failed_label: str = "failed",
        interval: float = 0.2,
    ) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._enabled = enabled and total != 0
        self._noun = noun
        self._failed_label = failed_label
        self._interval = interval
        self._start = time.monotonic()
        self._drawn = 0.0

    def tick(self, done: int = 1, *, failed: int = 0) -> None:
        """``done`` more done (some of them ``failed``: a bool counts as 0 or 1)."""
        self.done += done
        self.failed += failed
        if not self._enabled:
            return
        now = time.monotonic()
        last = self.total is not None and self.done >= self.total
        if now - max(self._drawn, self._start) >= self._interval or (last and self._drawn):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-6)
        failed = f", {self.failed} {self._failed_label}" if self.failed else ""
        if self.total is None:
            line = f"\r{self.done:,} {self._noun}{failed}, {rate:,.0f}/s "
        else:
            left = (self.total - self.done) / rate if rate else 0.0
            bar = "#" * (WIDTH * self.done // self.total)
            line = (
                f"\r[{bar:-<{WIDTH}}] {self.done}/{self.total} {self._noun}{failed}, {rate:,.0f}/s, {left:,.0f}s left "
            )
        self._stream.write(line)
        self._stream.flush()

    def close(self) -> None:
        if self._enabled and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
