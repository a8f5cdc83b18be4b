"""The submit journal: one SQLite row per leg of each order's refund, so no leg is lost or doubled.

A refund settles as up to two legs: the supplier's share through the supplier (table
``refunds``, one row per order, which also holds the order's plan) and the platform's
share through the payment provider (table ``platform_legs``, for orders with one). Each
leg has its own idempotency key, amount and state, fixed when first planned: planned ->
sent -> accepted | rejected | failed; a supplier leg of zero is ``skipped`` (nothing to
send), and a platform leg without a payments provider is ``manual`` (to be paid by hand).
A key never changes once planned, and everything later only moves a leg forward, so any
state lost in a crash means at worst a resend with the same key, which the provider
replays instead of creating a second refund.

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
SCHEMA_VERSION = 3
State = Literal["planned", "sent", "accepted", "rejected", "failed", "skipped", "manual"]
Payer = Literal["supplier", "platform"]
PAYERS: tuple[Payer, ...] = ("supplier", "platform")

# Every leg table's state columns after ``state`` (LegState's fields).
_STATE_COLUMNS = """
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
"""
_LEG_TABLES = f"""
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
    state TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'accepted', 'rejected', 'failed', 'skipped')),
    {_STATE_COLUMNS}
);
CREATE TABLE platform_legs (
    order_id TEXT PRIMARY KEY REFERENCES refunds (order_id),
    idempotency_key TEXT NOT NULL UNIQUE,
    amount TEXT NOT NULL,
    payment_reference TEXT,
    state TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'accepted', 'rejected', 'failed', 'manual')),
    {_STATE_COLUMNS}
);
"""
_SCHEMA = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + _LEG_TABLES
# Schema 1 journaled whole refunds through the supplier: each of its rows is a supplier leg as it is.
_FROM_1 = f"""
ALTER TABLE refunds RENAME TO refunds_1;
{_LEG_TABLES}
INSERT INTO refunds SELECT * FROM refunds_1;
DROP TABLE refunds_1;
"""
# Schema 3: whether due_by rests on a holiday calendar not yet officially published (CAAC's
# working days into an unannounced year); journals of schema 2 had no such dates.
_FROM_2 = (
    "ALTER TABLE refunds ADD COLUMN due_by_provisional INTEGER NOT NULL DEFAULT 0 CHECK (due_by_provisional IN (0, 1));"
)
_TABLES: dict[Payer, str] = {"supplier": "refunds", "platform": "platform_legs"}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class PlatformPlan:
    """The platform's share of a refund: paid through the payment provider against the order's payment."""

    idempotency_key: str
    amount: Decimal
    payment_reference: str | None  # None: no provider can send it (it is paid by hand)


@dataclass(frozen=True, slots=True)
class Plan:
    """What will be sent for one order; fixed for the life of the journal.

    ``idempotency_key`` and ``amount`` are the supplier leg's (the supplier's share);
    ``platform`` is the platform's share, if the decision has one.
    """

    order_id: str
    idempotency_key: str
    amount: Decimal
    currency: str
    outcome: str
    reason: str | None
    waivers: tuple[str, ...]
    due_by: date | None
    platform: PlatformPlan | None = None
    due_by_provisional: bool = False  # due_by counts into a year whose official holidays are not published

    @property
    def decided(self) -> Decimal:
        """The whole refund decided: every leg's amount."""
        return self.amount + (self.platform.amount if self.platform else Decimal(0))


@dataclass(frozen=True, slots=True, kw_only=True)
class LegState:
    """Where one leg stands, as journaled: the same fields for the supplier's leg and the platform's."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg(LegState):
    """One leg as read back: who pays, under which key, how much, and where it stands."""

    payer: Payer
    idempotency_key: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry(LegState):
    """One order as read back: its plan, its supplier leg's state (the inherited fields), its platform leg."""

    plan: Plan
    platform: Leg | None = None

    @property
    def order_id(self) -> str:
        return self.plan.order_id

    @property
    def supplier(self) -> Leg:
        state = {f: getattr(self, f) for f in LegState.__dataclass_fields__}
        return Leg(payer="supplier", idempotency_key=self.plan.idempotency_key, amount=self.plan.amount, **state)

    @property
    def legs(self) -> tuple[Leg, ...]:
        """The legs that carry money, supplier first (a skipped supplier leg of zero is none)."""
        supplier = () if self.state == "skipped" else (self.supplier,)
        return (*supplier, *((self.platform,) if self.platform else ()))


