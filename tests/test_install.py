"""A non-editable install works from any directory (issue: "Installs like any CLI").

Builds the wheel from this checkout as pip builds any project (in an isolated build
environment), installs it with pip into a fresh virtual environment, and runs the
installed ``refundctl`` from a directory outside the checkout: the shipped policies must
travel inside the wheel. The wheel's dependencies are not downloaded and unpacked again
(that took two thirds of this module's half minute): the distributions it declares, and
theirs, are linked into the new environment from the development one, and only those, so
an import the wheel does not declare fails here as it would in a real install. One
module-scoped install serves every test here (one xdist worker runs them all).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from refundctl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-25T12:00:00Z"


pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install")]  # a real wheel install into a fresh virtualenv


def declared(root: importlib.metadata.Distribution) -> list[importlib.metadata.Distribution]:
    """The distributions ``root`` requires (with the extras it names), and theirs, as installed here."""
    seen: set[tuple[str, frozenset[str]]] = set()
    found: dict[str, importlib.metadata.Distribution] = {}
    pending: list[tuple[importlib.metadata.Distribution, frozenset[str]]] = [(root, frozenset())]
    while pending:
        dist, extras = pending.pop()
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                continue
            key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
            if key not in seen:
                seen.add(key)
                found[key[0]] = importlib.metadata.distribution(requirement.name)
                pending.append((found[key[0]], key[1]))
    return list(found.values())


def link_dependencies(site: Path) -> None:
    """Link into ``site`` the top-level entries (packages, modules, metadata) of every distribution the wheel
    installed there declares, from the development environment's site-packages."""
    (wheel_metadata,) = site.glob("refundctl-*.dist-info")
    for dist in declared(importlib.metadata.Distribution.at(wheel_metadata)):
        assert dist.files is not None, f"{dist.metadata['Name']} lists no files"
        for top in {file.parts[0] for file in dist.files if file.parts[0] not in ("..", "__pycache__")}:
            target = site / top
            if not target.exists():
                target.symlink_to(Path(str(dist.locate_file(top))))


def sources(into: Path) -> Path:
    """A copy of the checkout's files as a clone would have them (tracked, or new and not ignored): setuptools
    builds in the tree's ``build/``, where a module deleted since an earlier build would ride along."""
    if not (ROOT / ".git").exists():  # an unpacked sdist: its files are what ships
        return Path(shutil.copytree(ROOT, into, ignore=shutil.ignore_patterns("build", ".venv", "*.egg-info")))
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not there to copy
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding refundctl installed from a wheel of this checkout."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dist), str(sources(base / "src"))], check=True)
    (wheel,) = dist.glob("refundctl-*.whl")
    venv.create(base / "venv")
    bin_dir = base / "venv" / "bin"
    subprocess.run([*pip, "--python", str(bin_dir / "python"), "install", "--no-deps", str(wheel)], check=True)
    (site,) = (base / "venv" / "lib").glob("python*/site-packages")
    link_dependencies(site)
    return bin_dir


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
