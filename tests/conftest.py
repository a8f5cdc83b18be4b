"""Shared fixtures: a real sandbox server on a free loopback port.

``sandbox`` is a server with default settings (no faults, the orders in
tests/data/sandbox_orders.json, quotes from the real engine and shipped
policies). ``sandbox_factory(**options)`` starts more, each with its own
settings (see tests/support/sandbox.py), for example::

    def test_survives_drops(sandbox_factory):
        box = sandbox_factory(drop_rate=0.5, seed=7)
        client = httpx.Client(base_url=box.base_url, headers=box.headers)

Every server started is stopped when the test ends, and every response it sent is
added to ``answered`` (the whole session's, for the OpenAPI coverage test, which runs
last: ``pytest.mark.last``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import Answered, RunningSandbox, SandboxFactory, start_sandbox

TESTS = Path(__file__).parent
PARTIAL = pytest.StashKey[bool]()


def pytest_deselected(items: list[pytest.Item]) -> None:
    # Leaving out slow tests still leaves the session whole enough for the tests that read all of it.
    if any(item.get_closest_marker("slow") is None for item in items):
        items[0].config.stash[PARTIAL] = True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)  # stable: the rest keep their order


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's own config profile or REFUNDCTL_* settings."""
    for name in ("REFUNDCTL_CONFIG", "REFUNDCTL_PROFILE", "REFUNDCTL_POLICIES", "REFUNDCTL_API", "REFUNDCTL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config-home"))


@pytest.fixture(scope="session")
def answered() -> set[Answered]:
    """Every response the in-process sandboxes sent during the session."""
    return set()


@pytest.fixture
def whole_session(request: pytest.FixtureRequest) -> bool:
    """Whether this session runs every test (but perhaps the slow ones): not a file, a -k or a -m subset."""
    config = request.config
    paths = {(config.invocation_params.dir / arg).resolve() for arg in config.args}
    return paths == {TESTS.resolve()} and not config.stash.get(PARTIAL, False)


@pytest.fixture
def sandbox_factory(answered: set[Answered]) -> Iterator[SandboxFactory]:
    running: list[RunningSandbox] = []

    def start(**options: Any) -> RunningSandbox:
        box = start_sandbox(record=answered.add, **options)
        running.append(box)
        return box

    yield start
    # uvicorn takes ~0.2 s to wind down; let that overlap the next test rather than wait.
    for box in running:
        threading.Thread(target=box.stop, name=f"stop {box.base_url}", daemon=True).start()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory()
