"""The submit journal: one SQLite row per order, so no refund is lost or doubled.

Each row is the plan for one order (its idempotency key, amount and currency,
fixed when first planned) and its state: planned -> sent -> accepted | rejected |
failed. The key never changes once planned, and everything later only moves a
row forward, so any state lost in a crash means at worst a resend with the same
key, which the supplier replays instead of creating a second refund.

Commits, and why the one batch is safe:

- All ``planned`` rows of a run are inserted in one transaction, before any
  request is sent: a crash before it commits sent nothing. Every other step is
  its own commit, made before the next step starts.
- ``sent`` is committed before its request leaves, with the exact body
  (amount, quote id): a rerun resends that very body, because the supplier
  rejects a known key with another body (and a fresh quote has a new id).
- ``accepted``/``rejected``/``failed`` are committed as each answer arrives;
  lost, they leave the row ``sent``, which a rerun resends with the same key.
- WAL with ``synchronous=NORMAL``: a commit survives SIGKILL of this process
  (it is in the WAL file); only an OS crash or power cut may roll back the last
  commits, and rolled-back rows are again planned or sent: resent, same key.

A lost journal, or a second machine, plans the same keys again (they derive
from the refund itself): the supplier replays them, and an adapter that meets
"key used with another body" (another quote id) finds the existing refund.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from refundctl.errors import JournalError

APPLICATION_ID = 0x52464E44  # "RFND": tells our journals from any other SQLite file
SCHEMA_VERSION = 1
State = Literal["planned", "sent", "accepted", "rejected", "failed"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE refunds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    waivers TEXT NOT NULL,
    due_by TEXT,
    state TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'accepted', 'rejected', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_amount TEXT,
    quote_id TEXT,
    quote_amount TEXT,
    refund_id TEXT,
    refund_status TEXT,
    answer TEXT,
    error_type TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    synced_at TEXT
);
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Plan:
    """What will be sent for one order; fixed for the life of the journal."""

    order_id: str
    idempotency_key: str
    amount: Decimal
    currency: str
    outcome: str
    reason: str | None
    waivers: tuple[str, ...]
    due_by: date | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal row as read back."""

    plan: Plan
    state: State
    attempts: int
    sent_amount: Decimal | None
    quote_id: str | None
    quote_amount: Decimal | None
    refund_id: str | None
    refund_status: str | None
    answer: dict[str, Any] | None
    error_type: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    synced_at: datetime | None

    @property
    def order_id(self) -> str:
        return self.plan.order_id


