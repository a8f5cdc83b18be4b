"""Raw records and the input streams they come from (a file, or ``-`` for stdin)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from refundctl.errors import OrderError, Problem

BOM = "\ufeff"  # Excel and Notepad start UTF-8 files with it; it is not content
BLOCK_BYTES = 128 << 10  # JSON Lines read in blocks of about 250 orders (a check --jobs task)


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


class Block(NamedTuple):
    """Whole lines of a JSON Lines input as read (valid UTF-8), from line ``line`` on.

    ``check --jobs`` sends a block as it is to a worker, which splits it into records
    (``json_formats.block_records``): the reading process does no work per record.
    """

    source: str
    line: int
    data: bytes


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


class TextLines:
    """The lines of ``stream`` as text (ends kept, a leading BOM dropped); NotText where it is not UTF-8.

    ``number`` and ``offset`` count the lines and bytes read so far: the rest of a JSON Lines
    input is read in blocks from there (:meth:`blocks`).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.number = 0
        self.offset = 0

    def __iter__(self) -> TextLines:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline()
        if not raw:
            raise StopIteration
        self.number += 1
        try:
            line = raw.decode()
        except UnicodeDecodeError as exc:
            raise NotText(self.number, self.offset + exc.start, exc.reason) from None
        self.offset += len(raw)
        return line.removeprefix(BOM) if self.number == 1 else line

    def blocks(self, source: str, size: int = BLOCK_BYTES) -> Iterator[Block]:
        """The rest of the stream in blocks of whole lines, each checked to be UTF-8 (NotText where it is not).

        The lines before an invalid one come first, as a block: the input ends at that line, as it
        does when read line by line. A line longer than ``size`` is read whole into one block.
        """
        pending: list[bytes] = []
        while read := self._stream.read(size):
            end = read.rfind(b"\n") + 1
            if end:
                yield from self._checked(source, b"".join([*pending, read[:end]]))
                pending = [read[end:]]
            else:
                pending.append(read)
        if rest := b"".join(pending):  # the last line, without its newline
            yield from self._checked(source, rest)

    def _checked(self, source: str, data: bytes) -> Iterator[Block]:
        try:
            data.decode()
        except UnicodeDecodeError as exc:
            good = data.rfind(b"\n", 0, exc.start) + 1  # the whole lines before the one in error
            if good:
                yield from self._checked(source, data[:good])
            raise NotText(self.number + 1, self.offset + exc.start - good, exc.reason) from None
        yield Block(source, self.number + 1, data)
        self.number += data.count(b"\n")
        self.offset += len(data)


def warn(message: str) -> None:
    """Something the user should know that is not an error (stderr, like every message)."""
    print(f"refundctl: warning: {message}", file=sys.stderr)
