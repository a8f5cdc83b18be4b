"""The one place an ``httpx.AsyncClient`` is built.

Transport chosen by measurement (32 in flight against a local server): httpx's
default async transport (httpcore) ≈300 req/s, httpx over ``httpx_aiohttp``'s
``AiohttpTransport`` ≈2,500, raw aiohttp ≈9,000. We keep httpx's API (and respx
for tests) and let aiohttp move the bytes. respx's default mocker patches
httpcore, which this transport never calls, so tests use
``respx.mock(using="httpx")``: it wraps whatever transport the client holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import version
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

EventHooks = Mapping[str, list[Callable[..., Any]]]


def build_client(
    base_url: str, token: str, *, concurrency: int, timeout: float = 30.0, event_hooks: EventHooks | None = None
) -> httpx.AsyncClient:
    """An authenticated client whose pool holds one connection per worker."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        event_hooks=event_hooks,
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "User-Agent": f"refundctl/{version('refundctl')}"},
        timeout=httpx.Timeout(timeout),
        transport=AiohttpTransport(limits=limits),
        follow_redirects=False,  # a redirect would replay the bearer token somewhere unexpected
    )


def describe_failure(exc: BaseException) -> str:
    """Name a transport failure by its real cause.

    httpx_aiohttp maps aiohttp errors loosely (a server that closed the
    connection becomes ``ConnectTimeout``), which would mislead anyone reading why
    a refund failed; the aiohttp exception it wraps says what happened.
    """
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    return f"{type(cause).__name__}: {cause}"
