"""The submit journal: one SQLite row per leg of each order's refund, so no leg is lost or doubled.

A refund settles as up to two legs: the supplier's share through the supplier (table
``refunds``, one row per order, which also holds the order's plan) and the platform's
share through the payment provider (table ``platform_legs``, for orders with one). Each
leg has its own idempotency key, amount and state, fixed when first planned: planned ->
sent -> accepted | rejected | failed; a supplier leg of zero is ``skipped`` (nothing to
send), and a platform leg without a payments provider is ``manual`` (to be paid by hand), until a
person records the payment: ``paid_by_hand``, with its reference (``settle``).
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

Guards (each enforced where it cannot be bypassed):

- One process at a time per journal: ``open(lock=True)`` takes an exclusive ``flock`` on the
  file (released by the kernel whatever kills the holder) and records the holder (pid, host,
  since) in ``meta``, so a second run is refused with a message naming it.
- States only move forward, in SQL: a trigger per leg table aborts any other transition
  (``_FORWARD``), whoever writes. A final leg (accepted, skipped, paid_by_hand, rejected for
  another reason than its quote) never moves again; a manual leg moves only to paid_by_hand.
- Created 0600: the journal holds order ids, amounts and provider ids.
- Damage (a corrupt page, a truncated file, a cell that is not what was written) is a
  ``JournalError`` saying "journal damaged", naming the file and the row where it can.

A lost journal, or a second machine, plans the same keys again (they derive
from the refund itself): the supplier replays them, and an adapter that meets
"key used with another body" (another quote id) finds the existing refund.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from refundctl.errors import JournalError
from refundctl.orders.dedup import chunks

APPLICATION_ID = 0x52464E44  # "RFND": tells our journals from any other SQLite file
SCHEMA_VERSION = 6
State = Literal["planned", "sent", "accepted", "rejected", "failed", "skipped", "manual", "paid_by_hand"]
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
_REFUNDS_TABLE = f"""
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
"""
_PLATFORM_TABLE = f"""
CREATE TABLE platform_legs (
    order_id TEXT PRIMARY KEY REFERENCES refunds (order_id),
    idempotency_key TEXT NOT NULL UNIQUE,
    amount TEXT NOT NULL,
    payment_reference TEXT,
    state TEXT NOT NULL
        CHECK (state IN ('planned', 'sent', 'accepted', 'rejected', 'failed', 'manual', 'paid_by_hand')),
    {_STATE_COLUMNS}
);
"""
_LEG_TABLES = _REFUNDS_TABLE + _PLATFORM_TABLE
# old -> new state: the only transitions any writer may make (a resend keeps ``sent``; a quote
# mismatch is the one rejection that may be retried: nothing was sent under it; a leg to be paid by hand
# moves once more, when a person records its payment).
_ALLOWED = """
    (OLD.state = 'planned' AND NEW.state IN ('sent', 'rejected', 'failed', 'skipped', 'manual'))
    OR (OLD.state = 'sent' AND NEW.state IN ('sent', 'accepted', 'rejected', 'failed'))
    OR (OLD.state = 'failed' AND NEW.state IN ('sent', 'accepted', 'rejected', 'failed'))
    OR (OLD.state = 'rejected' AND OLD.error_type = 'quote_mismatch' AND NEW.state IN ('sent', 'rejected', 'failed'))
    OR (OLD.state = 'manual' AND NEW.state = 'paid_by_hand')
