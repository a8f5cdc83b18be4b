"""Transport failures are told in words (issue 10 §5): no aiohttp internals such as
``ssl:default`` on plain http, no class names where a sentence says it better."""

from __future__ import annotations

import asyncio
import errno
import socket

import aiohttp
import httpx
import pytest

from refundctl.client import build_client
from refundctl.client._transport import describe_failure


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


def test_a_refused_connection_on_loopback_names_host_port_and_reason() -> None:
    port = closed_port()

    async def get() -> BaseException:
        async with build_client(f"http://127.0.0.1:{port}", "tok", concurrency=1, timeout=5) as client:
            try:
                await client.get("/v1/orders/X")
            except httpx.TransportError as exc:
                return exc
        raise AssertionError("the request did not fail")

    message = describe_failure(asyncio.run(get()))
    assert message == f"cannot connect to 127.0.0.1:{port}: connection refused"
    assert "ssl:default" not in message


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), "the server closed the connection without answering"),
        (aiohttp.ClientPayloadError("x"), "the answer was cut off before its end"),
        (TimeoutError(), "no answer within the timeout (--timeout)"),
        (httpx.ReadTimeout("x"), "no answer within the timeout (--timeout)"),
    ],
)
def test_other_failures_in_words(cause: BaseException, expected: str) -> None:
    wrapped = httpx.ConnectTimeout("misleading")  # how httpx_aiohttp reports a dropped connection
    wrapped.__cause__ = cause
    assert describe_failure(wrapped if isinstance(cause, aiohttp.ClientError) else cause) == expected


def test_a_refusal_without_errno_keeps_its_own_text() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    cause = aiohttp.ClientConnectorError(key, OSError("Network is unreachable"))
    assert describe_failure(cause) == "cannot connect to h:1: network is unreachable"
    refused = aiohttp.ClientConnectorError(key, OSError(errno.ECONNREFUSED, "Connect call failed"))
    assert describe_failure(refused) == "cannot connect to h:1: connection refused"
