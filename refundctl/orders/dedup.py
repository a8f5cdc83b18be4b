"""Duplicate order ids across a run, found batch by batch with the ids kept on disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from refundctl.errors import Problem

CHUNK = 256  # records per batch: duplicate checks, and check --jobs tasks
T = TypeVar("T")


class Dedup:
    """Order ids must be unique within a run; remembers where each was first seen.

    The ids live in a private temporary SQLite database on disk (SQLite caches a few
    pages in memory), so memory stays flat however many orders a run has. Records are
    checked a batch at a time: one query and one insert per batch.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": temporary, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE seen (id TEXT PRIMARY KEY, first TEXT NOT NULL) WITHOUT ROWID;"
        )

    def duplicates(self, batch: Sequence[tuple[str | None, str, int]]) -> list[Problem | None]:
        """For each (order id or None, source, line): the duplicate-id problem, or None."""
        ids = [oid for oid, _, _ in batch if oid is not None]
        marks = ",".join("?" * len(ids))
        first: dict[str, str] = dict(self._db.execute(f"SELECT id, first FROM seen WHERE id IN ({marks})", ids))
        out: list[Problem | None] = []
        new: list[tuple[str, str]] = []
        for oid, source, line in batch:
            if oid is None or oid not in first:
                out.append(None)
                if oid is not None:
                    first[oid] = f"{source}:{line}"
                    new.append((oid, first[oid]))
            else:
                out.append(Problem(source, line, "id", f"duplicate order id {oid!r} (first at {first[oid]})"))
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?, ?)", new)
        self._db.execute("COMMIT")
        return out

    def close(self) -> None:
        self._db.close()


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
