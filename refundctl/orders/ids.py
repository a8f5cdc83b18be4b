"""Files of supplier order ids (``submit --fetch``): one id per line, blank lines and ``#`` comments ignored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from refundctl.errors import OrderError, Problem
from refundctl.orders.dedup import Dedup, chunks
from refundctl.orders.raw import NotText, TextLines, close_input, open_input


@dataclass(frozen=True, slots=True)
class IdLine:
    """A supplier order id and where it was read."""

    source: str
    line: int
    order_id: str


def read_order_ids(paths: Sequence[str]) -> list[IdLine]:
    """Order ids, one per line (blank lines and ``#`` comments ignored), or OrderError listing every bad line."""
    ids: list[IdLine] = []
    problems: list[Problem] = []
    for path in paths:
        source = "<stdin>" if path == "-" else path
        stream = open_input(path, "order ids")
        try:
            for number, text in enumerate(TextLines(stream), 1):
                value = text.strip()
                if not value or value.startswith("#"):
                    continue
                if len(value.split()) > 1:
                    problems.append(Problem(source, number, None, f"expected one order id per line, got {value!r}"))
                else:
                    ids.append(IdLine(source, number, value))
        except NotText as exc:
            problems.append(Problem(source, exc.line, None, str(exc)))
        finally:
            close_input(path, stream)
    dedup = Dedup()
    try:
        for batch in chunks(ids):
            found = dedup.duplicates([(i.order_id, i.source, i.line) for i in batch])
            problems.extend(p for p in found if p is not None)
    finally:
        dedup.close()
    if problems:
        rank = {("<stdin>" if path == "-" else path): n for n, path in enumerate(paths)}
        raise OrderError(sorted(problems, key=lambda p: (rank.get(p.file, 0), p.line or 0)))
    return ids
