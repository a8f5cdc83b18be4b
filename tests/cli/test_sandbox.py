"""``refundctl sandbox serve`` as a user runs it: flags, and a real process for signals and live streams.

Bad input fails before anything is served, so those tests run in-process through
CliRunner; a subprocess is started only where the test needs one (signals,
--print-config on stdout, stderr of a live server, restarts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.cli.sandbox import engine_quoter
from refundctl.errors import ExitCode
from refundctl.orders import load_orders
from tests.support.sandbox import SANDBOX_ORDERS, RunningSandbox

REFUND = {"order_id": "ZA-1001", "amount": "100.00", "currency": "CNY"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REFUNDCTL_SANDBOX_TOKEN"}
    return {**env, **extra}


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "refundctl", "sandbox", "serve", "--orders", str(SANDBOX_ORDERS), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _env(),
    )


def _serve_in_process(*args: str) -> Result:
    """``sandbox serve`` for input it must refuse before serving (it would block otherwise)."""
    runner = CliRunner()
    return runner.invoke(
        cli, ["sandbox", "serve", "--orders", str(SANDBOX_ORDERS), *args], env={"REFUNDCTL_SANDBOX_TOKEN": None}
    )


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    proc = _start("--print-config", "--settle-after", "0")
    assert proc.stdout is not None
    config = json.loads(proc.stdout.readline())
    yield proc, config
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_print_config_serve_then_stop_cleanly(
    served: tuple[subprocess.Popen[str], dict[str, Any]], sig: signal.Signals
) -> None:
    proc, config = served
    assert config["base_url"].startswith("http://127.0.0.1:")
    assert config["openapi_url"] == config["base_url"] + "/openapi.json"
    headers = {"Authorization": f"Bearer {config['token']}", "Idempotency-Key": "cli"}
    with httpx.Client(base_url=config["base_url"], headers=headers, timeout=5) as c:
        refund = c.post("/v1/refunds", json=REFUND).json()
        assert c.get(f"/v1/refunds/{refund['id']}").json()["status"] == "succeeded"
        assert c.post("/v1/refund_quotes", json={"order_id": "ZA-1001"}).status_code == 201  # the real engine
    assert config["payments_url"] == config["base_url"] + "/stripe"
    assert config["payments_token"].startswith("sk_test_")
    stripe_key = {"Authorization": f"Bearer {config['payments_token']}"}
    with httpx.Client(base_url=config["payments_url"], headers=stripe_key, timeout=5) as c:
        assert c.get("/v1/refunds/re_nope").json()["error"]["code"] == "resource_missing"  # let in, then not found
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert config["token"] not in stderr
    assert config["payments_token"] not in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_generated_token_is_printed_once_on_stderr() -> None:
    proc = _start("--seed", "9")
    assert proc.stderr is not None
    lines = [proc.stderr.readline() for _ in range(3)]
    token = next(line.split("token ", 1)[1].strip() for line in lines if " token " in line)
    url = next(line.split("serving ", 1)[1].split()[0] for line in lines if "serving" in line)
    assert "seed 9" in lines[2]
    with httpx.Client(base_url=url, timeout=5) as c:
        assert c.get("/v1/orders/ZA-1001", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/v1/orders/ZA-1001", headers={"Authorization": "Bearer nope"}).status_code == 401
    proc.terminate()
    _, rest = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert token not in rest


@pytest.mark.slow
def test_token_from_the_environment_is_not_printed() -> None:
    proc = _start("--print-config", env=_env(REFUNDCTL_SANDBOX_TOKEN="env-token-123"))
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["token"] == "env-token-123"
    proc.terminate()
    _, stderr = proc.communicate(timeout=10)
    assert "env-token-123" not in stderr


@pytest.mark.slow
def test_state_file_keeps_refunds_across_restarts(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite")
    ids = []
    for _ in range(2):
        proc = _start("--print-config", "--state", state, env=_env(REFUNDCTL_SANDBOX_TOKEN="t"))
        assert proc.stdout is not None
        config = json.loads(proc.stdout.readline())
        headers = {"Authorization": "Bearer t", "Idempotency-Key": "same"}
        ids.append(httpx.post(f"{config['base_url']}/v1/refunds", json=REFUND, headers=headers).json()["id"])
        proc.terminate()
        proc.communicate(timeout=10)
    assert ids[0] == ids[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate-limit", "abc"], "--rate-limit"),
        (["--error-rate", "2"], "--error-rate"),
        (["--drop-rate", "x"], "--drop-rate"),
        (["--failure-rate", "-1"], "--failure-rate"),
        (["--latency", "slow"], "--latency"),
        (["--quote-skew", "abc"], "--quote-skew"),
        (["--quote-skew", "-100"], "--quote-skew"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--orders", "/nonexistent/orders.json"], "orders.json"),
        (["--state", "/nonexistent/dir/state.sqlite"], "--state"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = _serve_in_process(*args)
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("refundctl: error:")


def test_port_in_use_is_a_clear_error(sandbox: RunningSandbox) -> None:
    port = sandbox.base_url.rsplit(":", 1)[1]
    result = _serve_in_process("--port", port)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "cannot listen on 127.0.0.1" in result.stderr


@pytest.mark.slow
def test_non_loopback_host_needs_the_flag_and_warns() -> None:
    proc = _start("--host", "0.0.0.0", "--allow-remote", "--print-config")
    assert proc.stdout is not None and proc.stderr is not None
    json.loads(proc.stdout.readline())
    assert "warning" in proc.stderr.readline()
    proc.terminate()
    proc.communicate(timeout=10)


def test_quote_as_of_prices_every_quote_at_that_instant() -> None:
    order = next(o for o in load_orders([str(SANDBOX_ORDERS)]) if o.id == "ZA-1001")
    fixed = engine_quoter(None, datetime(2026, 11, 1, tzinfo=UTC))
    live = engine_quoter(None)
    after_departure = datetime(2027, 1, 1, tzinfo=UTC)
    # Early in the 10% window the fixed quoter ignores the request's (much later) time.
    assert fixed(order, after_departure) == fixed(order, datetime(2026, 11, 2, tzinfo=UTC))
    assert fixed(order, after_departure) != live(order, after_departure)


@pytest.mark.slow
@pytest.mark.parametrize("print_config", [True, False])
def test_a_sandbox_without_orders_says_so_on_stderr(print_config: bool) -> None:
    args = [sys.executable, "-m", "refundctl", "sandbox", "serve", *(["--print-config"] if print_config else [])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stderr is not None and proc.stdout is not None
    warning = proc.stderr.readline()
    config = json.loads(proc.stdout.readline()) if print_config else {}  # stdout holds the JSON alone
    proc.terminate()
    proc.communicate(timeout=10)
    assert warning == "refundctl sandbox: warning: no orders (--orders FILE): every order lookup and quote is 404\n"
    assert ("base_url" in config) is print_config
