"""Policy test cases: orders, an ``as_of`` and the expected decision, kept in ``<policies>/tests/``.

A case file names an orders file (JSON Lines, beside it) and lists cases::

    orders = "orders.jsonl"

    [[case]]
    name = "booked one second before the cutoff"
    order = "FL-1"                       # the base order's id
    as_of = 2026-11-25T12:00:00Z
    set = { booked_at = "2020-01-23T23:59:59+08:00", "segments[0].status" = "cancelled" }
    expect = { outcome = "full", refund = "1200.00", waivers = ["frontline-2020"], rules = ["frontline-2020"] }

``expect`` may hold outcome, refund, penalty, non_refundable, refund_with_evidence,
funded_by (a table), waivers, regulations, also_matched, due_by ("YYYY-MM-DD" or ""), due_by_provisional,
compensation (each entry as "600.00 EUR", joined by "; ", or "" for none) and rules (rule
ids that must fire). A bad case file is a PolicyError located by file:line; a case whose
decision differs fails.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from refundctl.engine import decide
from refundctl.errors import PolicyError, Problem
from refundctl.orders.parse import parse_order
from refundctl.policy.loader import TESTS_DIR
from refundctl.policy.locate import index_lines, locate
from refundctl.policy.model import PolicySet

EXPECT = {
    "outcome", "refund", "penalty", "non_refundable", "refund_with_evidence", "funded_by", "waivers",
    "regulations", "also_matched", "due_by", "due_by_provisional", "compensation", "rules",
}  # fmt: skip
STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Result:
    file: str
    line: int | None
    name: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def case_files(directory: Path) -> list[Path]:
    return sorted((directory / TESTS_DIR).glob("*.toml"))


def run_cases(directory: Path, policies: PolicySet) -> list[Result]:
    """Every case of every case file under ``directory/tests``; PolicyError for bad case files."""
    results: list[Result] = []
    problems: list[Problem] = []
    for path in case_files(directory):
        results.extend(_run_file(path, policies, problems))
    if problems:
        raise PolicyError(problems)
    return results


def _run_file(path: Path, policies: PolicySet, problems: list[Problem]) -> list[Result]:
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), None, None, f"not UTF-8 text (byte {exc.start})"))
        return []
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        problems.append(Problem(str(path), int(found.group(1)) if found else None, None, f"invalid TOML: {exc}"))
        return []
    lines = index_lines(text)

    def bad(where: str, message: str) -> None:
        problems.append(Problem(str(path), locate(lines, where), where, message))

    orders = _orders(path, data.get("orders"), bad)
    cases = data.get("case")
    if not isinstance(cases, list) or not cases:
        bad("case", "expected at least one [[case]] table")
        return []
    results = []
    for i, case in enumerate(cases):
        where = f"case[{i}]"
        before = len(problems)
        order, as_of, expect = _parse_case(case, where, orders, bad)
        if len(problems) == before and order is not None and as_of is not None:
            name = str(case.get("name", where))
            decision = decide(order, policies, as_of).to_dict()
            results.append(Result(str(path), locate(lines, where), name, tuple(_compare(expect, decision))))
    return results


def _orders(path: Path, name: Any, bad: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(name, str):
        bad("orders", 'expected the orders file beside this one, e.g. orders = "orders.jsonl"')
        return {}
    source = path.parent / name
    if not source.is_file():
        bad("orders", f"no such file: {source}")
        return {}
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        bad("orders", f"{source}: not UTF-8 text (byte {exc.start})")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                bad("orders", f"{source}:{number}: invalid JSON: {exc.msg}")
                continue
            if not isinstance(record, dict):
                bad("orders", f"{source}:{number}: expected one order (a JSON object) per line")
                continue
            out[str(record.get("id"))] = record
    return out


def _parse_case(
    case: Any, where: str, orders: dict[str, dict[str, Any]], bad: Any
) -> tuple[Any, datetime | None, dict[str, Any]]:
    if not isinstance(case, dict):
        bad(where, "expected a table")
        return None, None, {}
    for key in sorted(set(case) - {"name", "order", "as_of", "set", "expect"}):
        bad(f"{where}.{key}", "unknown key (expected name, order, as_of, set, expect)")
    as_of = case.get("as_of")
    if not isinstance(as_of, datetime) or as_of.tzinfo is None:
        bad(f"{where}.as_of", f"expected a TOML date-time with an offset (unquoted), got {as_of!r}")
        as_of = None
    expect = case.get("expect")
    if not isinstance(expect, dict) or not expect:
        bad(f"{where}.expect", "expected a table of expected values")
        expect = {}
    for key in sorted(set(expect) - EXPECT):
        bad(f"{where}.expect.{key}", f"unknown key (expected one of {', '.join(sorted(EXPECT))})")
    base = orders.get(str(case.get("order")))
    if base is None:
        bad(f"{where}.order", f"no order {case.get('order')!r} in the orders file")
        return None, as_of, expect
    raw = copy.deepcopy(base)
    for path, value in (case.get("set") or {}).items():
        try:
            _assign(raw, path, value)
        except (KeyError, IndexError, TypeError):
            bad(f"{where}.set", f"cannot set {path!r} in order {base.get('id')!r}")
    order, invalid = parse_order(raw)
    for problem in invalid:
        bad(f"{where}.set", f"the order is invalid: {problem.path}: {problem.message}")
    return order, as_of, expect


def _assign(target: Any, path: str, value: Any) -> None:
    """Set ``a.b[0].c`` in nested dicts and lists; the last key may be new."""
    steps = [key if key else int(index) for key, index in STEP.findall(path)]
    for step in steps[:-1]:
        target = target[step]
    if isinstance(steps[-1], int) or isinstance(target, dict):
        target[steps[-1]] = value
    else:
        raise TypeError(path)


def _compare(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    failures = []
    for key, want in sorted(expect.items()):
        if key == "rules":
            fired = {r["rule"] for r in got["rules"]}
            missing = [r for r in want if r not in fired]
            if missing:
                failures.append(f"rules: expected {', '.join(missing)} to fire; fired: {', '.join(sorted(fired))}")
            continue
        actual: Any = got.get(key)
        if key == "compensation":
            actual = "; ".join(f"{c['amount']} {c['currency']}" for c in actual)
        elif key in {"due_by", "refund_with_evidence"}:
            actual = actual or ""
        if actual != want:
            failures.append(f"{key}: expected {want!r}, got {actual!r}")
    return failures
