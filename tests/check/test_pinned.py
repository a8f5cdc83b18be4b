"""`check -o jsonl` over 3,000 generated orders is pinned byte for byte, whatever ``--jobs``.

Speed work must not change a single decision: this digest is main's output before the
decision path was optimised (issue 14; taken with the UK 261, APPR and CAAC regimes in)
and must not move. A deliberate change to
decisions of the shipped policies (a new rule, a fix) updates it in the same commit,
saying why; `python bench/generate.py 3000` writes the same orders on any machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-25T12:00:00Z"
PINNED = "994507ea4a5ee4dfd37ee3b91e4472d886b76e811fab0fe361d6c99b8e081285"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    path = tmp_path_factory.mktemp("pinned") / "orders.jsonl"
    path.write_text("".join(json.dumps(order, separators=(",", ":")) + "\n" for order in generate.orders(3000)))
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_decisions_are_pinned(generated: Path, jobs: str) -> None:
    result = CliRunner().invoke(cli, ["check", "-o", "jsonl", "--as-of", AS_OF, "-j", jobs, str(generated)])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3000
    assert hashlib.sha256(result.stdout.encode()).hexdigest() == PINNED
