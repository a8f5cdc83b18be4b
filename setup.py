"""Packaging: everything is declared in setup.cfg except what it cannot say.

The shipped policies stay in the top-level ``policies/`` folder that people read and edit;
this maps that folder into the package as ``refundctl/_policies`` so that a wheel or an
sdist carries them (``refundctl.policy.shipped`` finds them in either place).

A wheel or a regular install compiles the hot path of `check` with mypyc (README, Install):
the same typed Python, as C extensions beside the .py files. Without a C compiler or the
Python headers, or with REFUNDCTL_PURE=1, or for an editable install (compiled modules in
the tree would shadow edits), it is pure Python, which decides identically.
"""

import os
import sys
import sysconfig
import tempfile
from pathlib import Path

from setuptools import Extension, find_packages, setup

# What `check` runs per order (read, decode, validate, decide, money and times, the chunk's rows
# and their encoding): compiled, about a quarter less CPU per order. Not orders/shapes.py
# (msgspec reads its structs' class options, which a compiled class loses), nor engine/supplier_rules.py
# (a runtime-checkable Protocol, which compiled is not one; smoke and submit --fetch only).
COMPILED = [
    *sorted(str(path) for path in Path("refundctl/engine").glob("*.py") if path.name != "supplier_rules.py"),
    "refundctl/jsonvalue.py",
    "refundctl/money.py",
    "refundctl/times.py",
    "refundctl/zones.py",
    "refundctl/check/batch.py",
    "refundctl/check/run.py",
    "refundctl/output/__init__.py",
    "refundctl/orders/dedup.py",
    "refundctl/orders/fast.py",
    "refundctl/orders/json_formats.py",
    "refundctl/orders/model.py",
    "refundctl/orders/parse.py",
    "refundctl/orders/raw.py",
    "refundctl/orders/reader.py",
    "refundctl/policy/model.py",
]


# The setup.py commands that build extension modules (pip runs bdist_wheel, also for a regular install).
BUILDS = {"bdist_wheel", "build", "build_ext", "install"}


def _warn(why: str) -> None:
    print(f"refundctl: WARNING: building pure Python ({why}); it decides identically, only slower", file=sys.stderr)


def _can_compile() -> str | None:
    """Why a C extension cannot be built here, or None when it can (a C file including Python.h compiles)."""
    from distutils.ccompiler import new_compiler  # noqa: PLC0415 - setuptools' own copy, once setuptools is imported
    from distutils.errors import CCompilerError, DistutilsError  # noqa: PLC0415
    from distutils.sysconfig import customize_compiler  # noqa: PLC0415

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch, "probe.c")
        probe.write_text("#include <Python.h>\nint probe(void) { return PY_MAJOR_VERSION; }\n")
        try:
            compiler.compile([str(probe)], output_dir=scratch, include_dirs=[sysconfig.get_paths()["include"]])
        except (CCompilerError, DistutilsError, OSError) as error:
            return f"no working C compiler or Python headers: {error}"
    return None


def extensions() -> list[Extension]:
    """The compiled modules, or none (pure Python) with the reason in the build log."""
    if not BUILDS.intersection(sys.argv[1:]):  # metadata, an sdist, an editable install (where .py files must run)
        return []
    if os.environ.get("REFUNDCTL_PURE") == "1":
        _warn("REFUNDCTL_PURE=1")
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 - a build requirement (pyproject.toml), used only here
    except ImportError as error:
        _warn(f"mypyc is not installed: {error}")
        return []
    reason = _can_compile()
    if reason is not None:
        _warn(reason)
        return []
    # One C file per module rather than one for all: a fifth less compiler time (44 s against 52 s of CPU here).
    return mypycify(COMPILED, multi_file=True)


setup(
    packages=[
        *find_packages(include=["refundctl", "refundctl.*"]),
        "refundctl._policies",
        # Each folder of policies is a package of data files too, or setuptools warns about every one.
        *sorted(f"refundctl._policies.{d.name}" for d in Path("policies").iterdir() if d.is_dir()),
    ],
    package_dir={"refundctl._policies": "policies"},
    ext_modules=extensions(),
)
