"""Load a policy directory: every ``*.toml`` outside ``tests/``, validated, indexed and digested.

``[policy] kind`` picks the schema: airline and hotel fare rules (``schema``), waivers
and regulations (``overrides``).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from refundctl.errors import PolicyError, Problem
from refundctl.policy.locate import index_lines, locate
from refundctl.policy.model import Carrier, CarrierList, Policy, PolicySet, Regulation, Waiver
from refundctl.policy.overrides import build_carriers, build_regulation, build_waiver, overlapping, same_effect
from refundctl.policy.schema import SUPPLIERS, build_policy
from refundctl.shipped import shipped_policies

AnyPolicy = Policy | Waiver | Regulation | CarrierList
KINDS = ("airline", "hotel", "waiver", "regulation", "carriers")

TESTS_DIR = "tests"  # policy test cases live beside the policies but are not policies
MAX_DEPTH = 16  # the schemas need five levels; deeper is a mistake or an attack


SHIPPED = shipped_policies()


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.toml") if TESTS_DIR not in p.relative_to(directory).parts[:-1])


def load_policies(directory: Path | None = None) -> PolicySet:
    """Every policy under ``directory`` (default: the shipped ones), or PolicyError with every problem."""
    directory = (directory or SHIPPED).resolve()
    if not directory.is_dir():
        raise PolicyError([Problem(str(directory), None, None, "policy directory does not exist")])
    problems: list[Problem] = []
    policies: list[Policy] = []
    waivers: list[Waiver] = []
    regulations: list[Regulation] = []
    carriers: dict[str, Carrier] = {}
    digest = hashlib.sha256()
    for path in policy_files(directory):
        rel = path.relative_to(directory).as_posix()
        raw = path.read_bytes()
        digest.update(rel.encode() + b"\0" + raw + b"\0")
        policy, found = parse_policy_file(rel, raw, directory)
        problems.extend(found)
        if isinstance(policy, Waiver):
            waivers.append(policy)
        elif isinstance(policy, Regulation):
            regulations.append(policy)
        elif isinstance(policy, CarrierList):
            problems.extend(_add_carriers(carriers, policy, directory))
        elif policy is not None:
            policies.append(policy)
    problems.extend(_duplicate_ids([*waivers, *regulations], directory))
    if not problems:  # a waiver that failed to load is already reported
        problems.extend(_unknown_overlaps(waivers, directory))
    by_supplier: dict[tuple[str, str], Policy] = {}
    for policy in policies:
        for code in sorted(policy.suppliers):
            other = by_supplier.get((policy.kind, code))
            if other is not None:
                problems.append(_covered_twice(directory, code, policy, other))
            by_supplier[(policy.kind, code)] = policy
    if problems:
        raise PolicyError(problems)
    return PolicySet(
        directory,
        tuple(policies),
        digest.hexdigest()[:16],
        by_supplier,
        tuple(waivers),
        tuple(regulations),
        tuple(_overlaps(waivers, directory)),
        carriers,
    )


def _covered_twice(directory: Path, code: str, policy: Policy, other: Policy) -> Problem:
    """Both places that claim one carrier or hotel code, each as file:line."""
    key = f"policy.{SUPPLIERS[policy.kind]}"

    def line(p: Policy) -> int | None:
        return locate(index_lines((directory / p.file).read_text(encoding="utf-8-sig")), key)

    where = f"{directory / other.file}:{line(other)}"
    return Problem(str(directory / policy.file), line(policy), key, f"{code!r} is already covered by {where}")


def _add_carriers(carriers: dict[str, Carrier], found: CarrierList, directory: Path) -> list[Problem]:
    """Carriers files add up; one carrier in two files is an error naming both places."""
    problems = []
    for carrier in found.carriers:
        other = carriers.setdefault(carrier.code, carrier)
        if other is not carrier:
            message = f"carrier {carrier.code!r} is already listed at {directory / other.file}:{other.line}"
            problems.append(Problem(str(directory / carrier.file), carrier.line, "carriers.code", message))
    return problems


def _duplicate_ids(items: list[Waiver | Regulation], directory: Path) -> list[Problem]:
    """Waiver and regulation ids name what a decision applied, so they must be unique."""
    first: dict[str, Waiver | Regulation] = {}
    problems = []
    for item in items:
        other = first.setdefault(item.id, item)
        if other is not item:
            message = f"id {item.id!r} is already used by {other.file}"
            problems.append(Problem(str(directory / item.file), item.line, "policy.id", message))
    return problems


def _unknown_overlaps(waivers: list[Waiver], directory: Path) -> list[Problem]:
    known = {w.id for w in waivers}
    return [
        Problem(str(directory / w.file), None, "policy.overlaps", f"no waiver has id {name!r}")
        for w in waivers
        for name in sorted(w.overlaps - known)
    ]


def _overlaps(waivers: list[Waiver], directory: Path) -> list[Problem]:
    """Overlapping waivers with different effects, unless one names the other in ``overlaps``."""
    found = []
    for i, a in enumerate(waivers):
        for b in waivers[i + 1 :]:
            acknowledged = b.id in a.overlaps or a.id in b.overlaps
            if overlapping(a, b) and not same_effect(a, b) and not acknowledged:
                message = (f"waiver {a.id!r} overlaps {b.id!r} ({directory / b.file}:{b.line}) with a different "
                           "effect; an order matching both gets the more favourable")  # fmt: skip
                found.append(Problem(str(directory / a.file), a.line, "conditions", message))
    return found


def _deeper_than(value: object, limit: int) -> bool:
    """True when tables and arrays nest more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_policy_file(rel: str, raw: bytes, directory: Path) -> tuple[AnyPolicy | None, list[Problem]]:
    display = str(directory / rel)
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Notepad) is not content
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        return None, [Problem(display, None, None, "not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no lineno attribute; its message carries the line.
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        return None, [Problem(display, line, None, f"invalid TOML: {exc}")]
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        return None, [Problem(display, None, None, f"values nested deeper than {MAX_DEPTH} levels")]
    if _deeper_than(data, MAX_DEPTH):
        return None, [Problem(display, None, None, f"values nested deeper than {MAX_DEPTH} levels")]
    lines = index_lines(text)
    head = data.get("policy")
    kind = head.get("kind") if isinstance(head, dict) else None
    if isinstance(head, dict) and kind not in KINDS:
        expected = ", ".join(repr(k) for k in KINDS)
        return None, [
            Problem(display, locate(lines, "policy.kind"), "policy.kind", f"expected one of {expected}, got {kind!r}")
        ]
    build = {"waiver": build_waiver, "regulation": build_regulation, "carriers": build_carriers}.get(
        str(kind), build_policy
    )
    policy, issues = build(data, rel, lines)
    return policy, [Problem(display, locate(lines, path), path, message) for path, message in issues]
