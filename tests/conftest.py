"""Shared fixtures: a real sandbox server on a free loopback port.

``sandbox`` is a server with default settings (no faults, the orders in
tests/data/sandbox_orders.json, quotes from the real engine and shipped
policies). ``sandbox_factory(**options)`` starts more, each with its own
settings (see tests/support/sandbox.py), for example::

    def test_survives_drops(sandbox_factory):
        box = sandbox_factory(drop_rate=0.5, seed=7)
        client = httpx.Client(base_url=box.base_url, headers=box.headers)

Every server started is stopped when the test ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox import RunningSandbox, SandboxFactory, start_sandbox


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's own config profile or REFUNDCTL_* settings."""
    for name in ("REFUNDCTL_CONFIG", "REFUNDCTL_PROFILE", "REFUNDCTL_POLICIES", "REFUNDCTL_API", "REFUNDCTL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config-home"))


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    running: list[RunningSandbox] = []

    def start(**options: Any) -> RunningSandbox:
        box = start_sandbox(**options)
        running.append(box)
        return box

    yield start
    # uvicorn takes ~0.2 s to wind down; let that overlap the next test rather than wait.
    for box in running:
        threading.Thread(target=box.stop, name=f"stop {box.base_url}", daemon=True).start()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory()
