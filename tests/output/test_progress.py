"""The progress meter: drawn only where enabled (a TTY), never before its interval, always
ended with a newline once drawn; counts and rates with or without a known total."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.output.progress import Progress


def test_disabled_draws_nothing() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=False, interval=0)
    for _ in range(5):
        meter.tick()
    meter.close()
    assert stream.getvalue() == ""


def test_unknown_total_shows_count_failures_and_rate() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, noun="orders decided", failed_label="bad", interval=0)
    meter.tick()
    meter.tick(failed=True)
    meter.close()
    lines = stream.getvalue().split("\r")
    assert lines[-1].startswith("2 orders decided, 1 bad, ")
    assert lines[-1].endswith("/s \n")


def test_known_total_draws_a_bar_and_time_left() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, total=4, noun="sent", interval=0)
    for _ in range(4):
        meter.tick()
    meter.close()
    assert stream.getvalue().split("\r")[-1].startswith(f"[{'#' * 24}] 4/4 sent, ")


def test_ticks_may_count_many_at_once() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, total=600, noun="sent", interval=0)
    meter.tick(256)
    meter.tick(344, failed=3)
    meter.close()
    assert (meter.done, meter.failed) == (600, 3)
    assert stream.getvalue().split("\r")[-1].startswith(f"[{'#' * 24}] 600/600 sent, 3 failed, ")


def test_nothing_is_drawn_before_the_interval() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, interval=3600)
    meter.tick()
    meter.close()
    assert stream.getvalue() == ""


def test_check_draws_no_progress_when_stderr_is_not_a_terminal() -> None:
    orders = str(Path(__file__).resolve().parents[2] / "examples" / "orders.jsonl")
    result = CliRunner().invoke(cli, ["check", orders, "--as-of", "2026-11-25T12:00:00Z", "-o", "jsonl"])
    assert result.exit_code == 0
    assert "\r" not in result.stderr
    assert result.stderr.count("\n") == 1  # the summary alone
