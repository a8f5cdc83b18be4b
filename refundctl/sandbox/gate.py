"""ASGI middleware in front of each of the sandbox's APIs (``/v1``, ``/stripe/v1``): authentication, then faults."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.responses import Response
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


Answer = Callable[[int, str, str, dict[str, str]], Response]
"""An error answer in an API's own shape: (status, error type, message, headers)."""


def supplier_answer(status: int, error_type: str, message: str, headers: dict[str, str]) -> Response:
    return ApiProblem(status, error_type, message).response(headers)


class Gate:
    """ASGI middleware for one API's paths (``prefix``): authentication, then the injected faults in order.

    401 first (an unauthenticated caller learns nothing), then the rate limit, then
    an injected 5xx before anything is processed; a dropped request is processed in
    full and its connection closed instead of answered. ``answer`` writes the errors
    in the API's own shape (the supplier's, or Stripe's for the payments API).
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        faults: Faults,
        dropper: Dropper | None,
        *,
        prefix: str = "/v1/",
        answer: Answer = supplier_answer,
    ) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.faults = faults
        self.dropper = dropper
        self.prefix = prefix
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            problem = self.answer(401, "unauthorized", "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            await problem(scope, receive, send)
            return
        limit = self.faults.rate()
        extra = limit.headers() if limit else {}
        if limit and not limit.allowed:
            await self.answer(429, "rate_limited", f"over {limit.limit} requests per second", extra)(
                scope, receive, send
            )
            return
        status = self.faults.error_status()
        if status is not None:
            await self.answer(status, ERROR_TYPES[status], "injected fault", extra)(scope, receive, send)
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
