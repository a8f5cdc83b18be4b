"""Run the sandbox on uvicorn: bind, serve, drop connections on demand, stop on signals.

The socket is bound before uvicorn starts so ``--port 0`` can report the port it
got, and a client that connects at once waits in the listen backlog instead of
being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Generator
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Open connections by (server address, client address): unique per TCP connection
# across every sandbox in the process, and both halves are in each ASGI scope.
_Address = tuple[str, int]
_CONNECTIONS: dict[tuple[_Address, _Address], asyncio.Transport] = {}


def _address(value: Any) -> _Address:
    return (str(value[0]), int(value[1]))


# Slow clients are closed, so that a few hundred of them cannot hold the server: a request's
# headers and body must arrive within REQUEST_SECONDS of its first byte (or of the connection
# opening), and an idle keep-alive connection is closed after KEEP_ALIVE_SECONDS. uvicorn has
# the second but not the first: it arms no timer until a first response, and any byte received
# disarms its keep-alive timer.
REQUEST_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5.0


class _Config(uvicorn.Config):
    """uvicorn's configuration, with the request timeout it lacks."""

    def __init__(self, app: ASGIApp, *, request_timeout: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.request_timeout = request_timeout


class _TrackedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, remembering each connection so a request can drop it, and closing slow requests.

    ASGI offers no way to close a connection without answering; the drop fault
    needs exactly that (no status line, no bytes), as a supplier that crashed
    after committing would behave.
    """

    _request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._tracked = (_address(transport.get_extra_info("sockname")), _address(transport.get_extra_info("peername")))
        _CONNECTIONS[self._tracked] = transport
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        _CONNECTIONS.pop(self._tracked, None)
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self) -> None:
        if self._request_timer is None:
            seconds = self.config.request_timeout if isinstance(self.config, _Config) else REQUEST_SECONDS
            self._request_timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _too_slow(self) -> None:
        self._request_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def drop_connection(scope: Scope) -> bool:
    """Close the request's connection at once, unanswered; False if it is not ours."""
    server, client = scope.get("server"), scope.get("client")
    if server is None or client is None:
        return False
    transport = _CONNECTIONS.get((_address(server), _address(client)))
    if transport is None:
        return False
    transport.abort()
    return True


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); OSError if it cannot bind."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """Stops gracefully on SIGINT and SIGTERM and then returns, as a normal end.

    uvicorn re-raises the captured signal after shutdown; for the sandbox a signal
    is the ordinary way to stop, so the command returns and exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        # A second Ctrl-C skips waiting for open connections, as uvicorn does.
        self.force_exit = self.should_exit
        self.should_exit = True


class SandboxServer:
    """One uvicorn server on an already bound socket, in this thread or a background one."""

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        *,
        request_timeout: float = REQUEST_SECONDS,
        keep_alive: float = KEEP_ALIVE_SECONDS,
    ) -> None:
        self.sock = sock
        self.base_url = base_url(sock)
        config = _Config(
            app,
            request_timeout=request_timeout,
            timeout_keep_alive=keep_alive,
            http=_TrackedHttpProtocol,
            lifespan="off",
            access_log=False,  # nothing per request in logs, so no request detail can leak
            log_config=None,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (main thread) or :meth:`stop`; closes the socket."""
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self, timeout: float = 10.0) -> None:
        """Serve in a daemon thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.run, name=f"sandbox {self.base_url}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox at {self.base_url} did not start within {timeout}s")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
