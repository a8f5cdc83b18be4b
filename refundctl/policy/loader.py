"""Load a policy directory: every ``*.toml`` outside ``tests/``, validated, indexed and digested."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from refundctl.errors import PolicyError, Problem
from refundctl.policy.locate import index_lines, locate
from refundctl.policy.model import Policy
from refundctl.policy.schema import build_policy

SHIPPED = Path(__file__).resolve().parent.parent.parent / "policies"
TESTS_DIR = "tests"  # policy test cases live beside the policies but are not policies


@dataclass(frozen=True)
class PolicySet:
    directory: Path
    policies: tuple[Policy, ...]
    digest: str  # identifies exactly these policy files; part of every idempotency key
    by_supplier: dict[tuple[str, str], Policy] = field(default_factory=dict)

    def for_supplier(self, kind: str, code: str) -> Policy | None:
        return self.by_supplier.get((kind, code))


def default_directory() -> Path:
    return SHIPPED


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.toml") if TESTS_DIR not in p.relative_to(directory).parts[:-1])


def load_policies(directory: Path | None = None) -> PolicySet:
    """Every policy under ``directory`` (default: the shipped ones), or PolicyError with every problem."""
    directory = (directory or default_directory()).resolve()
    if not directory.is_dir():
        raise PolicyError([Problem(str(directory), None, None, "policy directory does not exist")])
    problems: list[Problem] = []
    policies: list[Policy] = []
    digest = hashlib.sha256()
    for path in policy_files(directory):
        rel = path.relative_to(directory).as_posix()
        raw = path.read_bytes()
        digest.update(rel.encode() + b"\0" + raw + b"\0")
        policy, found = parse_policy_file(rel, raw, directory)
        problems.extend(found)
        if policy is not None:
            policies.append(policy)
    by_supplier: dict[tuple[str, str], Policy] = {}
    for policy in policies:
        for code in sorted(policy.suppliers):
            other = by_supplier.get((policy.kind, code))
            if other is not None:
                problems.append(Problem(policy.file, None, None, f"{code!r} is already covered by {other.file}"))
            by_supplier[(policy.kind, code)] = policy
    if problems:
        raise PolicyError(problems)
    return PolicySet(directory, tuple(policies), digest.hexdigest()[:16], by_supplier)


def parse_policy_file(rel: str, raw: bytes, directory: Path) -> tuple[Policy | None, list[Problem]]:
    display = str(directory / rel)
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        return None, [Problem(display, None, None, "not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        return None, [Problem(display, line, None, f"invalid TOML: {exc}")]
    lines = index_lines(text)
    policy, issues = build_policy(data, rel, lines)
    return policy, [Problem(display, locate(lines, path), path, message) for path, message in issues]
