"""Raw records and the input streams they come from (a file, or ``-`` for stdin)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from refundctl.errors import OrderError, Problem

BOM = "\ufeff"  # Excel and Notepad start UTF-8 files with it; it is not content


class RawItem(NamedTuple):
    """One record as read, before decoding and validation (which may run in a worker, for check --jobs).

    ``data`` is undecoded JSON (bytes, decoded by ``jsonvalue`` in every format alike), a CSV
    row already mapped to the JSON shape, or None when the record could not be read at all.
    """

    source: str
    line: int
    data: Any
    problems: tuple[tuple[str | None, str], ...] = ()  # (field or None, message) found while reading
    element: int | None = None  # index within a JSON array
    csv: bool = False  # fields are named by CSV column


class NotText(Exception):
    """Input that is not UTF-8 text, at a line and a byte offset from the start of the input."""

    def __init__(self, line: int, offset: int, reason: str) -> None:
        super().__init__(f"not UTF-8 text at byte {offset}: {reason}")
        self.line = line


def open_input(path: str, what: str = "orders") -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise OrderError([Problem(path, None, None, f"cannot read {what}: {exc.strerror}")]) from None


def close_input(path: str, stream: IO[bytes]) -> None:
    if path != "-":  # stdin stays open for whoever reads it next
        stream.close()


def text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The lines of ``stream`` as text (ends kept, a leading BOM dropped); NotText where it is not UTF-8."""
    offset = 0
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode()
        except UnicodeDecodeError as exc:
            raise NotText(number, offset + exc.start, exc.reason) from None
        offset += len(raw)
        yield line.removeprefix(BOM) if number == 1 else line


def warn(message: str) -> None:
    """Something the user should know that is not an error (stderr, like every message)."""
    print(f"refundctl: warning: {message}", file=sys.stderr)
