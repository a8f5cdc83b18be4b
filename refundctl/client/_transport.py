"""The one place an ``httpx.AsyncClient`` is built.

Transport chosen by measurement (32 in flight against a local server): httpx's
default async transport (httpcore) ≈300 req/s, httpx over ``httpx_aiohttp``'s
``AiohttpTransport`` ≈2,500, raw aiohttp ≈9,000. We keep httpx's API (and respx
for tests) and let aiohttp move the bytes. respx's default mocker patches
httpcore, which this transport never calls, so tests use
``respx.mock(using="httpx")``: it wraps whatever transport the client holds.
"""

from __future__ import annotations

import os
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


def _reason(error: OSError) -> str:
    """ "connection refused", from the errno where there is one (asyncio's own text names a call)."""
    text = os.strerror(error.errno) if error.errno else error.strerror or str(error) or "no reason given"
    return text[:1].lower() + text[1:]


def describe_failure(exc: BaseException) -> str:
    """Say in words what went wrong on the wire, for the person reading why a refund failed.

    httpx_aiohttp maps aiohttp errors loosely (a server that closed the connection
    becomes ``ConnectTimeout``), and aiohttp's own messages name its internals
    (``ssl:default`` on plain http), so the aiohttp exception underneath is read instead.
    """
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    if isinstance(cause, aiohttp.ClientSSLError):
        return f"TLS with {cause.host}:{cause.port} failed: {_reason(cause.os_error)}"
    if isinstance(cause, aiohttp.ClientConnectorError):
        return f"cannot connect to {cause.host}:{cause.port}: {_reason(cause.os_error)}"
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(cause, aiohttp.ClientPayloadError):
        return "the answer was cut off before its end"
    if isinstance(cause, TimeoutError | httpx.TimeoutException):
        return "no answer within the timeout (--timeout)"
    return f"{type(cause).__name__}: {cause}"