# The state columns every leg table has (LegState's fields).
_LEG_STATE = (
    "state, attempts, sent_amount, quote_id, quote_amount, refund_id, refund_status, answer, error_type, error, "
    "created_at, updated_at, sent_at, synced_at"
)
_COLUMNS = (
    f"order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, due_by_provisional, {_LEG_STATE}"
)
_PLATFORM_COLUMNS = f"order_id, idempotency_key, amount, payment_reference, {_LEG_STATE}"


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _leg_state(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "state": row["state"],
        "attempts": row["attempts"],
        "sent_amount": _dec(row["sent_amount"]),
        "quote_id": row["quote_id"],
        "quote_amount": _dec(row["quote_amount"]),
        "refund_id": row["refund_id"],
        "refund_status": row["refund_status"],
        "answer": None if row["answer"] is None else json.loads(row["answer"]),
        "error_type": row["error_type"],
        "error": row["error"],
        "created_at": datetime.fromisoformat(row["created_at"]),
        "updated_at": datetime.fromisoformat(row["updated_at"]),
        "sent_at": _dt(row["sent_at"]),
        "synced_at": _dt(row["synced_at"]),
    }


def _platform_leg(row: sqlite3.Row) -> tuple[PlatformPlan, Leg]:
    plan = PlatformPlan(row["idempotency_key"], Decimal(row["amount"]), row["payment_reference"])
    return plan, Leg(payer="platform", idempotency_key=plan.idempotency_key, amount=plan.amount, **_leg_state(row))


