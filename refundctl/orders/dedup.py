"""Duplicate order ids across a run, found batch by batch with the ids kept on disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from refundctl.errors import Problem

CHUNK = 256  # records per batch: duplicate checks, and check --jobs tasks (but JSON Lines go in blocks of lines)
T = TypeVar("T")


class Dedup:
    """Order ids must be unique within a run; remembers where each was first seen.

    The ids live in a private temporary SQLite database on disk (SQLite caches a few
    pages in memory), so memory stays flat however many orders a run has. Records are
    checked a batch at a time. Where an id was first seen is kept as the index of its
    input (in ``_sources``, one entry per input) and its line: the message naming it is
    built only for a duplicate.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": temporary, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;"  # MEMORY: a refused batch rolls back
            "CREATE TABLE seen (id TEXT PRIMARY KEY, source INTEGER NOT NULL, line INTEGER NOT NULL) WITHOUT ROWID;"
        )
        self._sources: list[str] = []
        self._index: dict[str, int] = {}

    def _source(self, source: str) -> int:
        index = self._index.get(source)
        if index is None:
            index = self._index[source] = len(self._sources)
            self._sources.append(source)
        return index

    def first_seen(self, source: str, ids: Sequence[str], lines: Sequence[int]) -> list[tuple[int, Problem]]:
        """Remember ``ids`` (read from ``source`` at ``lines``); the duplicates among them, as (index, problem).

        The common case, ids never seen before and none twice in the batch, costs one
        insert of the batch and no work per id here: SQLite refuses the insert when an id
        is there already, and only then is the batch looked at id by id.
        """
        if len(set(ids)) == len(ids):
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    f"INSERT INTO seen VALUES (?, {self._source(source)}, ?)", zip(ids, lines, strict=True)
                )
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute("COMMIT")
                return []
        found = self.duplicates([(oid, source, line) for oid, line in zip(ids, lines, strict=True)])
        return [(index, problem) for index, problem in enumerate(found) if problem is not None]

    def duplicates(self, batch: Sequence[tuple[str | None, str, int]]) -> list[Problem | None]:
        """For each (order id or None, source, line): the duplicate-id problem, or None."""
        ids = [oid for oid, _, _ in batch if oid is not None]
        marks = ",".join("?" * len(ids))
        first = {oid: (source, line) for oid, source, line in self._db.execute(
            f"SELECT id, source, line FROM seen WHERE id IN ({marks})", ids)}  # fmt: skip
        out: list[Problem | None] = []
        new: list[tuple[str, int, int]] = []
        for oid, source, line in batch:
            if oid is None or oid not in first:
                out.append(None)
                if oid is not None:
                    first[oid] = (self._source(source), line)
                    new.append((oid, *first[oid]))
            else:
                at, at_line = first[oid]
                message = f"duplicate order id {oid!r} (first at {self._sources[at]}:{at_line})"
                out.append(Problem(source, line, "id", message))
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?)", new)
        self._db.execute("COMMIT")
        return out

    def close(self) -> None:
        self._db.close()


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
