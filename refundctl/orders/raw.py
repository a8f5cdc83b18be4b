"""Raw records and the input streams they come from (a file, or ``-`` for stdin)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import IO, Any

from refundctl.errors import OrderError, Problem

# (source, line, decoded value or undecoded JSON as bytes, error). JSON Lines records stay
# bytes until to_record (in a worker, for check --jobs); decoded JSON is never bytes.
RawItem = tuple[str, int, Any, str | None]


def open_input(path: str, what: str = "orders") -> IO[str]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    try:
        return Path(path).open(encoding="utf-8-sig", newline="")  # a BOM (Excel, Notepad) is not content
    except OSError as exc:
        raise OrderError([Problem(path, None, None, f"cannot read {what}: {exc.strerror}")]) from None


def close_input(path: str, stream: IO[str]) -> None:
    if isinstance(stream, io.TextIOWrapper) and path == "-":
        stream.detach()  # leave stdin open: a closed wrapper would close sys.stdin's buffer
    else:
        stream.close()