"""
_FORWARD = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_forward BEFORE UPDATE OF state ON {table} WHEN NOT ({_ALLOWED}) "
    f"BEGIN SELECT RAISE(ABORT, 'a leg''s state only moves forward'); END;"
    for table in ("refunds", "platform_legs")
)
_SCHEMA = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + _LEG_TABLES + _FORWARD
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
# Schema 4: every input order that is not journaled as a refund (not eligible, or refused before sending), with
# its outcome and reason, so that a report counts every order a run decided; journals of schema 3 had none.
_FROM_3 = """
CREATE TABLE unsubmitted (
    order_id TEXT PRIMARY KEY,
    fate TEXT NOT NULL CHECK (fate IN ('not_eligible', 'not_sent')),
    outcome TEXT NOT NULL,
    currency TEXT NOT NULL,
    decided TEXT NOT NULL,
    reason TEXT,
    note TEXT,
    decided_at TEXT NOT NULL
);
"""
# Schema 5: the target (a routed profile's name for an API) each refund's supplier leg is sent through; ''
# for a run with one API, as every journal of schema 4 was.
_FROM_4 = "ALTER TABLE refunds ADD COLUMN target TEXT NOT NULL DEFAULT '';"
# Schema 6: a platform leg paid by hand is recorded (``paid_by_hand``); SQLite cannot widen a CHECK, so the
# table is made anew, and the triggers with the transition allowed.
_FROM_5 = f"""
DROP TRIGGER IF EXISTS refunds_forward;
DROP TRIGGER IF EXISTS platform_legs_forward;
ALTER TABLE platform_legs RENAME TO platform_legs_5;
{_PLATFORM_TABLE}
INSERT INTO platform_legs SELECT * FROM platform_legs_5;
DROP TABLE platform_legs_5;
{_FORWARD}
"""
# The states of a leg whose money has left without a send on record: accepted, or handed over to be paid by hand.
_LEFT: tuple[State, ...] = ("accepted", "manual", "paid_by_hand")
_LEFT_SQL = ", ".join(f"'{state}'" for state in _LEFT)
_TABLES: dict[Payer, str] = {"supplier": "refunds", "platform": "platform_legs"}
_ALL_TABLES = frozenset({"meta", "refunds", "platform_legs", "unsubmitted"})
_CHUNK = 1000  # plans inserted per statement: a run of any size is one transaction, never one list


def _bound(field: str, target: str) -> str:
    """The meta key a target's ``api`` or ``adapter`` is bound under (the run's one API: the field alone)."""
    return f"{field}:{target}" if target else field


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
    target: str = ""  # the routed profile's target the supplier leg goes through ("": the run's one API)

    @property
    def decided(self) -> Decimal:
        """The whole refund decided: every leg's amount."""
        return self.amount + (self.platform.amount if self.platform else Decimal(0))


@dataclass(frozen=True, slots=True)
class Unsubmitted:
    """An input order not journaled as a refund: not eligible (its outcome is not submitted), or refused before
    anything was sent (``not_sent``, ``note`` says why); kept with its outcome and reason for reports."""

    order_id: str
    fate: Literal["not_eligible", "not_sent"]
    outcome: str
    currency: str
    decided: Decimal
    reason: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class HandPaid:
    """A platform leg recorded paid by hand: its order, the payment's reference, and whether this call recorded
    it (False: the same reference was recorded before, nothing changed)."""

    order_id: str
    reference: str
    amount: Decimal
    currency: str
    recorded: bool


class _Refused(Exception):
    """Hand payments refused (input index, why): the transaction recording them is rolled back."""

    def __init__(self, refusals: list[tuple[int, str]]) -> None:
        super().__init__(refusals)
        self.refusals = refusals


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
    "order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, due_by_provisional, target, "
    f"{_LEG_STATE}"
)
_PLATFORM_COLUMNS = f"order_id, idempotency_key, amount, payment_reference, {_LEG_STATE}"


