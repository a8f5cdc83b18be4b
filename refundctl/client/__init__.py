"""HTTP plumbing shared by every supplier adapter.

- ``build_client``: an ``httpx.AsyncClient`` over aiohttp's connection pool
  (httpx's API and respx mocking, aiohttp's speed; measured in the README).
- ``RetryPolicy`` / ``send_with_retry``: tenacity retries with exponential
  backoff and jitter, ``Retry-After`` honoured and capped. Each adapter owns its
  policy: which statuses and exceptions retry and how the wait is read.
- ``RateLimiter``: one pacing gate for every worker of a run, paused for everyone
  when any request is answered 429.
- ``redact``: the one token redaction; ``ExchangeLog`` records exchanges (token
  redacted) through the client's event hooks, for any adapter.
"""

from refundctl.client._exchanges import Exchange, ExchangeLog
from refundctl.client._ratelimit import RateLimiter
from refundctl.client._redact import redact
from refundctl.client._retry import (
    RetryPolicy,
    parse_retry_after,
    retry_after_header,
    send_with_retry,
)
from refundctl.client._transport import EventHooks, build_client
from refundctl.errors import RetriesExhausted  # re-exported: send_with_retry raises it

__all__ = [
    "EventHooks",
    "Exchange",
    "ExchangeLog",
    "RateLimiter",
    "RetriesExhausted",
    "RetryPolicy",
    "build_client",
    "parse_retry_after",
    "redact",
    "retry_after_header",
    "send_with_retry",
]