def _entry(row: sqlite3.Row, platform: sqlite3.Row | None) -> Entry:
    leg = None if platform is None else _platform_leg(platform)
    plan = Plan(
        order_id=row["order_id"],
        idempotency_key=row["idempotency_key"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        outcome=row["outcome"],
        reason=row["reason"],
        waivers=tuple(json.loads(row["waivers"])),
        due_by=None if row["due_by"] is None else date.fromisoformat(row["due_by"]),
        due_by_provisional=bool(row["due_by_provisional"]),
        platform=None if leg is None else leg[0],
    )
    return Entry(plan=plan, **_leg_state(row), platform=None if leg is None else leg[1])


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
                f"BEGIN IMMEDIATE; {_SCHEMA} {_FROM_2} PRAGMA application_id={APPLICATION_ID}; "
                f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        elif app_id != APPLICATION_ID:
            raise JournalError(f"{path} is an SQLite file but not a refundctl journal; pass another --journal")
        elif version in (1, 2):
            steps = (_FROM_1 if version == 1 else "") + _FROM_2
            db.executescript(f"BEGIN IMMEDIATE; {steps} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
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
        if row is None:
            return None
        platform = self._db.execute(
            f"SELECT {_PLATFORM_COLUMNS} FROM platform_legs WHERE order_id = ?", (order_id,)
        ).fetchone()
        return _entry(row, platform)

    def entries(self) -> list[Entry]:
        """Every order, in planning order."""
        platform = {r["order_id"]: r for r in self._db.execute(f"SELECT {_PLATFORM_COLUMNS} FROM platform_legs")}
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM refunds ORDER BY seq")
        return [_entry(row, platform.get(row["order_id"])) for row in rows]

    # -- writing: each call is one committed transaction ------------------------------

    def plan(self, plans: Iterable[Plan]) -> int:
        """Insert the plans of orders not yet journaled, all in one transaction; returns how many."""
        now = _iso(self._clock())
        plans = list(plans)
        with self._errors("cannot plan"), self._transaction():
            cursor = self._db.executemany(
                "INSERT INTO refunds (order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, "
                "due_by_provisional, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?) "
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
                        int(p.due_by_provisional),
                        now,
                        now,
                    )
                    for p in plans
                ),
            )
            inserted = cursor.rowcount
            # A platform leg joins only the supplier leg planned with it (same key): an order journaled
            # earlier under another plan (e.g. the whole refund through the supplier) keeps that plan.
            self._db.executemany(
                "INSERT INTO platform_legs (order_id, idempotency_key, amount, payment_reference, state, created_at, "
                "updated_at) SELECT ?, ?, ?, ?, 'planned', ?, ? "
                "WHERE EXISTS (SELECT 1 FROM refunds WHERE order_id = ? AND idempotency_key = ?) "
                "ON CONFLICT (order_id) DO NOTHING",
                (
                    (
                        p.order_id,
                        p.platform.idempotency_key,
                        str(p.platform.amount),
                        p.platform.payment_reference,
                        now,
                        now,
                        p.order_id,
                        p.idempotency_key,
                    )
                    for p in plans
                    if p.platform is not None
                ),
            )
        return inserted

    def _update(self, order_id: str, sets: str, params: Sequence[object], payer: Payer = "supplier") -> Entry:
        """One committed transition of one leg; returns the order as committed."""
        now = _iso(self._clock())
        # One statement in autocommit mode is one transaction, committed when execute returns.
        with self._errors(f"cannot record order {order_id}"):
            cursor = self._db.execute(
                f"UPDATE {_TABLES[payer]} SET {sets}, updated_at = ? WHERE order_id = ?", (*params, now, order_id)
            )
        entry = self.get(order_id) if cursor.rowcount else None
        if entry is None:
            what = "is not" if payer == "supplier" else "has no platform leg"
            raise JournalError(f"order {order_id} {what} in journal {self.path}")
        return entry

    def mark_sent(
        self,
        order_id: str,
        amount: Decimal,
        quote_id: str | None,
        quote_amount: Decimal | None,
        *,
        payer: Payer = "supplier",
    ) -> Entry:
        """Committed before the request leaves: the exact body a rerun must resend."""
        return self._update(
            order_id,
            "state = 'sent', sent_amount = ?, quote_id = ?, quote_amount = ?, sent_at = ?",
            (str(amount), quote_id, None if quote_amount is None else str(quote_amount), _iso(self._clock())),
            payer,
        )

    def mark_accepted(
        self,
        order_id: str,
        *,
        refund_id: str,
        status: str,
        answer: dict[str, Any],
        attempts: int,
        payer: Payer = "supplier",
    ) -> Entry:
        return self._update(
            order_id,
            "state = 'accepted', refund_id = ?, refund_status = ?, answer = ?, attempts = attempts + ?, "
            "error_type = NULL, error = NULL, synced_at = ?",
            (refund_id, status, json.dumps(answer), attempts, _iso(self._clock())),
            payer,
        )

    def mark_rejected(
        self,
        order_id: str,
        *,
        error_type: str | None,
        error: str,
        attempts: int,
        quote_amount: Decimal | None = None,
        payer: Payer = "supplier",
    ) -> Entry:
        """A final answer: the provider refused this leg (or the quote check did)."""
        return self._update(
            order_id,
            "state = 'rejected', error_type = ?, error = ?, attempts = attempts + ?, "
            "quote_amount = coalesce(?, quote_amount)",
            (error_type, error, attempts, None if quote_amount is None else str(quote_amount)),
            payer,
        )

    def mark_failed(self, order_id: str, *, error: str, attempts: int, payer: Payer = "supplier") -> Entry:
        """No usable answer after every retry; ``--retry-failed`` resends with the same key."""
        return self._update(
            order_id,
            "state = 'failed', error_type = 'transport', error = ?, attempts = attempts + ?",
            (error, attempts),
            payer,
        )

    def mark_skipped(self, order_id: str) -> Entry:
        """A supplier leg of zero: the supplier owes nothing, nothing is sent."""
        return self._update(order_id, "state = 'skipped'", ())

    def mark_manual(self, order_id: str, reason: str) -> Entry:
        """A platform leg with no payments provider to send it: to be paid by hand (and reconciled)."""
        return self._update(order_id, "state = 'manual', error = ?", (reason,), "platform")

    def record_status(self, order_id: str, *, status: str, answer: dict[str, Any], payer: Payer = "supplier") -> Entry:
        """The leg's latest state from its provider (``track --sync``)."""
        return self._update(
            order_id,
            "refund_status = ?, answer = ?, synced_at = ?",
            (status, json.dumps(answer), _iso(self._clock())),
            payer,
        )
