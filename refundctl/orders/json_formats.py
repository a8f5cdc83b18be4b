"""Orders as JSON: one document, a streamed array, or JSON Lines; every record located by its line.

Records leave here as undecoded text (bytes): ``jsonvalue`` decodes every one of them the
same way, whichever the format, so a record gets the same answer as a JSON Lines line,
a JSON array element or a whole file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from refundctl.orders.raw import Block, RawItem


def is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def jsonl_records(source: str, lines: Iterable[str], start: int = 1) -> Iterator[RawItem]:
    for number, line in enumerate(lines, start):
        if line.strip():
            yield RawItem(source, number, line.encode())


def block_records(block: Block) -> Iterator[RawItem]:
    """The records of a block of JSON Lines, as :func:`jsonl_records` reads them line by line."""
    lines = block.data.decode().split("\n")
    last = lines.pop()  # "" after a final newline; else the input's last line, which has none
    yield from jsonl_records(block.source, [line + "\n" for line in lines], block.line)
    if last.strip():
        yield RawItem(block.source, block.line + len(lines), last.encode())


def json_document(source: str, lines: Iterable[str], start_line: int) -> Iterator[RawItem]:
    """A whole input that is one JSON value (an order object, or what it is instead)."""
    yield RawItem(source, start_line, "".join(lines).encode())


# A complete string (JSON strings never span lines), a structural character, or a lone quote.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]|"')
_BRACKET = re.compile(r"[\[\]{}]")


class _ArrayError(Exception):
    pass


class _Splitter:
    """Finds where each element of a JSON array begins and ends, line by line, without decoding.

    Linear in the input: each line is scanned once, and a line inside an element with no
    bracket cannot change the nesting, so it is kept without being tokenised at all.
    """

    def __init__(self) -> None:
        self.depth = 0  # 0: before the array or after it; 1: between elements; 2+: inside one
        self.closed = False
        self.expect_value = True  # after '[' or ','
        self.elements = 0  # elements begun so far
        self.parts: list[str] = []  # the open element's text from earlier lines
        self.begin = -1  # where the open element's text starts on the current line; -1: none open
        self.start_line = 0

    def feed(self, number: int, line: str) -> Iterator[tuple[int, str]]:
        """(first line, text) of every element that ends on this line."""
        self.begin = min(self.begin, 0)  # an element open from an earlier line goes on from column 0
        if self.depth >= 2 and _BRACKET.search(line) is None:
            self.parts.append(line)
            return
        last = 0
        for match in _TOKEN.finditer(line):
            if self.depth <= 1:
                self._gap(number, line, last, match.start())
            last = match.end()
            token = match.group()
            if token[0] == '"':
                if self.depth == 1 and self.begin < 0:
                    self._open(number, match.start())
                if len(token) == 1:  # an unterminated string: the rest of the line is in it
                    last = len(line)
                    break
            elif token in "[{":
                if self.depth == 0:
                    if self.closed or token == "{":
                        raise _ArrayError("invalid JSON: extra data after the array's closing ]")
                elif self.depth == 1 and self.begin < 0:
                    self._open(number, match.start())
                self.depth += 1
            elif token in "]}":
                if self.depth == 0:
                    raise _ArrayError(f"invalid JSON: unexpected {token}")
                if self.depth == 1:
                    if token == "}":
                        raise _ArrayError("invalid JSON: unexpected }")
                    if self.begin >= 0:
                        yield self._close(line, match.start())
                    elif self.expect_value and self.elements:
                        raise _ArrayError("invalid JSON: a value is missing before ]")
                    self.closed = True
                self.depth -= 1
                if self.depth == 1:
                    yield self._close(line, match.end())
            elif self.depth == 1:  # a comma between elements
                if self.begin >= 0:
                    yield self._close(line, match.start())
                elif self.expect_value:
                    raise _ArrayError("invalid JSON: a value is missing before ,")
                self.expect_value = True
        if self.depth <= 1:
            self._gap(number, line, last, len(line))
        if self.begin >= 0:
            self.parts.append(line[self.begin :])

    def _gap(self, number: int, line: str, start: int, end: int) -> None:
        """Text between tokens where no element is open: a number, true, false, null, or not JSON."""
        text = line[start:end]
        stripped = text.lstrip()
        if not stripped or self.begin >= 0:
            return
        if self.depth == 0:
            raise _ArrayError("invalid JSON: extra data after the array's closing ]")
        self._open(number, start + len(text) - len(stripped))

    def _open(self, number: int, column: int) -> None:
        if not self.expect_value:
            raise _ArrayError("invalid JSON: expected , or ] between elements")
        self.begin, self.start_line, self.parts = column, number, []
        self.expect_value = False

    def _close(self, line: str, end: int) -> tuple[int, str]:
        text = "".join(self.parts) + line[self.begin : end]
        self.begin, self.parts = -1, []
        self.elements += 1
        return self.start_line, text


def json_array(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    """Each element of a JSON array as its own record, located by its first line and its index."""
    splitter = _Splitter()
    number = 0
    try:
        for number, line in enumerate(lines, 1):
            for start_line, text in splitter.feed(number, line):
                yield RawItem(source, start_line, text.encode(), element=splitter.elements - 1)
    except _ArrayError as exc:
        yield RawItem(source, number, None, ((_at(splitter.elements), str(exc)),))
        return
    if not splitter.closed:
        message = "invalid JSON: the array is not closed with ]"
        yield RawItem(source, number, None, ((_at(splitter.elements), message),))


def _at(index: int) -> str:
    return f"[{index}]"
