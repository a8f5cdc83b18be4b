"""Injected faults: seeded randomness, a token-bucket rate limiter and latency.

Each fault draws from its own RNG derived from the seed, so turning one fault on
does not change the sequence another one produces: a run with ``--seed`` is
reproducible for a client that sends its requests in the same order.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to inject; every fault is off by default."""

    rate_limit: float | None = None  # requests per second, bursts up to the same number
    error_rate: float = 0.0  # share of requests answered 500/502/503 before processing
    drop_rate: float = 0.0  # share of requests processed, then closed without a response
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    failure_rate: float = 0.0  # share of refunds that end `failed` instead of `succeeded`
    seed: int = 0


def parse_probability(text: str, flag: str) -> float:
    """``"0.25"`` -> 0.25; ValueError unless a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{flag}: expected a probability between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{flag}: expected a probability between 0 and 1, got {text!r}")
    return value


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*s\s*$")


def parse_rate(text: str) -> float:
    """``"20/s"`` -> 20.0; ValueError unless a positive rate per second."""
    match = _RATE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"--rate-limit: expected a positive rate such as 20/s, got {text!r}")
    return float(match.group(1))


_LATENCY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?))?\s*$")


def parse_latency(text: str) -> tuple[float, float]:
    """``"200:50"`` -> (200.0, 50.0) milliseconds; the jitter is optional."""
    match = _LATENCY.match(text)
    if match is None:
        raise ValueError(f"--latency: expected MS or MS:JITTER in milliseconds such as 200:50, got {text!r}")
    return float(match.group(1)), float(match.group(2) or 0)


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one more request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class TokenBucket:
    """Allows ``rate`` requests per second on average and bursts of up to ``rate``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> RateDecision:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            allowed = self._tokens >= 1.0
            if allowed:
                self._tokens -= 1.0
            tokens = self._tokens
        # Headers carry whole seconds; round waits up so a client that obeys them is never early.
        retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))
        return RateDecision(
            allowed=allowed,
            limit=math.floor(self.capacity),
            remaining=math.floor(tokens),
            reset=math.ceil((self.capacity - tokens) / self.rate),
            retry_after=retry_after,
        )


class Faults:
    """Draws the faults for each request from seeded, per-fault RNGs."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.bucket = TokenBucket(config.rate_limit) if config.rate_limit else None
        seed = config.seed
        self._error_rng = random.Random(f"{seed}:error")
        self._drop_rng = random.Random(f"{seed}:drop")
        self._latency_rng = random.Random(f"{seed}:latency")
        self._failure_rng = random.Random(f"{seed}:failure")

    def rate(self) -> RateDecision | None:
        return self.bucket.take() if self.bucket else None

    def error_status(self) -> int | None:
        """The injected 5xx status for this request, if any."""
        if self.config.error_rate and self._error_rng.random() < self.config.error_rate:
            return self._error_rng.choice(ERROR_STATUSES)
        return None

    def drop(self) -> bool:
        return bool(self.config.drop_rate) and self._drop_rng.random() < self.config.drop_rate

    def refund_fails(self) -> bool:
        return bool(self.config.failure_rate) and self._failure_rng.random() < self.config.failure_rate

    async def delay(self) -> None:
        """Sleep the configured latency, jittered uniformly by +/- the jitter, never below zero."""
        cfg = self.config
        if not cfg.latency_ms and not cfg.jitter_ms:
            return
        jitter = self._latency_rng.uniform(-cfg.jitter_ms, cfg.jitter_ms) if cfg.jitter_ms else 0.0
        await asyncio.sleep(max(0.0, cfg.latency_ms + jitter) / 1000)
