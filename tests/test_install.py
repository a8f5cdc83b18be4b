"""A non-editable install works from any directory (issue: "Installs like any CLI"), compiled.

Builds the wheel from this checkout as pip builds any project (in an isolated build
environment; setup.py compiles the hot path with mypyc), installs it into a fresh virtual
environment (tests/support/install.py), and runs the installed ``refundctl`` from a
directory outside the checkout: the shipped policies must travel inside the wheel, and the
compiled modules must decide byte for byte as the checkout's pure Python does. One
module-scoped install serves every test here (one xdist worker runs them all).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from tests.support.builders import flight, hotel
from tests.support.hostile import RICH_FLIGHT, RICH_HOTEL, combined, variants
from tests.support.install import build_wheels, install

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-25T12:00:00Z"


pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install")]  # a real wheel install into a fresh virtualenv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Path]:
    if worker_id != "master":  # under xdist one worker runs this module (--dist loadgroup): a second builds again
        claim = tmp_path_factory.getbasetemp().parent / "install-group-worker"  # this session's, for every worker
        try:
            with claim.open("x") as mine:  # created here or already there, atomically
                mine.write(worker_id)
        except FileExistsError:
            if claim.read_text() != worker_id:
                pytest.fail(f"the install tests run on {worker_id} and another worker: is --dist loadgroup broken?")
    return build_wheels(tmp_path_factory.mktemp("wheels"), "compiled", "pure")


@pytest.fixture(scope="module")
def installed(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding refundctl installed from the (compiled) wheel of this checkout."""
    return install(wheels["compiled"], tmp_path_factory.mktemp("install") / "venv")


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory with no policies/ folder and no checkout above it."""
    work = tmp_path / "work"
    work.mkdir()
    return work


def run(bin_dir: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDCTL_")}
    clean["XDG_CONFIG_HOME"] = str(cwd / ".config")  # never the developer's own config profile
    command = [str(bin_dir / "refundctl"), *args]
    return subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, env={**clean, **(env or {})})


def test_every_installed_module_imports_with_the_declared_dependencies_only(installed: Path, elsewhere: Path) -> None:
    script = (
        "import importlib, pkgutil, refundctl\n"
        "names = [m.name for m in pkgutil.walk_packages(refundctl.__path__, 'refundctl.')]\n"
        "for name in names:\n"
        "    if not name.endswith('__main__'):\n"
        "        importlib.import_module(name)\n"
        "print(len(names), refundctl.__file__)\n"
    )
    result = subprocess.run([str(installed / "python"), "-c", script], cwd=elsewhere, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    count, where = result.stdout.split()
    assert int(count) > 50
    assert Path(where).parent.parent.name == "site-packages" and Path(where).is_relative_to(installed.parent)


def test_installed_policies_live_inside_the_package(installed: Path, elsewhere: Path) -> None:
    result = run(installed, elsewhere, "policy", "path")
    assert result.returncode == 0, result.stderr
    shipped = Path(result.stdout.strip())
    assert "site-packages" in shipped.parts
    assert shipped.name == "_policies"
    assert (shipped / "airlines" / "zephyr-air.toml").is_file()
    assert result.stderr == "refundctl: policies: shipped with refundctl\n"


def test_installed_check_decides_the_examples_as_the_checkout_does(installed: Path, elsewhere: Path) -> None:
    orders = [str(EXAMPLES / "orders.jsonl"), str(EXAMPLES / "orders-overrides.jsonl")]
    result = run(installed, elsewhere, "check", *orders, "--as-of", AS_OF, "-o", "jsonl")
    assert result.returncode == 0, result.stderr
    here = CliRunner().invoke(cli, ["check", *orders, "--as-of", AS_OF, "-o", "jsonl"])
    assert here.exit_code == 0
    assert result.stdout == here.stdout
    assert len(result.stdout.splitlines()) == 20


def test_installed_policy_validate_and_test_pass(installed: Path, elsewhere: Path) -> None:
    validate = run(installed, elsewhere, "policy", "validate")
    assert (validate.returncode, validate.stdout, validate.stderr) == (0, "", "")
    cases = run(installed, elsewhere, "policy", "test")
    assert cases.returncode == 0, cases.stdout + cases.stderr
    assert cases.stdout.endswith(" passed, 0 failed\n")


def test_installed_explain_and_dry_run(installed: Path, elsewhere: Path) -> None:
    orders = str(EXAMPLES / "orders-overrides.jsonl")
    explained = run(installed, elsewhere, "explain", "EU261-1", "--orders", orders, "--as-of", AS_OF)
    assert explained.returncode == 0, explained.stderr
    assert "eu-261 (regulations/eu-261.toml): APPLIES" in explained.stdout
    dry = run(installed, elsewhere, "submit", orders, "--dry-run", "--as-of", AS_OF, "-o", "jsonl")
    assert dry.returncode == 0, dry.stderr
    fates = {row["order_id"]: row["fate"] for row in map(json.loads, dry.stdout.splitlines())}
    assert fates["EU261-1"] == "would_send"


def test_installed_policies_come_from_the_environment_over_the_shipped_set(installed: Path, elsewhere: Path) -> None:
    empty = elsewhere / "mine"
    empty.mkdir()
    result = run(installed, elsewhere, "policy", "path", env={"REFUNDCTL_POLICIES": str(empty)})
    assert result.stdout == f"{empty.resolve()}\n"
    validate = run(installed, elsewhere, "policy", "validate", env={"REFUNDCTL_POLICIES": str(empty)})
    assert validate.returncode == 2
    assert "no policy files" in validate.stderr


@pytest.fixture
def installed_sandbox(installed: Path, elsewhere: Path) -> Iterator[dict[str, str]]:
    """`refundctl sandbox serve --print-config` of the installed tool, stopped after the test."""
    args = [str(installed / "refundctl"), "sandbox", "serve", "--print-config", "--port", "0",
            "--orders", str(EXAMPLES / "orders.jsonl"), "--settle-after", "0.1", "--quote-as-of", AS_OF]  # fmt: skip
    server = subprocess.Popen(args, cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        config: dict[str, str] = json.loads(server.stdout.readline())
        yield config
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_installed_sandbox_serves_and_smoke_passes(
    installed: Path, elsewhere: Path, installed_sandbox: dict[str, str]
) -> None:
    assert installed_sandbox["base_url"].startswith("http://127.0.0.1:")
    args = ["smoke", "--api", installed_sandbox["base_url"], "--order", "ZA-1001", "--as-of", AS_OF, "--commit",
            "--wait", "10"]  # fmt: skip
    result = run(installed, elsewhere, *args, env={"REFUNDCTL_TOKEN": installed_sandbox["token"]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("smoke: passed against")


def test_the_installed_hot_path_is_compiled(installed: Path, elsewhere: Path) -> None:
    """setup.py compiles with mypyc where a C compiler and the Python headers exist, as here; the msgspec
    structs and the command layer stay Python (setup.py says why)."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    print(name, type(importlib.import_module(name).__loader__).__name__)\n"
    )
    names = ["refundctl.engine.core", "refundctl.orders.fast", "refundctl.orders.reader", "refundctl.money",
             "refundctl.check.batch", "refundctl.output", "refundctl.orders.shapes", "refundctl.cli.check"]  # fmt: skip
    result = subprocess.run([str(installed / "python"), "-c", script, *names], cwd=elsewhere, capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaders = dict(line.split() for line in result.stdout.splitlines())
    assert loaders == {name: "ExtensionFileLoader" for name in names[:6]} | {
        name: "SourceFileLoader" for name in names[6:]
    }


def test_refundctl_pure_builds_the_same_wheel_without_extension_modules(wheels: dict[str, Path]) -> None:
    compiled, pure = wheels["compiled"], wheels["pure"]
    assert f"-cp3{sys.version_info.minor}-" in compiled.name  # a wheel for this Python and platform
    assert pure.name.endswith("-py3-none-any.whl")
    compiled_files = set(zipfile.ZipFile(compiled).namelist())
    pure_files = set(zipfile.ZipFile(pure).namelist())
    extensions = {name for name in compiled_files if name.endswith(".so")}
    assert f"refundctl/engine/core{sysconfig.get_config_var('EXT_SUFFIX')}" in extensions
    assert not {name for name in pure_files if name.endswith(".so")}
    assert {n for n in compiled_files - extensions if ".dist-info/" not in n} == {
        n for n in pure_files if ".dist-info/" not in n
    }


@pytest.fixture(scope="module")
def mixed_orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand generated orders, the examples, and the fast path's hostile records (most of them bad): every
    third of its variants (11,600 in all: each field set to each hostile value, deleted, or beside an unknown one)
    and 300 seeded combinations; each with an id of its own, unless its id is what the variant changed."""
    rng = random.Random(20261129)
    bases = (RICH_FLIGHT, RICH_HOTEL, flight(), hotel())
    every_variant = [v for base in bases for v in variants(base)]
    hostile = [*every_variant[::3], *(combined(rng, rng.choice(bases), rng.randint(1, 3)) for _ in range(300))]
    lines = [json.dumps(record) for record in hostile]
    for n, record in enumerate(hostile):
        if isinstance(record, dict) and record.get("id") in (RICH_FLIGHT["id"], RICH_HOTEL["id"]):
            lines[n] = json.dumps({**record, "id": f"{record['id']}-{n}"})
    generated = subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "2000"], check=True,
                               capture_output=True, text=True).stdout  # fmt: skip
    examples = [(EXAMPLES / name).read_text() for name in ("orders.jsonl", "orders-overrides.jsonl")]
    path = tmp_path_factory.mktemp("mixed") / "orders.jsonl"
    path.write_text("".join([generated, *examples, *(line + "\n" for line in lines)]))
    return path


@pytest.mark.parametrize(
    ("as_of", "output", "jobs"),
    [("2026-11-25T12:00:00Z", "jsonl", "2"), ("2026-12-20T00:00:00+08:00", "jsonl", "1"),
     ("2026-11-25T12:00:00Z", "csv", "1"), ("2026-12-20T00:00:00+08:00", "csv", "2")],
)  # fmt: skip
def test_the_compiled_install_decides_as_the_checkout_does(
    installed: Path, mixed_orders: Path, tmp_path: Path, as_of: str, output: str, jobs: str
) -> None:
    """Byte for byte: stdout, stderr, exit code and the error report, on good, hostile and bad records,
    in one process and with workers (compiled objects pickled between them)."""
    outcomes = []
    for name, bin_dir in (("compiled", installed), ("pure", Path(sys.executable).parent)):
        cwd = tmp_path / name
        cwd.mkdir()
        args = ["check", str(mixed_orders), "--as-of", as_of, "-o", output, "-j", jobs, "--keep-going",
                "--error-report", "errors.jsonl"]  # fmt: skip
        result = run(bin_dir, cwd, *args)
        outcomes.append((result.returncode, result.stdout, result.stderr, (cwd / "errors.jsonl").read_text()))
    compiled, pure = outcomes
    assert compiled[0] == pure[0] == 2  # bad records among them
    assert len(pure[1].splitlines()) > 2000
    assert len(pure[3].splitlines()) > 3000
    assert compiled == pure


def test_a_bad_record_stops_the_compiled_install_as_it_stops_the_checkout(installed: Path, mixed_orders: Path,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    outcomes = [run(bin_dir, tmp_path, "check", str(mixed_orders), "--as-of", AS_OF, "-o", "jsonl")
                for bin_dir in (installed, Path(sys.executable).parent)]  # fmt: skip
    compiled, pure = ((r.returncode, r.stdout, r.stderr) for r in outcomes)
    assert (pure[0], pure[1]) == (2, "")
    assert pure[2].startswith(f"refundctl: error: {mixed_orders}:")
    assert compiled == pure
