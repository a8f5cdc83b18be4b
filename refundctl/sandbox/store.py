"""Sandbox state: refunds, quotes and idempotency keys, in memory or in SQLite.

Both stores share one base class that owns the rules that must hold under
concurrency: a key is claimed by one request at a time, and a refund is stored
only if its order has no pending or succeeded refund, in the same critical
section (and, for SQLite, the same transaction) that binds the key to its
response. Requests whose key is claimed but not yet bound are tracked in memory
only: a restart must not leave a key stuck "in use" forever.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from refundctl.money import fmt
from refundctl.times import iso_utc

RefundStatus = Literal["pending", "succeeded", "failed"]
FAILURE_REASON = "declined_by_supplier"


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """A refund as stored; its status is a function of time, so reading never writes."""

    id: str
    order_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    settles_at: datetime
    final_status: Literal["succeeded", "failed"]  # drawn at creation, revealed at settles_at
    quote_id: str | None
    reason: str | None
    waivers: tuple[str, ...]

    def status_at(self, now: datetime) -> RefundStatus:
        return self.final_status if now >= self.settles_at else "pending"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        status = self.status_at(now)
        return {
            "id": self.id,
            "order_id": self.order_id,
            "amount": fmt(self.amount, self.currency),
            "currency": self.currency,
            "status": status,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.created_at if status == "pending" else self.settles_at),
            "quote_id": self.quote_id,
            "reason": self.reason,
            "waivers": list(self.waivers),
            "failure_reason": FAILURE_REASON if status == "failed" else None,
        }


@dataclass(frozen=True, slots=True)
class QuoteRecord:
    id: str
    order_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_id": self.order_id,
            "amount": fmt(self.amount, self.currency),
            "currency": self.currency,
            "expires_at": iso_utc(self.expires_at),
            "created_at": iso_utc(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class SavedResponse:
    """The first response sent for an idempotency key, replayed byte for byte."""

    fingerprint: str
    status: int
    body: bytes


ClaimResult = Literal["claimed", "replay", "in_use", "reused"]


class Store(ABC):
    """The rules shared by every store; subclasses provide storage primitives."""

    def __init__(self) -> None:
        # Re-entrant: primitives called under the lock may be called on their own too.
        self._lock = threading.RLock()
        self._inflight: dict[str, str] = {}  # idempotency key -> body fingerprint

    def claim(self, key: str, fingerprint: str) -> tuple[ClaimResult, SavedResponse | None]:
        """Claim ``key`` for a request with body ``fingerprint``, or say why not.

        ``replay`` comes with the saved response; ``reused`` means another body used
        this key; ``in_use`` means the same body is being processed right now.
        """
        with self._lock:
            saved = self._saved_response(key)
            if saved is not None:
                return ("replay", saved) if saved.fingerprint == fingerprint else ("reused", None)
            pending = self._inflight.get(key)
            if pending is not None:
                return ("in_use", None) if pending == fingerprint else ("reused", None)
            self._inflight[key] = fingerprint
            return "claimed", None

    def release(self, key: str) -> None:
        """Free a claimed key whose request ended in an error: errors do not bind keys."""
        with self._lock:
            self._inflight.pop(key, None)

    def add_refund(self, refund: RefundRecord, key: str, response: SavedResponse, now: datetime) -> RefundRecord | None:
        """Store ``refund`` and bind ``key`` to ``response``, unless the order has a live refund.

        Returns the pending or succeeded refund that blocks this one (the key is then
        released), or None once stored.
        """
        with self._lock:
            try:
                blocker = next((r for r in self.refunds_for(refund.order_id) if r.status_at(now) != "failed"), None)
                if blocker is None:
                    self._insert_refund(refund, key, response)
                return blocker
            finally:
                self._inflight.pop(key, None)

    @abstractmethod
    def _saved_response(self, key: str) -> SavedResponse | None: ...

    @abstractmethod
    def _insert_refund(self, refund: RefundRecord, key: str, response: SavedResponse) -> None:
        """Store the refund and the key's response atomically."""

    @abstractmethod
    def get_refund(self, refund_id: str) -> RefundRecord | None: ...

    @abstractmethod
    def refunds_for(self, order_id: str) -> list[RefundRecord]:
        """The order's refunds, oldest first."""

    @abstractmethod
    def add_quote(self, quote: QuoteRecord) -> None: ...

    @abstractmethod
    def get_quote(self, quote_id: str) -> QuoteRecord | None: ...

    @abstractmethod
    def close(self) -> None: ...


