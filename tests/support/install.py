"""Wheels of this checkout built as pip builds them, installed into fresh virtual environments.

The install tests (tests/test_install.py) and `make bench` (bench/check_bench.py, which measures
what users install) both use them. The wheel's dependencies are not downloaded and unpacked again:
the distributions it declares, and theirs, are linked into the new environment from the running
one, and only those, so an import the wheel does not declare fails as it would in a real install.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


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


def build_wheels(base: Path, *kinds: str) -> dict[str, Path]:
    """Wheels of the checkout as pip builds them, side by side, each from its own copy (a build writes into its
    source tree): "compiled" as setup.py builds by default (with mypyc where it can), "pure" with REFUNDCTL_PURE=1."""
    # Built for a bare venv's interpreter, as on a user's machine: built for this one, mypyc would find the
    # development environment's packages through it, and a build that needs them would pass here only.
    builder = base / "builder"
    venv.create(builder)
    pip_wheel = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet",
                 "--python", str(builder / "bin" / "python"), "wheel", "--no-deps"]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if k != "REFUNDCTL_PURE"}
    builds = {
        kind: subprocess.Popen(
            [*pip_wheel, "--wheel-dir", str(base / kind), str(sources(base / f"src-{kind}"))],
            env={**environ, "REFUNDCTL_PURE": "1"} if kind == "pure" else environ,
        )
        for kind in kinds
    }
    for kind, build in builds.items():
        if build.wait() != 0:
            raise RuntimeError(f"building the {kind} wheel failed")
    return {kind: next((base / kind).glob("refundctl-*.whl")) for kind in kinds}


def install(wheel: Path, into: Path) -> Path:
    """The bin/ folder of a fresh venv at ``into`` holding ``wheel``, its dependencies linked from this one."""
    venv.create(into)
    bin_dir = into / "bin"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "--python", str(bin_dir / "python"), "install", "--no-deps", str(wheel)], check=True)
    (site,) = (into / "lib").glob("python*/site-packages")
    link_dependencies(site)
    return bin_dir
