"""Find the line of a value in TOML text, since ``tomllib`` keeps no positions.

Paths look like ``fares[1].windows[0].penalty.percent``. Table headers (``[a]``,
``[[a.b]]``) and ``key = ...`` lines are indexed; a path not found falls back to
its nearest indexed ancestor (an inline table's keys share its line).
"""

from __future__ import annotations

import re

HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def index_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            parts = [p.strip().strip('"') for p in header.group(2).split(".")]
            # Resolve each parent to its current array element, e.g. fares -> fares[2].
            path = ""
            for i, part in enumerate(parts):
                path = f"{path}.{part}" if path else part
                if i < len(parts) - 1 and path in counters:
                    path = f"{path}[{counters[path]}]"
            if header.group(1) == "[[":
                counters[path] = counters.get(path, -1) + 1
                path = f"{path}[{counters[path]}]"
            table = path
            lines.setdefault(table, number)
            continue
        key = KEY.match(line)
        if key:
            lines.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return lines


def locate(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
