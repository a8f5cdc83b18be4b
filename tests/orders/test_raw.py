"""JSON Lines read in blocks (``TextLines.blocks``, split by ``block_records``) give exactly the
records, lines and UTF-8 errors of reading line by line, wherever the blocks happen to end."""

from __future__ import annotations

import io
import random

import pytest

from refundctl.orders.json_formats import block_records, jsonl_records
from refundctl.orders.raw import NotText, RawItem, TextLines

PIECES = [b'{"id": "A"}', b"\n", b"\r\n", b"", b"  ", b"\xc2\xa0", b"\x1c", b"\xe2\x80\xa8", b"\xef\xbb\xbf",
          b"\xe6\x97\xa5", b"\xff", b"\xe6\x97", b"\xc3", b'{"a":\n', b"x" * 40]  # fmt: skip


def _read(data: bytes, size: int | None) -> tuple[list[RawItem], tuple[int, str] | None]:
    """(records, (line, message) of NotText or None): line by line when ``size`` is None, else in blocks."""
    lines = TextLines(io.BytesIO(data))
    records: list[RawItem] = []
    try:
        if size is None:
            records += jsonl_records("f.jsonl", lines)
        else:
            records += jsonl_records("f.jsonl", [next(lines, "")] if data else [])
            for block in lines.blocks("f.jsonl", size):
                records += block_records(block)
    except NotText as exc:
        return records, (exc.line, str(exc))
    return records, None


@pytest.mark.parametrize("seed", range(150))
def test_blocks_read_what_lines_read(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
    expected = _read(data, None)
    for size in (1, 2, 3, 5, 8, 13, 64, 1 << 17):
        assert _read(data, size) == expected, (data, size)


def test_invalid_utf8_is_reported_at_its_line_and_byte_and_ends_the_input() -> None:
    data = b'{"id": "A"}\n\n{"id": "B"}\n{"id": "\xff"}\n{"id": "C"}\n'
    records, error = _read(data, 8)
    assert [(r.line, r.data) for r in records] == [(1, b'{"id": "A"}\n'), (3, b'{"id": "B"}\n')]
    assert error == (4, "not UTF-8 text at byte 33: invalid start byte")


def test_a_line_longer_than_a_block_is_read_whole() -> None:
    long = b'{"id": "' + b"x" * 1000 + b'"}'
    records, error = _read(b"{}\n" + long + b"\n{}", 16)
    assert error is None
    assert [(r.line, r.data) for r in records] == [(1, b"{}\n"), (2, long + b"\n"), (3, b"{}")]