class _Cell(Exception):
    """A journal cell that does not read back as what was written: its column and why."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(f"{column}: {problem}")


def _read(row: sqlite3.Row, column: str, convert: Callable[[Any], Any], *, null: bool = True) -> Any:
    value = row[column]
    if value is None:
        if null:
            return None
        raise _Cell(column, "empty")
    if convert is _text and type(value) is str:  # most cells: no call (this runs for every cell of every run)
        return value
    try:
        return convert(value)
    except (ValueError, TypeError, InvalidOperation, OverflowError) as exc:
        raise _Cell(column, f"{str(value)[:40]!r} is not {getattr(convert, 'what', 'readable')}") from exc


def _what(description: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def name(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
        convert.what = description  # type: ignore[attr-defined]
        return convert

    return name


@_what("an amount")
def _amount(text: Any) -> Decimal:
    value = Decimal(text) if isinstance(text, str) else Decimal("NaN")
    if not value.is_finite():
        raise ValueError(text)
    return value


@_what("a UTC instant")
def _instant(text: Any) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(text)
    return value


@_what("a date")
def _date(text: Any) -> date:
    return date.fromisoformat(text)


@_what("a JSON object")
def _object(text: Any) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


@_what("a JSON list of strings")
def _strings(text: Any) -> tuple[str, ...]:
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(text)
    return tuple(value)


@_what("a flag (0 or 1)")
def _flag(value: Any) -> bool:
    if value not in (0, 1) or not isinstance(value, int):
        raise ValueError(value)
    return bool(value)


@_what("text")
def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


@_what("a count")
def _count(value: Any) -> int:
    if not isinstance(value, int):
        raise TypeError(value)
    return value


def _leg_state(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "state": _read(row, "state", _text, null=False),
        "attempts": _read(row, "attempts", _count, null=False),
        "sent_amount": _read(row, "sent_amount", _amount),
        "quote_id": _read(row, "quote_id", _text),
        "quote_amount": _read(row, "quote_amount", _amount),
        "refund_id": _read(row, "refund_id", _text),
        "refund_status": _read(row, "refund_status", _text),
        "answer": _read(row, "answer", _object),
        "error_type": _read(row, "error_type", _text),
        "error": _read(row, "error", _text),
        "created_at": _read(row, "created_at", _instant, null=False),
        "updated_at": _read(row, "updated_at", _instant, null=False),
        "sent_at": _read(row, "sent_at", _instant),
        "synced_at": _read(row, "synced_at", _instant),
    }


def _platform_leg(row: sqlite3.Row) -> tuple[PlatformPlan, Leg]:
    plan = PlatformPlan(
        _read(row, "idempotency_key", _text, null=False),
        _read(row, "amount", _amount, null=False),
        _read(row, "payment_reference", _text),
    )
    return plan, Leg(payer="platform", idempotency_key=plan.idempotency_key, amount=plan.amount, **_leg_state(row))


def _entry(row: sqlite3.Row, leg: tuple[PlatformPlan, Leg] | None) -> Entry:
    plan = Plan(
        order_id=_read(row, "order_id", _text, null=False),
        idempotency_key=_read(row, "idempotency_key", _text, null=False),
        amount=_read(row, "amount", _amount, null=False),
        currency=_read(row, "currency", _text, null=False),
        outcome=_read(row, "outcome", _text, null=False),
        reason=_read(row, "reason", _text),
        waivers=_read(row, "waivers", _strings, null=False),
        due_by=_read(row, "due_by", _date),
        due_by_provisional=_read(row, "due_by_provisional", _flag, null=False),
        platform=None if leg is None else leg[0],
        target=_read(row, "target", _text, null=False),
    )
    return Entry(plan=plan, **_leg_state(row), platform=None if leg is None else leg[1])


def _holder() -> str:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _iso(_now())})


def _sqlite_header(path: Path) -> bool:
    """Whether the file starts as every SQLite database does: then an unreadable one is damaged, not foreign."""
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


HOLDER_WAIT = 2.0  # seconds to wait for a run that just took the lock to say who it is


def _recorded_holder(path: Path) -> dict[str, Any] | None:
    """The holder the journal records, if it is readable and not a run of this host that is gone."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'holder'").fetchone()
        holder = json.loads(row[0])
        gone = holder["host"] == socket.gethostname() and not _alive(holder["pid"])
    except (sqlite3.Error, TypeError, ValueError, KeyError):
        return None
    return None if gone else dict(holder)


