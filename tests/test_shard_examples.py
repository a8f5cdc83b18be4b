"""The sharding examples in examples/shards/ work as written.

The GitHub Actions matrix's own shell steps run here, shard by shard, on the example
orders, and its merge step checks that every order was decided once. The Kubernetes
Job's refundctl command line is parsed by refundctl itself (as a dry run), and its
per-pod rate is the supplier's limit divided by the number of shards.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from refundctl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
SHARDS = ROOT / "examples" / "shards"
SUPPLIER_LIMIT = 40  # requests/s, as both files state


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SHARDS / name).read_text())
    return loaded


def test_github_matrix_decides_every_order_once(tmp_path: Path) -> None:
    workflow = _load("check-matrix.yml")
    shards = workflow["jobs"]["decide"]["strategy"]["matrix"]["shard"]
    steps = {step.get("name"): step for step in workflow["jobs"]["decide"]["steps"]}
    decide = steps["Decide this shard"]["run"]
    assert f"--shard ${{{{ matrix.shard }}}}/{len(shards)}" in decide
    assert shards == list(range(len(shards)))
    shutil.copy(ROOT / "examples" / "orders.jsonl", tmp_path / "orders.jsonl")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for k in shards:
        command = decide.replace("${{ matrix.shard }}", str(k))
        subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path, env=env, check=True)
    assert all((tmp_path / f"decisions-{k}.jsonl").read_text() for k in shards)  # no empty shard here
    merge = next(s for s in workflow["jobs"]["merge"]["steps"] if s.get("name") == "Every order decided once")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", merge["run"]], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "orders 12, decided 12, distinct ids 12" in done.stdout


def test_kubernetes_indexed_job_divides_the_rate_limit(tmp_path: Path) -> None:
    job = _load("submit-indexed-job.yaml")
    spec = job["spec"]
    shards = spec["completions"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == shards
    script = spec["template"]["spec"]["containers"][0]["args"][0]
    assert f'--shard "$JOB_COMPLETION_INDEX/{shards}"' in script
    rate = re.search(r"--rate (\d+)/s", script)
    assert rate is not None and int(rate.group(1)) * shards == SUPPLIER_LIMIT
    # The refundctl command line itself, for shard 0, on the example orders, as a dry run.
    line = script[script.index("refundctl submit") : script.index(" > ")].replace("$JOB_COMPLETION_INDEX", "0")
    argv = shlex.split(line)[1:]
    argv[argv.index("/data/orders.jsonl")] = str(ROOT / "examples" / "orders.jsonl")
    argv[argv.index("--journal") + 1] = str(tmp_path / "journal-0.sqlite")
    result = CliRunner().invoke(cli, [*argv, "--api", "http://127.0.0.1:9", "--dry-run"], env={"REFUNDCTL_TOKEN": "t"})
    assert result.exit_code == 0, result.stderr
    decided = [line for line in result.stdout.splitlines() if line]
    assert 0 < len(decided) < 12  # shard 0 of 4 holds some of the 12 example orders, not all
