"""ASGI middleware in front of the sandbox's ``/v1`` routes: authentication, then injected faults."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundctl.sandbox.faults import Faults
from refundctl.sandbox.problems import ApiProblem

Dropper = Callable[[Scope], bool]
"""Closes the connection of a request without a response; False if it cannot."""

ERROR_TYPES = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


class Gate:
    """ASGI middleware for ``/v1``: authentication, then the injected faults in order.

    401 first (an unauthenticated caller learns nothing), then the rate limit, then
    an injected 5xx before anything is processed; a dropped request is processed in
    full and its connection closed instead of answered.
    """

    def __init__(self, app: ASGIApp, token: str, faults: Faults, dropper: Dropper | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.faults = faults
        self.dropper = dropper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            problem = ApiProblem(401, "unauthorized", "missing or wrong bearer token")
            await problem.response({"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        limit = self.faults.rate()
        extra = limit.headers() if limit else {}
        if limit and not limit.allowed:
            problem = ApiProblem(429, "rate_limited", f"over {limit.limit} requests per second")
            await problem.response(extra)(scope, receive, send)
            return
        status = self.faults.error_status()
        if status is not None:
            await ApiProblem(status, ERROR_TYPES[status], "injected fault").response(extra)(scope, receive, send)
            return
        if self.dropper is not None and self.faults.drop():
            await self._drop(scope, receive)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message["headers"], *((k.encode(), v.encode()) for k, v in extra.items())]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        async def discard(message: Message) -> None:
            """The response is computed and thrown away: the client never sees it."""

        await self.app(scope, receive, discard)
        assert self.dropper is not None
        if not self.dropper(scope):
            raise RuntimeError("the server cannot drop this connection")
        # Return only once the server has seen the connection close, so it does not
        # try to answer the request itself.
        while (await receive())["type"] != "http.disconnect":
            pass
