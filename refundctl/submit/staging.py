"""A run's decided orders, in input order, on disk: what ``submit`` plans, sends and reports without holding them.

Each good record is decided and staged as it is read, a batch at a time, into a private temporary
SQLite database (as the reader's duplicate check keeps its ids), so memory does not grow with the
input. Nothing reaches the journal while staging: a bad record found last still means nothing is
planned or sent. The run then reads the stage back a page at a time, in input order, and records
each order's fate beside it as the pipeline reports it, so the output is written in input order
at the end without a dictionary of every fate.

Rows are pickled: the database is this process's own, unlinked by SQLite as it opens it, and read
back only by it (never a file anyone else wrote).
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from refundctl.submit.fates import Fate
from refundctl.submit.journal import Plan, Unsubmitted

PAGE = 500  # orders read back (and fates written) at a time


@dataclass(frozen=True, slots=True)
class Staged:
    """One decided order: as not sent (not eligible, or refused before sending with its note), and its plan.

    ``plan`` is today's decision's plan (None: not submitted); ``to_send`` is that plan unless it was
    refused before sending (``order.fate`` is then ``not_sent``)."""

    order: Unsubmitted
    plan: Plan | None
    digest: str  # the policies' it was decided under

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def to_send(self) -> Plan | None:
        return None if self.order.fate == "not_sent" else self.plan


class Staging:
    """The stage of one run (``with Staging() as stage:``); deleted when closed."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": temporary, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE staged (seq INTEGER PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, row BLOB NOT NULL, "
            "fate BLOB, lane TEXT);"
            "CREATE INDEX staged_lanes ON staged (lane, seq);"
        )
        self._fates: list[tuple[bytes, str]] = []
        self._lanes: list[tuple[str, str]] = []
        self.count = 0
        self.digests: set[str] = set()  # the policies' digests the orders were decided under (one, or none)
        self.targets: dict[str, None] = {}  # the targets of the plans to send, first staged first

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def add(self, batch: Sequence[Staged]) -> None:
        """Stage a batch of decided orders, after those already staged."""
        rows = [(s.order_id, pickle.dumps(s, pickle.HIGHEST_PROTOCOL)) for s in batch]
        self.digests.update(s.digest for s in batch)
        self.targets.update((plan.target, None) for s in batch if (plan := s.to_send) is not None)
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO staged (order_id, row) VALUES (?, ?)", rows)
        self._db.execute("COMMIT")
        self.count += len(rows)

    def _rows(self, columns: str, lane: str | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` of every staged order (or ``lane``'s), in input order, ``PAGE`` rows at a time (what was
        recorded, flushed first)."""
        self._flush()
        last = 0
        only = "" if lane is None else "lane = ? AND "
        while True:
            rows = self._db.execute(
                f"SELECT seq, {columns} FROM staged WHERE {only}seq > ? ORDER BY seq LIMIT ?",
                (last, PAGE) if lane is None else (lane, last, PAGE),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [row[1:] for row in rows]

    def pages(self) -> Iterator[list[Staged]]:
        """Every staged order, in input order, ``PAGE`` at a time."""
        for rows in self._rows("row"):
            yield [pickle.loads(row) for (row,) in rows]

    def id_pages(self, lane: str | None = None) -> Iterator[list[str]]:
        """Every staged order's id (of those assigned to ``lane`` only, with one), in input order, ``PAGE`` at a
        time."""
        for rows in self._rows("order_id", lane):
            yield [order_id for (order_id,) in rows]

    def assign(self, order_id: str, lane: str) -> None:
        """The lane (a target's name) the order's journaled refund is sent through this run (written a page at a
        time)."""
        self._lanes.append((lane, order_id))
        if len(self._lanes) >= PAGE:
            self._flush()

    def __iter__(self) -> Iterator[Staged]:
        """Every staged order, in input order."""
        for page in self.pages():
            yield from page

    def record(self, fate: Fate) -> None:
        """What became of a staged order this run (written a page at a time)."""
        self._fates.append((pickle.dumps(fate, pickle.HIGHEST_PROTOCOL), fate.order_id))
        if len(self._fates) >= PAGE:
            self._flush()

    def fates(self, otherwise: Callable[[Staged], Fate]) -> Iterator[Fate]:
        """Every staged order's fate, in input order: the one recorded this run, or ``otherwise`` of the order."""
        for rows in self._rows("fate, row"):
            for fate, row in rows:
                yield otherwise(pickle.loads(row)) if fate is None else pickle.loads(fate)

    def _flush(self) -> None:
        for column, pending in (("fate", self._fates), ("lane", self._lanes)):
            if pending:
                self._db.execute("BEGIN")
                self._db.executemany(f"UPDATE staged SET {column} = ? WHERE order_id = ?", pending)
                self._db.execute("COMMIT")
                pending.clear()
