"""Orders as JSON: one document, a streamed array, or JSON Lines; every record located by its line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from refundctl.orders.raw import RawItem


def is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def jsonl_records(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield (source, number, line.encode(), None)


def json_document(source: str, lines: Iterable[str], start_line: int) -> Iterator[RawItem]:
    """A whole file that is one JSON value: an order object (or an array, handled as one)."""
    text = "".join(lines)
    try:
        value = json.loads(text)
    except ValueError as exc:
        yield (source, getattr(exc, "lineno", start_line), None, f"invalid JSON: {exc}")
        return
    for item in value if isinstance(value, list) else [value]:
        yield (source, start_line, item, None)


def json_array(source: str, lines: Iterable[str]) -> Iterator[RawItem]:
    """Decode a JSON array element by element, tracking each element's first line."""
    decoder = json.JSONDecoder()
    buf = ""
    line = 1  # line number at buf[0]
    it = iter(lines)
    pos = 0
    exhausted = False
    opened = False

    def refill() -> bool:
        nonlocal buf, pos, line, exhausted
        chunk = "".join(_take(it, 512))
        if not chunk:
            exhausted = True
            return False
        line += buf.count("\n", 0, pos)
        buf = buf[pos:] + chunk
        pos = 0
        return True

    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            if buf[pos] == "," and not opened:
                break
            pos += 1
        if pos >= len(buf):
            if exhausted or not refill():
                yield (source, line + buf.count("\n", 0, pos), None, "invalid JSON: the array is not closed with ]")
                return
            continue
        if not opened:
            if buf[pos] != "[":
                yield (source, line, None, "invalid JSON: expected [")
                return
            opened = True
            pos += 1
            continue
        if buf[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not exhausted and refill():
                continue
            # The line of the error itself, not of the element it is in.
            yield (source, line + buf.count("\n", 0, exc.pos), None, f"invalid JSON: {exc.msg}")
            return
        element_line = line + buf.count("\n", 0, pos)
        # A value ending exactly at the buffer end may be a truncated number; read on to be sure.
        if end == len(buf) and not exhausted and refill():
            continue
        yield (source, element_line, value, None)
        pos = end


def _take(it: Iterator[str], n: int) -> Iterator[str]:
    for _, item in zip(range(n), it, strict=False):
        yield item