_COLUMNS = (
    "order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, state, attempts, sent_amount, "
    "quote_id, quote_amount, refund_id, refund_status, answer, error_type, error, created_at, updated_at, sent_at, "
    "synced_at"
)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _entry(row: sqlite3.Row) -> Entry:
    plan = Plan(
        order_id=row["order_id"],
        idempotency_key=row["idempotency_key"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        outcome=row["outcome"],
        reason=row["reason"],
        waivers=tuple(json.loads(row["waivers"])),
        due_by=None if row["due_by"] is None else date.fromisoformat(row["due_by"]),
    )
    return Entry(
        plan=plan,
        state=row["state"],
        attempts=row["attempts"],
        sent_amount=_dec(row["sent_amount"]),
        quote_id=row["quote_id"],
        quote_amount=_dec(row["quote_amount"]),
        refund_id=row["refund_id"],
        refund_status=row["refund_status"],
        answer=None if row["answer"] is None else json.loads(row["answer"]),
        error_type=row["error_type"],
        error=row["error"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        sent_at=_dt(row["sent_at"]),
        synced_at=_dt(row["synced_at"]),
    )


class Journal:
    """A journal file; ``Journal.open`` creates it or checks it is ours."""

    def __init__(self, db: sqlite3.Connection, path: Path, clock: Callable[[], datetime]) -> None:
        self._db = db
        self.path = path
        self._clock = clock

    @classmethod
    def open(cls, path: Path, *, create: bool = True, clock: Callable[[], datetime] = _now) -> Journal:
        if not create and not path.is_file():
            raise JournalError(f"no journal at {path} (submit creates it; pass --journal to name another)")
        try:
            db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {path}: {exc}") from None
        try:
            cls._prepare(db, path)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JournalError(f"{path} is not a refundctl journal ({exc})") from None
        except JournalError:
            db.close()
            raise
        db.row_factory = sqlite3.Row
        return cls(db, path, clock)

    @staticmethod
    def _prepare(db: sqlite3.Connection, path: Path) -> None:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id == 0 and tables == 0:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        elif app_id != APPLICATION_ID:
            raise JournalError(f"{path} is an SQLite file but not a refundctl journal; pass another --journal")
        elif version != SCHEMA_VERSION:
            raise JournalError(f"{path} has journal schema {version}; this refundctl reads schema {SCHEMA_VERSION}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """SQLite failures (a clash, a full disk, another process holding the lock) as a JournalError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: {what}: {exc}") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Several statements, one commit (the connection is otherwise in autocommit mode)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- the run's identity -------------------------------------------------------------

    def bind(self, **values: str) -> None:
        """Record ``values`` (api, adapter, policy digest) on first use; refuse a journal bound to others.

        Resending a journal's keys to another API, or planning under other
        policies, would defeat the journal: those are different runs.
        """
        with self._errors("cannot bind"), self._transaction():
            for key, value in values.items():
                row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
                elif row[0] != value:
                    raise JournalError(
                        f"{self.path} belongs to another run ({key} {row[0]!r}, not {value!r}); pass another --journal"
                    )

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- reading ------------------------------------------------------------------------

    def get(self, order_id: str) -> Entry | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM refunds WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else _entry(row)

    def entries(self) -> list[Entry]:
        """Every row, in planning order."""
        return [_entry(row) for row in self._db.execute(f"SELECT {_COLUMNS} FROM refunds ORDER BY seq")]

    # -- writing: each call is one committed transaction ------------------------------

    def plan(self, plans: Iterable[Plan]) -> int:
        """Insert the plans of orders not yet journaled, all in one transaction; returns how many."""
        now = _iso(self._clock())
        with self._errors("cannot plan"), self._transaction():
            cursor = self._db.executemany(
                "INSERT INTO refunds (order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, "
                "state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?) "
                "ON CONFLICT (order_id) DO NOTHING",
                (
                    (
                        p.order_id,
                        p.idempotency_key,
                        str(p.amount),
                        p.currency,
                        p.outcome,
                        p.reason,
                        json.dumps(list(p.waivers)),
                        None if p.due_by is None else p.due_by.isoformat(),
                        now,
                        now,
                    )
                    for p in plans
                ),
            )
        return cursor.rowcount

    def _update(self, order_id: str, sets: str, params: Sequence[object]) -> Entry:
        """One committed transition; returns the row as committed."""
        now = _iso(self._clock())
        # One statement in autocommit mode is one transaction; fetchall() runs it to completion,
        # which is when SQLite commits it.
        with self._errors(f"cannot record order {order_id}"):
            rows = self._db.execute(
                f"UPDATE refunds SET {sets}, updated_at = ? WHERE order_id = ? RETURNING {_COLUMNS}",
                (*params, now, order_id),
            ).fetchall()
        if not rows:
            raise JournalError(f"order {order_id} is not in journal {self.path}")
        return _entry(rows[0])

    def mark_sent(self, order_id: str, amount: Decimal, quote_id: str | None, quote_amount: Decimal | None) -> Entry:
        """Committed before the request leaves: the exact body a rerun must resend."""
        return self._update(
            order_id,
            "state = 'sent', sent_amount = ?, quote_id = ?, quote_amount = ?, sent_at = ?",
            (str(amount), quote_id, None if quote_amount is None else str(quote_amount), _iso(self._clock())),
        )

    def mark_accepted(
        self, order_id: str, *, refund_id: str, status: str, answer: dict[str, Any], attempts: int
    ) -> Entry:
        return self._update(
            order_id,
            "state = 'accepted', refund_id = ?, refund_status = ?, answer = ?, attempts = attempts + ?, "
            "error_type = NULL, error = NULL, synced_at = ?",
            (refund_id, status, json.dumps(answer), attempts, _iso(self._clock())),
        )

    def mark_rejected(
        self, order_id: str, *, error_type: str | None, error: str, attempts: int, quote_amount: Decimal | None = None
    ) -> Entry:
        """A final answer: the supplier refused this refund (or the quote check did)."""
        return self._update(
            order_id,
            "state = 'rejected', error_type = ?, error = ?, attempts = attempts + ?, "
            "quote_amount = coalesce(?, quote_amount)",
            (error_type, error, attempts, None if quote_amount is None else str(quote_amount)),
        )

    def mark_failed(self, order_id: str, *, error: str, attempts: int) -> Entry:
        """No usable answer after every retry; ``--retry-failed`` resends with the same key."""
        return self._update(
            order_id,
            "state = 'failed', error_type = 'transport', error = ?, attempts = attempts + ?",
            (error, attempts),
        )

    def record_status(self, order_id: str, *, status: str, answer: dict[str, Any]) -> Entry:
        """The refund's latest state from the supplier (``track --sync``)."""
        return self._update(
            order_id,
            "refund_status = ?, answer = ?, synced_at = ?",
            (status, json.dumps(answer), _iso(self._clock())),
        )