def _holder_of(path: Path) -> str:
    """Who holds the journal, as that run recorded itself: pid, host, since.

    A run records itself just after taking the lock (after making the journal, if new), and
    forgets itself on close: a refused run waits a moment for the record, so the message names
    the holder, not a run that ended.
    """
    deadline = time.monotonic() + HOLDER_WAIT
    while (holder := _recorded_holder(path)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if holder is None:
        return "another refundctl run (which did not say who it is)"
    return f"another refundctl run (pid {holder['pid']} on {holder['host']}, since {holder['since']})"


def _damaged(exc: sqlite3.Error) -> bool:
    """SQLite's own word that the file is corrupt or not a database (not a clash or a busy lock)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


class Journal:
    """A journal file; ``Journal.open`` creates it or checks it is ours."""

    def __init__(self, db: sqlite3.Connection, path: Path, clock: Callable[[], datetime], lock: int | None) -> None:
        self._db = db
        self.path = path
        self._clock = clock
        self._lock = lock
        self.was_empty = False  # an existing 0-byte file was made a new journal

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        lock: bool = False,
        clock: Callable[[], datetime] = _now,
        busy: str = "wait for it to finish, or stop it; a killed run releases the journal",
    ) -> Journal:
        """Open (and with ``create``, make) the journal at ``path``; with ``lock``, as its only writer (``busy``:
        what to do when another run holds it, said after naming that run).

        A 0-byte file is made a new journal only with ``create`` (submit), which says so
        (``was_empty``); read without it (track, reconcile) it is refused as no journal.
        """
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = None
        except OSError as exc:
            raise JournalError(f"cannot open journal {path}: {exc.strerror or exc}") from None
        if size is None and not create:
            raise JournalError(f"no journal at {path} (submit creates it; pass --journal to name another)")
        if size == 0 and not create:
            raise JournalError(f"{path} is empty (0 bytes): not a journal; is --journal the file submit wrote?")
        fd = cls._create(path) if size is None else None
        if lock:
            fd = cls._lock_file(path, fd, busy)
        elif fd is not None:
            os.close(fd)
            fd = None
        try:
            db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            cls._release(fd)
            raise JournalError(f"cannot open journal {path}: {exc}") from None
        try:
            cls._prepare(db, path, create=create)
            db.row_factory = sqlite3.Row
            journal = cls(db, path, clock, fd)
            if lock:
                with journal._errors("cannot record this run"):
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('holder', ?)", (_holder(),))
        except sqlite3.DatabaseError as exc:
            db.close()
            cls._release(fd)
            if _damaged(exc) and _sqlite_header(path):
                raise JournalError(f"journal damaged: {path}: {exc} (restore it from a backup)") from None
            raise JournalError(f"{path} is not a refundctl journal ({exc})") from None
        except JournalError:
            db.close()
            cls._release(fd)
            raise
        if size == 0:
            path.chmod(0o600)  # made a journal now: as private as a new one
            journal.was_empty = True
        return journal

    @staticmethod
    def _create(path: Path) -> int | None:
        """A new journal file, 0600: it holds order ids, amounts and provider ids (SQLite's -wal and -shm
        files take the same mode). None when another run created it at the same moment: it is then
        opened as an existing journal, and its lock decides which run goes on."""
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return None
        except OSError as exc:
            raise JournalError(f"cannot create journal {path}: {exc.strerror or exc}") from None

    @staticmethod
    def _lock_file(path: Path, fd: int | None, busy: str) -> int:
        """An exclusive flock on the journal itself, or a JournalError naming the run that holds it.

        flock, not SQLite's locks: it spans the whole run, not one transaction, and the kernel
        drops it when the holder dies, even by SIGKILL. The fd stays open until ``close``
        (closing another fd on the file would drop SQLite's POSIX locks).
        """
        if fd is None:
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError as exc:
                raise JournalError(f"cannot open journal {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise JournalError(f"cannot lock journal {path}: {exc.strerror or exc}") from None
            raise JournalError(
                f"journal {path} is in use by {_holder_of(path)}; one run at a time per journal ({busy})"
            ) from None
        return fd

    @staticmethod
    def _release(fd: int | None) -> None:
        if fd is not None:
            os.close(fd)  # closing the fd releases the flock

    @staticmethod
    def _prepare(db: sqlite3.Connection, path: Path, *, create: bool) -> None:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = _tables(db)
        if app_id == 0 and not tables and create:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} {_FROM_2} {_FROM_3} {_FROM_4} PRAGMA application_id={APPLICATION_ID}; "
                f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
            tables = set(_ALL_TABLES)
        elif app_id != APPLICATION_ID:
            raise JournalError(f"{path} is an SQLite file but not a refundctl journal; pass another --journal")
        elif version in (1, 2, 3, 4, 5):
            steps = (
                (_FROM_1 if version == 1 else "")
                + (_FROM_2 if version < 3 else "")
                + (_FROM_3 if version < 4 else "")
                + (_FROM_4 if version < 5 else "")
                + _FROM_5
            )
            db.executescript(f"BEGIN IMMEDIATE; {steps} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            tables = _tables(db)
        elif version != SCHEMA_VERSION:
            raise JournalError(f"{path} has journal schema {version}; this refundctl reads schema {SCHEMA_VERSION}")
        missing = sorted(_ALL_TABLES - tables)
        if missing:
            raise JournalError(f"journal damaged: {path}: its table(s) {', '.join(missing)} are gone")
        # A corrupt page or a truncated file: found now, before anything is planned or sent, not halfway.
        found = "\n".join(r[0] for r in db.execute("PRAGMA quick_check(3)"))
        if found != "ok":
            problems = [line for line in found.splitlines() if line and not line.startswith("***")]
            raise JournalError(f"journal damaged: {path}: {'; '.join(problems)} (restore it from a backup)")
        if create:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_FORWARD)  # journals made before the trigger existed get it too
        db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(sqlite3.Error):  # a damaged journal cannot forget its holder: no matter
                self._db.execute("DELETE FROM meta WHERE key = 'holder'")
        self._db.close()
        self._release(self._lock)
        self._lock = None

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """SQLite failures (a clash, a full disk, a backwards transition) as a JournalError; damage says so."""
        try:
            yield
        except sqlite3.Error as exc:
            if _damaged(exc):
                raise JournalError(f"journal damaged: {self.path}: {what}: {exc} (restore it from a backup)") from None
            raise JournalError(f"{self.path}: {what}: {exc}") from None

    def _reading(self, table: str) -> contextlib.AbstractContextManager[None]:
        """Reading ``table``: a page SQLite cannot read is "journal damaged" (cells are checked by ``_decode``)."""
        return self._errors(f"cannot read {table}")

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

    def bind(self, *, rebind: bool = False, **values: str) -> list[str]:
        """Record ``values`` (api, adapter; payments, payments_api) on first use; the notes of any rebinding.

        Resending a journal's keys to another API would defeat the journal. A journal that has
        sent nothing to that API may move to another one (a typo fixed); one that has may move
        only with ``rebind``, the user's word that the new URL is the same API (a sandbox on
        ``--port 0`` restarted on its ``--state``), and never to another adapter or provider.
        A routed run binds each target on its own (``bind_target``): what a target has sent
        binds that target only.
        """
        return self._bind(rebind, values, "")

    def bind_target(self, target: str, *, rebind: bool = False, api: str, adapter: str) -> list[str]:
        """``bind`` for one target of a routed profile (``api:NAME``, ``adapter:NAME``; "": the run's one API)."""
        return self._bind(rebind, {_bound("api", target): api, _bound("adapter", target): adapter}, target)

    def targets(self) -> dict[str, tuple[str | None, str | None]]:
        """Every target the journal's refunds went through, with its bound API and adapter ("": the one API)."""
        with self._reading("refunds"):
            names = [r[0] for r in self._db.execute("SELECT DISTINCT target FROM refunds ORDER BY target")]
        return {n: (self.meta(_bound("api", n)), self.meta(_bound("adapter", n))) for n in names}

    def _bind(self, rebind: bool, values: Mapping[str, str], target: str) -> list[str]:
        notes: list[str] = []
        with self._errors("cannot bind"), self._transaction():
            for key, value in values.items():
                row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
                    continue
                if row[0] == value:
                    continue
                field = key.partition(":")[0]
                payer: Payer = "platform" if field.startswith("payments") else "supplier"
                sent = self._sent(payer, None if payer == "platform" else target)
                url = field in ("api", "payments_api")
                if sent and not (rebind and url):
                    flag = {"api": "--api", "adapter": "--adapter", "payments": "--payments"}.get(
                        field, "--payments-api"
                    )
                    how = (
                        f"set targets.{target}.{field} back to {row[0]}" if target else f"resume with {flag} {row[0]}"
                    ) + (", or --rebind if it is the same API at a new URL" if url else "")
                    whose = f"target {target!r}'s " if target else ""
                    raise JournalError(
                        f"{self.path} belongs to {whose}{field} {row[0]!r}, not {value!r}: it has sent {sent} {payer} "
                        f"leg(s) there; {how}; or pass a new --journal for a new run"
                    )
                self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
                why = "--rebind" if sent else "nothing was sent there"
                notes.append(f"journal {self.path} rebound: {key} {row[0]} -> {value} ({why})")
        return notes

    def _sent(self, payer: Payer, target: str | None = None) -> int:
        """How many legs of ``payer`` have ever left (sent, answered, or handed over by hand); of one target's."""
        only = "" if target is None else " AND target = ?"
        row = self._db.execute(
            f"SELECT count(*) FROM {_TABLES[payer]} WHERE (sent_at IS NOT NULL OR state IN ({_LEFT_SQL}))" + only,
            () if target is None else (target,),
        ).fetchone()
        return int(row[0])

    def meta(self, key: str) -> str | None:
        with self._reading("meta"):
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._errors(f"cannot record {key}"):
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- reading ------------------------------------------------------------------------

    def get(self, order_id: str) -> Entry | None:
        with self._reading("refunds"):
            row = self._db.execute(f"SELECT {_COLUMNS} FROM refunds WHERE order_id = ?", (order_id,)).fetchone()
            if row is None:
                return None
            platform = self._db.execute(
                f"SELECT {_PLATFORM_COLUMNS} FROM platform_legs WHERE order_id = ?", (order_id,)
            ).fetchone()
        return self._decode(row, platform)

    def entries(self) -> list[Entry]:
        """Every order, in planning order."""
        return list(self.iter_entries())

    def iter_entries(self) -> Iterator[Entry]:
        """Every order, in planning order, read ``_CHUNK`` at a time (a journal of any size in little memory)."""
        last = 0
        while True:
            with self._reading("refunds"):
                rows = self._db.execute(
                    f"SELECT seq, {_COLUMNS} FROM refunds WHERE seq > ? ORDER BY seq LIMIT ?", (last, _CHUNK)
                ).fetchall()
            if not rows:
                return
            last = rows[-1]["seq"]
            yield from self._with_platform(rows).values()

    def entries_of(self, order_ids: Sequence[str]) -> dict[str, Entry]:
        """The journaled orders among ``order_ids`` (a page of a run's input), by order id."""
        with self._reading("refunds"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM refunds WHERE order_id IN ({','.join('?' * len(order_ids))})", order_ids
            ).fetchall()
        return self._with_platform(rows)

    def _with_platform(self, rows: list[sqlite3.Row]) -> dict[str, Entry]:
        """These rows of ``refunds`` as orders, with their platform legs (one query), by order id in row order."""
        ids = [row["order_id"] for row in rows]
        with self._reading("platform_legs"):
            platform = {
                r["order_id"]: r
                for r in self._db.execute(
                    f"SELECT {_PLATFORM_COLUMNS} FROM platform_legs WHERE order_id IN ({','.join('?' * len(ids))})",
                    ids,
                )
            }
        return {row["order_id"]: self._decode(row, platform.get(row["order_id"])) for row in rows}

    def _decode(self, row: sqlite3.Row, platform: sqlite3.Row | None) -> Entry:
        """The order of a row (and its platform leg's row); a cell that does not read back names table and order.

        One try per row, not a context manager per table: this runs for every order of every run."""
        damaged = platform
        try:
            leg = None if platform is None else _platform_leg(platform)
            damaged = row
            return _entry(row, leg)
        except _Cell as exc:
            table = "refunds" if damaged is row else "platform_legs"
            where = f"order {str(row['order_id'])[:60]!r}"
            raise JournalError(f"journal damaged: {self.path}: table {table}: {where}: {exc}") from None

    # -- writing: each call is one committed transaction ------------------------------

    def plan(self, plans: Iterable[Plan], unsubmitted: Iterable[Unsubmitted] = ()) -> int:
        """Insert the plans of orders not yet journaled, all in one transaction; returns how many.

        ``unsubmitted``: the run's other input orders, recorded (as decided now) in the same transaction
        unless journaled as refunds; an order planned now is no longer one of them. Both are taken
        ``_CHUNK`` at a time (they may be read from elsewhere meanwhile), so a run of any size is one
        transaction without a list of all its plans."""
        with self._errors("cannot plan"), self._transaction():
            inserted = 0
            for planned in chunks(plans, _CHUNK):
                inserted += self._insert(planned)
                self._db.executemany("DELETE FROM unsubmitted WHERE order_id = ?", ((p.order_id,) for p in planned))
            now = _iso(self._clock())
            for orders in chunks(unsubmitted, _CHUNK):
                self._db.executemany(
                    "INSERT OR REPLACE INTO unsubmitted (order_id, fate, outcome, currency, decided, reason, note, "
                    "decided_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? "
                    "WHERE NOT EXISTS (SELECT 1 FROM refunds WHERE order_id = ?)",
                    (
                        (u.order_id, u.fate, u.outcome, u.currency, str(u.decided), u.reason, u.note, now, u.order_id)
                        for u in orders
                    ),
                )
            return inserted

    def unsubmitted(self) -> list[Unsubmitted]:
        """The recorded input orders not journaled as refunds, by order id."""
        return list(self.iter_unsubmitted())

    def iter_unsubmitted(self) -> Iterator[Unsubmitted]:
        """The recorded input orders not journaled as refunds, by order id, read ``_CHUNK`` at a time."""
        last = ""
        while True:
            with self._reading("unsubmitted"):
                rows = self._db.execute(
                    "SELECT order_id, fate, outcome, currency, decided, reason, note FROM unsubmitted "
                    "WHERE order_id > ? ORDER BY order_id LIMIT ?",
                    (last, _CHUNK),
                ).fetchall()
            if not rows:
                return
            last = rows[-1]["order_id"]
            for row in rows:
                try:
                    yield Unsubmitted(
                        _read(row, "order_id", _text, null=False),
                        _read(row, "fate", _text, null=False),
                        _read(row, "outcome", _text, null=False),
                        _read(row, "currency", _text, null=False),
                        _read(row, "decided", _amount, null=False),
                        _read(row, "reason", _text),
                        _read(row, "note", _text),
                    )
                except _Cell as exc:
                    where = f"order {str(row['order_id'])[:60]!r}"
                    raise JournalError(f"journal damaged: {self.path}: table unsubmitted: {where}: {exc}") from None

    def add_shard(self, shard: str) -> None:
        """Record that a run took shard ``shard`` (``K/N``; ``0/1`` unsharded) of its input into this journal."""
        shards = self.shards()
        if shard not in shards:
            self.set_meta("shards", json.dumps([*shards, shard]))

    def shards(self) -> list[str]:
        """The shards runs took into this journal (``K/N``), first first; empty for journals before schema 4."""
        text = self.meta("shards")
        try:
            value = [] if text is None else json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise JournalError(f"journal damaged: {self.path}: table meta: shards: {str(text)[:40]!r} is not a list")
        return value

    def replan(self, plans: Iterable[tuple[str, Plan | None]]) -> int:
        """Plan these orders anew (order id, plan; None: no longer submitted), in one transaction; returns how
        many changed.

        Only orders that never sent anything on any leg (``unsent``) are replanned; the others
        keep the plan their money left under, whatever ``plans`` says.
        """
        with self._errors("cannot replan"), self._transaction():
            changed = 0
            for order_id, new in plans:
                entry = self.get(order_id)
                if entry is None or not unsent(entry):
                    continue
                self._db.execute("DELETE FROM platform_legs WHERE order_id = ?", (order_id,))
                self._db.execute("DELETE FROM refunds WHERE order_id = ?", (order_id,))
                if new is not None:
                    self._insert([new])
                changed += 1
            return changed

    def _insert(self, plans: list[Plan]) -> int:
        now = _iso(self._clock())
        cursor = self._db.executemany(
            "INSERT INTO refunds (order_id, idempotency_key, amount, currency, outcome, reason, waivers, due_by, "
            "due_by_provisional, target, state, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?) "
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
                    p.target,
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

    def _update(
        self,
        order_id: str,
        sets: str,
        params: Sequence[object],
        payer: Payer = "supplier",
        service_days: int | None = None,
    ) -> Entry:
        """One committed transition of one leg; returns the order as committed.

        ``service_days``: the leg leaves now, so an order without a regulation deadline is due that
        many days from now (from its first leg to leave: a refund is never due before it was sent).
        """
        now = self._clock()
        with self._errors(f"cannot record order {order_id}"), self._transaction():
            cursor = self._db.execute(
                f"UPDATE {_TABLES[payer]} SET {sets}, updated_at = ? WHERE order_id = ?",
                (*params, _iso(now), order_id),
            )
            if service_days is not None:
                due = (now.astimezone(UTC).date() + timedelta(days=service_days)).isoformat()
                self._db.execute("UPDATE refunds SET due_by = coalesce(due_by, ?) WHERE order_id = ?", (due, order_id))
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
        service_days: int | None = None,
    ) -> Entry:
        """Committed before the request leaves: the exact body a rerun must resend (``sent_at``: the first send)."""
        return self._update(
            order_id,
            "state = 'sent', sent_amount = ?, quote_id = ?, quote_amount = ?, sent_at = coalesce(sent_at, ?)",
            (str(amount), quote_id, None if quote_amount is None else str(quote_amount), _iso(self._clock())),
            payer,
            service_days,
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

    def mark_manual(self, order_id: str, reason: str, *, service_days: int | None = None) -> Entry:
        """A platform leg with no payments provider to send it: to be paid by hand (and reconciled).

        Handed over now, so its due date counts from now like a sent leg's."""
        return self._update(order_id, "state = 'manual', error = ?", (reason,), "platform", service_days)

    def pay_by_hand(self, payments: Sequence[tuple[str, str]]) -> tuple[list[HandPaid], list[tuple[int, str]]]:
        """Record these (order id, reference) platform legs paid by hand, all or nothing, in one transaction.

        Only a ``manual`` leg moves (to ``paid_by_hand``: the reference as its refund id, its amount as sent,
        status ``succeeded``, so reconcile confirms it); the same reference again changes nothing. Anything
        else is refused (the input's index, why): then nothing is recorded, and the refusals come second."""
        try:
            with self._errors("cannot record hand payments"), self._transaction():
                return self._pay_pages(payments, _iso(self._clock())), []
        except _Refused as exc:
            return [], exc.refusals

    def _pay_pages(self, payments: Sequence[tuple[str, str]], now: str) -> list[HandPaid]:
        """``pay_by_hand``'s work, a page of orders at a time; _Refused (rolling it all back) if any is refused."""
        done: list[HandPaid] = []
        refused: list[tuple[int, str]] = []
        for start in range(0, len(payments), _CHUNK):
            page = payments[start : start + _CHUNK]
            legs = {
                r[0]: dict(r)
                for r in self._db.execute(
                    "SELECT r.order_id, r.currency, p.amount, p.state, p.refund_id FROM refunds r "
                    "LEFT JOIN platform_legs p ON p.order_id = r.order_id "
                    f"WHERE r.order_id IN ({','.join('?' * len(page))})",
                    [order_id for order_id, _ in page],
                )
            }
            for index, (order_id, reference) in enumerate(page, start):
                why = self._hand_payment(legs.get(order_id), order_id, reference, now, done)
                if why:
                    refused.append((index, why))
        if refused:
            raise _Refused(refused)
        return done

    def _hand_payment(
        self, row: dict[str, Any] | None, order_id: str, reference: str, now: str, done: list[HandPaid]
    ) -> str | None:
        """Record one hand payment (inside ``pay_by_hand``'s transaction) onto ``done``, or say why not; ``row``
        (the order's leg as read for its page) follows, for the order met again in the same page."""
        if row is None:
            return f"order {order_id} is not in journal {self.path}"
        if row["state"] is None:
            return f"order {order_id} has no platform leg: the supplier pays all of its refund, nothing is paid by hand"
        state, paid_as = row["state"], row["refund_id"]
        if state == "paid_by_hand" and paid_as != reference:
            return (
                f"order {order_id}'s platform leg was recorded paid by hand with reference {paid_as!r}, "
                f"not {reference!r}; a recorded payment is never changed"
            )
        if state not in ("manual", "paid_by_hand"):
            return (
                f"order {order_id}'s platform leg is {state}, not manual: only a leg journaled to be paid by hand "
                "can be recorded paid by hand (its payments provider settles the others; see track --sync)"
            )
        if state == "manual":
            self._db.execute(
                "UPDATE platform_legs SET state = 'paid_by_hand', refund_id = ?, refund_status = 'succeeded', "
                "sent_amount = amount, answer = ?, error_type = NULL, error = NULL, synced_at = ?, updated_at = ? "
                "WHERE order_id = ?",
                (reference, json.dumps({"paid_by_hand": {"reference": reference, "recorded_at": now}}), now, now,
                 order_id),
            )  # fmt: skip
            row |= {"state": "paid_by_hand", "refund_id": reference}
        amount = Decimal(row["amount"])
        done.append(HandPaid(order_id, reference, amount, row["currency"], recorded=state == "manual"))
        return None

    def record_status(self, order_id: str, *, status: str, answer: dict[str, Any], payer: Payer = "supplier") -> Entry:
        """The leg's latest state from its provider (``track --sync``)."""
        return self._update(
            order_id,
            "refund_status = ?, answer = ?, synced_at = ?",
            (status, json.dumps(answer), _iso(self._clock())),
            payer,
        )


def confirmed(leg: LegState) -> Decimal:
    """What the provider confirmed of a leg: the amount it accepted, once it reports the refund succeeded."""
    return leg.sent_amount if leg.refund_status == "succeeded" and leg.sent_amount is not None else Decimal(0)


def overdue(plan: Plan, leg: LegState, as_of: datetime) -> bool:
    """A leg is overdue once its order's due date has passed and its money has not arrived (succeeded)."""
    return plan.due_by is not None and as_of.date() > plan.due_by and leg.refund_status != "succeeded"


def unsent(entry: Entry) -> bool:
    """Whether nothing of the order ever left, on any leg (so its plan may still change)."""
    legs = (entry.supplier, entry.platform) if entry.platform else (entry.supplier,)
    return all(leg.sent_at is None and leg.state not in _LEFT for leg in legs)
