"""ASGI middleware in front of every sandbox route, present and future: sane headers, a bounded body.

It runs before authentication and before any route, so no handler can forget it:

- more than one ``Authorization`` header is refused (400): which one would count is
  ambiguous, and proxies disagree about it;
- a body declared larger than ``MAX_BODY`` by ``Content-Length`` is refused before a
  byte of it is read (413), and a chunked body is read only up to the limit (413);
- the body is read here, whole and bounded, and handed to the route as one message.

Slow clients are the server's job (``server.REQUEST_SECONDS``): a request whose headers
and body do not arrive in time has its connection closed.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundctl.sandbox.gate import Answer, supplier_answer
from refundctl.sandbox.problems import MAX_BODY, ApiProblem

CLOSE = {"Connection": "close"}  # the rest of a refused body is not read: the connection cannot be reused


class Guard:
    """Refusals are written in the shape of the API a path belongs to (``answers`` by prefix; else the supplier's)."""

    def __init__(self, app: ASGIApp, answers: Mapping[str, Answer] | None = None) -> None:
        self.app = app
        self.answers = dict(answers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem, body = _check_headers(scope["headers"]), b""
        if problem is None:
            problem, read = await _read_body(receive)
            if read is None:  # the client left: nothing to answer
                return
            body = read
        if problem is not None:
            answer = next(
                (a for prefix, a in self.answers.items() if scope["path"].startswith(prefix)), supplier_answer
            )
            await answer(problem.status, problem.error_type, str(problem), CLOSE)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # http.disconnect, when the client goes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _check_headers(headers: list[tuple[bytes, bytes]]) -> ApiProblem | None:
    names = [name for name, _ in headers]
    if names.count(b"authorization") > 1:
        return ApiProblem(400, "invalid_request", "more than one Authorization header")
    lengths = [value for name, value in headers if name == b"content-length"]
    if lengths:
        if len(lengths) > 1 or not lengths[0].isdigit():
            return ApiProblem(400, "invalid_request", "one Content-Length header with a number of bytes expected")
        if int(lengths[0]) > MAX_BODY:
            return _too_large()
    return None


async def _read_body(receive: Receive) -> tuple[ApiProblem | None, bytes | None]:
    """The whole body, or 413 as soon as it passes ``MAX_BODY`` (the rest is never read); None if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return _too_large(), b""
        chunks.append(chunk)
        if not message.get("more_body", False):
            return None, b"".join(chunks)


def _too_large() -> ApiProblem:
    return ApiProblem(413, "request_too_large", f"request body over {MAX_BODY} bytes")
