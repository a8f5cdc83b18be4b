"""A record of HTTP exchanges, token redacted, for reports of what a supplier was asked and answered.

Recorded through the client's event hooks (``Connection.event_hooks``), so it serves every adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import httpx

from refundctl.client._redact import redact
from refundctl.client._transport import EventHooks

BODY_LIMIT = 2000  # characters of a body shown in a failure report


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its answer, with the token redacted."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: str = ""

    def render(self) -> str:
        lines = [f"> {self.method} {self.url}", *(f"> {k}: {v}" for k, v in self.request_headers)]
        if self.request_body:
            lines.append(f"> {self.request_body}")
        if self.status is None:
            lines.append("< (no answer)")
        else:
            lines += [f"< HTTP {self.status}", *(f"< {k}: {v}" for k, v in self.response_headers)]
            if self.response_body:
                lines.append(f"< {self.response_body}")
        return "\n".join(lines)


@dataclass
class ExchangeLog:
    """Records the exchanges of an ``httpx.AsyncClient`` through its event hooks."""

    token: str
    exchanges: list[Exchange] = field(default_factory=list)

    def redact(self, text: str) -> str:
        return redact(text, self.token)

    def _clip(self, text: str) -> str:
        text = self.redact(text)
        return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} characters)"

    def _headers(self, headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
        return tuple((k, "Bearer ***" if k.lower() == "authorization" else self.redact(v)) for k, v in headers.items())

    async def on_request(self, request: httpx.Request) -> None:
        body = request.content.decode("utf-8", "replace") if request.content else ""
        self.exchanges.append(
            Exchange(request.method, self.redact(str(request.url)), self._headers(request.headers), self._clip(body))
        )

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        if self.exchanges:
            self.exchanges[-1] = replace(
                self.exchanges[-1],
                status=response.status_code,
                response_headers=self._headers(response.headers),
                response_body=self._clip(response.text),
            )

    def hooks(self) -> EventHooks:
        """The httpx event hooks that record each exchange (``Connection.event_hooks``)."""
        return {"request": [self.on_request], "response": [self.on_response]}
