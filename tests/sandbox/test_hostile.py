"""A hostile client against the sandbox (issue 11 "The sandbox"): 400 or 413 in the API's error shape, never a 500;
bodies bounded before they are read; slow clients closed. Responses are checked against the OpenAPI document."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal

import httpx
import pytest

from refundctl.sandbox.app import SandboxSettings, create_app
from refundctl.sandbox.problems import MAX_BODY
from refundctl.sandbox.server import SandboxServer, bind
from refundctl.sandbox.store import MemoryStore
from tests.support.openapi import OPERATIONS, check
from tests.support.sandbox import REFUND, RunningSandbox

DEEP = "[" * 2000 + "]" * 2000
REFUND_WITH = '{"order_id": "ZA-1001", "amount": "1.00", "currency": "CNY", '  # then the field under test
NOT_AUTHENTICATED = {"getOpenApi"}


def url_of(operation: str) -> tuple[str, str]:
    path, method = OPERATIONS[operation]
    return method.upper(), path.replace("{order_id}", "ZA-1001").replace("{refund_id}", "rf_00")


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.headers, timeout=5) as c:
        yield c


def raw_body(body: str) -> bytes:
    return body.encode("utf-8", "surrogatepass")  # as a client would send it: \\ud800 escaped in JSON text


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/refunds", REFUND_WITH + f'"waivers": {DEEP}}}', "nested"),
        ("/v1/refund_quotes", f'{{"order_id": {DEEP}}}', "nested"),
        ("/v1/refunds", f'{{"order_id": "ZA-1001", "currency": "CNY", "amount": {"9" * 5000}}}', "number"),
        (
            "/v1/refunds",
            '{"order_id": "ZA-1001", "amount": "1.00", "currency": "CNY", "reason": "\\ud800"}',
            "surrogate",
        ),
        (
            "/v1/refunds",
            '{"order_id": "ZA-1001", "amount": "1.00", "currency": "CNY", "waivers": ["\\udfff"]}',
            "surrogate",
        ),
    ],
)
def test_hostile_json_bodies_are_400_not_500(client: httpx.Client, path: str, body: str, message: str) -> None:
    operation = "createRefund" if path == "/v1/refunds" else "createRefundQuote"
    resp = client.post(path, content=raw_body(body), headers={"Idempotency-Key": "k1"})
    error = check(resp, operation, 400, "invalid_request")["error"]
    assert error["message"].startswith("request body: ") and message in error["message"]
    # The connection stays usable: the next request on it is answered.
    check(client.post("/v1/refund_quotes", json={"order_id": "ZA-1001"}), "createRefundQuote", 201)


def test_a_5000_digit_amount_string_is_400(client: httpx.Client) -> None:
    resp = client.post("/v1/refunds", json={**REFUND, "amount": "9" * 5000}, headers={"Idempotency-Key": "k2"})
    error = check(resp, "createRefund", 400, "invalid_request")["error"]
    assert error["message"].startswith("amount: expected at most") and len(error["message"]) < 200


def test_a_body_over_the_limit_is_413_on_every_path(client: httpx.Client) -> None:
    for operation in OPERATIONS:
        method, url = url_of(operation)
        resp = client.request(method, url, content=b" " * (MAX_BODY + 1), headers={"Idempotency-Key": "k3"})
        check(resp, operation, 413, "request_too_large")
        assert resp.headers["connection"] == "close"
    at_limit = b'{"order_id": "ZA-1001"}'.ljust(MAX_BODY)
    check(client.post("/v1/refund_quotes", content=at_limit), "createRefundQuote", 201)


def exchange(base_url: str, request: bytes, *, body_chunks: Iterable[bytes] = ()) -> bytes:
    """Send ``request`` (then chunks, while the server reads them) on a raw socket; everything answered."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the server stopped reading and closed: what is being tested
            pass
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


def test_content_length_over_the_limit_is_refused_before_the_body_is_sent(sandbox: RunningSandbox) -> None:
    head = (
        b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
        b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
    )
    answer = exchange(sandbox.base_url, head)  # no body at all: the answer must not wait for it
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"request_too_large"' in answer


def test_a_chunked_body_is_read_only_up_to_the_limit(sandbox: RunningSandbox) -> None:
    head = (
        b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"2000\r\n" + b" " * 0x2000 + b"\r\n"
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(50 * 1024 * 1024 // 0x2000):  # 50 MB, if nothing stopped it
            sent += 0x2000
            yield chunk

    answer = exchange(sandbox.base_url, head, body_chunks=chunks())
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 8 * 1024 * 1024  # the server closed long before the 50 MB were sent


def test_two_authorization_headers_are_refused(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as c:
        for operation in OPERATIONS:
            method, url = url_of(operation)
            headers = [("Authorization", "Bearer wrong"), ("Authorization", "Bearer test-token")]
            resp = c.request(method, url, json=REFUND, headers=headers)
            body = check(resp, operation, 400, "invalid_request")
            assert body["error"]["message"] == "more than one Authorization header"
    assert sandbox.store.refunds_for("ZA-1001") == []


# ---- slow clients --------------------------------------------------------------------------------------


@pytest.fixture
def strict_server() -> Iterator[SandboxServer]:
    app = create_app([], MemoryStore(), lambda order, now: (Decimal(0), "CNY"), SandboxSettings(token="t"))
    server = SandboxServer(app, bind("127.0.0.1", 0), request_timeout=0.5, keep_alive=0.5)
    server.start()
    yield server
    server.stop()


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes ``sock`` within ``seconds`` while the client sends ``trickle`` a byte at a time."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + seconds
    pending = list(trickle)
    while time.monotonic() < deadline:
        try:
            if pending:
                sock.send(bytes([pending.pop(0)]))
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_a_connection_that_sends_nothing_is_closed(strict_server: SandboxServer) -> None:
    host, port = strict_server.sock.getsockname()[:2]
    with socket.create_connection((host, port)) as sock:
        assert closed_within(sock, 3)


def test_headers_sent_slowly_are_closed(strict_server: SandboxServer) -> None:
    host, port = strict_server.sock.getsockname()[:2]
    with socket.create_connection((host, port)) as sock:
        assert closed_within(sock, 3, trickle=b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 100)


def test_an_idle_keep_alive_connection_is_closed(strict_server: SandboxServer) -> None:
    host, port = strict_server.sock.getsockname()[:2]
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(2)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert closed_within(sock, 3)


# ---- the payments API (/stripe) is behind the same guard, answering in Stripe's shape -------------------


def test_the_payments_api_is_guarded_too(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.payments_url, timeout=5) as c:
        big = c.post("/v1/refunds", content=b"amount=1&" * (MAX_BODY // 8), headers=sandbox.payments_headers)
        twice = c.post(
            "/v1/refunds",
            data={"payment_intent": "pi_x", "amount": "1"},
            headers=[("Authorization", "Bearer nope"), *sandbox.payments_headers.items()],
        )
    for resp, status, message in ((big, 413, f"request body over {MAX_BODY} bytes"),
                                  (twice, 400, "more than one Authorization header")):  # fmt: skip
        assert resp.status_code == status, resp.text
        assert resp.json() == {
            "error": {"type": "invalid_request_error", "code": None, "message": message, "param": None}
        }
    assert sandbox.ledger.refunds_of("pi_x") == []
