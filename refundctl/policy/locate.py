"""Find the line of a value in TOML text, since ``tomllib`` keeps no positions.

Paths look like ``fares[1].windows[0].penalty.percent``. :func:`index_lines` scans
text that ``tomllib`` has already accepted and records the line where each path
starts: table headers (``[a]``, ``[[a.b]]``, quoted parts), ``key = ...`` lines with
dotted or quoted keys, the keys of inline tables and each element of an array, also
when an array of inline tables spans several lines. Strings are skipped whole,
multi-line ones included, so a ``[[...]]`` inside a string is not taken for a header.
A path not found falls back to its nearest indexed ancestor.
"""

from __future__ import annotations

import re

_BARE = re.compile(r"[A-Za-z0-9_\-]+")
_SPACE = " \t"
_SCALAR = re.compile(r"[^,\]}\s#]*(?:[ T][0-9:.+\-Z]+)?")  # a number, boolean, or date and time


class _Scanner:
    """One pass over the text; ``lines`` maps each path to the line it starts on."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[str, int] = {}
        self.arrays: dict[str, int] = {}  # [[array]] table path -> index of its current element

    def record(self, path: str) -> None:
        self.lines.setdefault(path, self.line)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += count

    def skip_blank(self, newlines: bool) -> None:
        """Spaces, comments and (inside arrays) newlines."""
        while self.pos < len(self.text):
            char = self.peek()
            if char in _SPACE or (newlines and char in "\r\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def string(self) -> str:
        """A basic, literal or multi-line string starting here; its (unescaped enough) text."""
        quote = self.peek()
        if self.text.startswith(quote * 3, self.pos):
            end = self.text.find(quote * 3, self.pos + 3)
            while quote == '"' and end > 0 and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end
            while self.text.startswith(quote, end + 3):  # up to two quotes may end the content
                end += 1
            value = self.text[self.pos + 3 : end]
            self.advance(end + 3 - self.pos)
            return value
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if quote == '"' and self.text[end] == "\\" else 1
        value = self.text[self.pos + 1 : end]
        self.advance(end + 1 - self.pos)
        return value

    def key(self) -> list[str]:
        """A dotted key (``a."b.c".d``) as its parts."""
        parts = []
        while True:
            self.skip_blank(newlines=False)
            if self.peek() in "\"'":
                parts.append(self.string())
            else:
                found = _BARE.match(self.text, self.pos)
                if found is None:
                    return parts
                parts.append(found.group())
                self.advance(found.end() - self.pos)
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def pair(self, table: str) -> None:
        """``key = value`` under ``table``: records every prefix of the key, then the value."""
        path = table
        for part in self.key():
            path = f"{path}.{part}" if path else part
            self.record(path)
        self.skip_blank(newlines=False)
        self.advance()  # "="
        self.skip_blank(newlines=False)
        self.value(path)

    def value(self, path: str) -> None:
        char = self.peek()
        if char in "\"'":
            self.string()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in "]":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    index += 1
                    continue
                self.record(f"{path}[{index}]")
                self.value(f"{path}[{index}]")
        elif char == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=False)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.pair(path)
        else:  # number, boolean, date: up to the next delimiter
            found = _SCALAR.match(self.text, self.pos)
            self.advance(max(1, found.end() - self.pos) if found else 1)

    def header(self) -> str:
        """``[a.b]`` or ``[[a.b]]``: the table path, array parents resolved to their current element."""
        double = self.text.startswith("[[", self.pos)
        self.advance(2 if double else 1)
        parts = self.key()
        self.skip_blank(newlines=False)
        self.advance(2 if double else 1)
        path = ""
        for i, part in enumerate(parts):
            path = f"{path}.{part}" if path else part
            if i < len(parts) - 1 and path in self.arrays:
                path = f"{path}[{self.arrays[path]}]"
        if double:
            self.arrays[path] = self.arrays.get(path, -1) + 1
            path = f"{path}[{self.arrays[path]}]"
        self.record(path)
        return path

    def run(self) -> dict[str, int]:
        table = ""
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                break
            if self.peek() == "[":
                table = self.header()
            else:
                self.pair(table)
        return self.lines


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def index_lines(text: str) -> dict[str, int]:
    """Every path of ``text`` (valid TOML) with the line it starts on."""
    return _Scanner(text).run()


def locate(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
