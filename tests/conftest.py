"""Shared fixtures: a real sandbox server on a free loopback port.

``sandbox`` is a server with default settings (no faults, the orders in
tests/data/sandbox_orders.json, quotes from the real engine and shipped
policies). ``sandbox_factory(**options)`` starts more, each with its own
settings (see tests/support/sandbox.py), for example::

    def test_survives_drops(sandbox_factory):
        box = sandbox_factory(drop_rate=0.5, seed=7)
        client = httpx.Client(base_url=box.base_url, headers=box.headers)

Every server started is stopped when the test ends, and every response it sent is
added to ``answered``. When the session ends, the responses of the whole session are
compared with the sandbox's OpenAPI document (``tests.support.openapi.coverage_problems``):
a documented response no test received, or an undocumented one a sandbox sent, fails
the run. Under pytest-xdist each worker hands its responses to the controller, which
merges them and checks once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.openapi import coverage_problems
from tests.support.sandbox import Answered, RunningSandbox, SandboxFactory, start_sandbox

TESTS = Path(__file__).parent
ANSWERED = pytest.StashKey[set[Answered]]()
PARTIAL = pytest.StashKey[bool]()
COVERAGE = "tests/support/openapi.py::coverage_problems[whole session]"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[ANSWERED] = set()
    config.stash[PARTIAL] = False
    # A shell without job control starts a background job with SIGINT ignored, and every child inherits that:
    # the processes the Ctrl-C tests interrupt would run on to the end.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_deselected(items: list[pytest.Item]) -> None:
    # Leaving out slow tests still leaves the session whole enough for the coverage check.
    if any(item.get_closest_marker("slow") is None for item in items):
        items[0].config.stash[PARTIAL] = True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests that take seconds start first, so that no xdist worker is left running one alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: the rest keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist, in the controller: a worker is done; take what its sandboxes answered."""
    output = getattr(node, "workeroutput", None)
    if output is None or "answered" not in output:  # a worker that crashed sends nothing
        node.config.stash[PARTIAL] = True
        return
    node.config.stash[ANSWERED].update(Answered(*answer) for answer in output["answered"])
    node.config.stash[PARTIAL] |= output["partial"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    answered, partial = config.stash[ANSWERED], config.stash[PARTIAL]
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller checks the whole session
        workeroutput["answered"] = [tuple(answer) for answer in answered]
        workeroutput["partial"] = partial
        return
    paths = {(config.invocation_params.dir / arg).resolve() for arg in config.args}
    whole = paths == {TESTS.resolve()} and not partial  # not a file, a -k or a -m subset (but -m "not slow")
    if not whole or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or session.shouldstop:
        return
    problems = coverage_problems(answered)
    if problems:
        report = pytest.TestReport(
            COVERAGE, ("tests/support/openapi.py", None, "the sandbox's OpenAPI document against the session"),
            {}, "failed", "\n".join(problems), "call",
        )  # fmt: skip
        config.hook.pytest_runtest_logreport(report=report)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's own config profile or REFUNDCTL_* settings."""
    for name in ("REFUNDCTL_CONFIG", "REFUNDCTL_PROFILE", "REFUNDCTL_POLICIES", "REFUNDCTL_API", "REFUNDCTL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config-home"))


@pytest.fixture(scope="session")
def answered(pytestconfig: pytest.Config) -> set[Answered]:
    """Every response the in-process sandboxes of this process sent during the session."""
    return pytestconfig.stash[ANSWERED]


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