class MemoryStore(Store):
    def __init__(self) -> None:
        super().__init__()
        self._refunds: dict[str, RefundRecord] = {}  # insertion order is creation order
        self._by_order: dict[str, list[RefundRecord]] = {}
        self._responses: dict[str, SavedResponse] = {}
        self._quotes: dict[str, QuoteRecord] = {}

    def _saved_response(self, key: str) -> SavedResponse | None:
        return self._responses.get(key)

    def _insert_refund(self, refund: RefundRecord, key: str, response: SavedResponse) -> None:
        self._refunds[refund.id] = refund
        self._by_order.setdefault(refund.order_id, []).append(refund)
        self._responses[key] = response

    def get_refund(self, refund_id: str) -> RefundRecord | None:
        return self._refunds.get(refund_id)

    def refunds_for(self, order_id: str) -> list[RefundRecord]:
        with self._lock:
            return list(self._by_order.get(order_id, ()))

    def add_quote(self, quote: QuoteRecord) -> None:
        self._quotes[quote.id] = quote

    def get_quote(self, quote_id: str) -> QuoteRecord | None:
        return self._quotes.get(quote_id)

    def close(self) -> None:
        """Nothing to release: the state goes with the process."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS refunds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    settles_at TEXT NOT NULL,
    final_status TEXT NOT NULL CHECK (final_status IN ('succeeded', 'failed')),
    quote_id TEXT,
    reason TEXT,
    waivers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_by_order ON refunds (order_id, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quotes (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

_REFUND_COLUMNS = "id, order_id, amount, currency, created_at, settles_at, final_status, quote_id, reason, waivers"


def _refund_from_row(row: tuple[Any, ...]) -> RefundRecord:
    rid, order_id, amount, currency, created_at, settles_at, final_status, quote_id, reason, waivers = row
    return RefundRecord(
        id=rid,
        order_id=order_id,
        amount=Decimal(amount),
        currency=currency,
        created_at=datetime.fromisoformat(created_at),
        settles_at=datetime.fromisoformat(settles_at),
        final_status=final_status,
        quote_id=quote_id,
        reason=reason,
        waivers=tuple(json.loads(waivers)),
    )


class SqliteStore(Store):
    """Refunds, bound keys and quotes survive a restart; one server per state file.

    Queries run on the event loop thread: each is a primary-key or indexed lookup
    of microseconds, cheaper than handing it to a worker thread.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"cannot use {path} as sandbox state: {exc}") from None

    def _saved_response(self, key: str) -> SavedResponse | None:
        with self._lock:
            row = self._db.execute("SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (key,)).fetchone()
        return None if row is None else SavedResponse(row[0], row[1], row[2])

    def _insert_refund(self, refund: RefundRecord, key: str, response: SavedResponse) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    f"INSERT INTO refunds ({_REFUND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        refund.id,
                        refund.order_id,
                        str(refund.amount),
                        refund.currency,
                        refund.created_at.isoformat(),
                        refund.settles_at.isoformat(),
                        refund.final_status,
                        refund.quote_id,
                        refund.reason,
                        json.dumps(list(refund.waivers)),
                    ),
                )
                self._db.execute(
                    "INSERT INTO idempotency (key, fingerprint, status, body) VALUES (?, ?, ?, ?)",
                    (key, response.fingerprint, response.status, response.body),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_refund(self, refund_id: str) -> RefundRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        return None if row is None else _refund_from_row(row)

    def refunds_for(self, order_id: str) -> list[RefundRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE order_id = ? ORDER BY seq", (order_id,)
            ).fetchall()
        return [_refund_from_row(row) for row in rows]

    def add_quote(self, quote: QuoteRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO quotes (id, order_id, amount, currency, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    quote.id,
                    quote.order_id,
                    str(quote.amount),
                    quote.currency,
                    quote.created_at.isoformat(),
                    quote.expires_at.isoformat(),
                ),
            )

    def get_quote(self, quote_id: str) -> QuoteRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, order_id, amount, currency, created_at, expires_at FROM quotes WHERE id = ?", (quote_id,)
            ).fetchone()
        if row is None:
            return None
        return QuoteRecord(
            id=row[0],
            order_id=row[1],
            amount=Decimal(row[2]),
            currency=row[3],
            created_at=datetime.fromisoformat(row[4]),
            expires_at=datetime.fromisoformat(row[5]),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
