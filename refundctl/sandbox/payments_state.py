"""The payments API's refunds and bound idempotency keys in SQLite, beside the supplier's (``--state``).

A refund and the key that created it are written in one transaction, as the supplier's
store does: after a restart the key replays the refund instead of refunding twice. Keys
claimed but never bound live in memory only, so a restart never leaves one "in use".
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stripe_refunds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    captured INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    settles_at TEXT NOT NULL,
    final_status TEXT NOT NULL CHECK (final_status IN ('succeeded', 'failed')),
    reason TEXT,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stripe_idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL
);
"""


class RefundRow(NamedTuple):
    id: str
    reference: str
    order_id: str
    currency: str
    captured: int
    amount: int
    created_at: datetime
    settles_at: datetime
    final_status: str
    reason: str | None
    metadata: dict[str, str]


class KeyRow(NamedTuple):
    key: str
    fingerprint: str
    status: int
    body: bytes


class PaymentsState:
    """One SQLite file; the ledger calls it under its own lock, so one connection serves every request."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")  # the supplier's store writes the same file
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"cannot use {path} as sandbox state: {exc}") from None

    def refunds(self) -> list[RefundRow]:
        """Every refund, oldest first."""
        rows = self._db.execute(
            "SELECT id, reference, order_id, currency, captured, amount, created_at, settles_at, final_status, "
            "reason, metadata FROM stripe_refunds ORDER BY seq"
        ).fetchall()
        return [
            RefundRow(rid, ref, oid, currency, captured, amount, datetime.fromisoformat(created),
                      datetime.fromisoformat(settles), final, reason, json.loads(metadata))
            for rid, ref, oid, currency, captured, amount, created, settles, final, reason, metadata in rows
        ]  # fmt: skip

    def bound_keys(self) -> list[KeyRow]:
        rows = self._db.execute("SELECT key, fingerprint, status, body FROM stripe_idempotency")
        return [KeyRow(*row) for row in rows]

    def save(self, refund: RefundRow | None, key: KeyRow | None) -> None:
        """The refund and the key's first answer, both or neither."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if refund is not None:
                self._db.execute(
                    "INSERT INTO stripe_refunds (id, reference, order_id, currency, captured, amount, created_at, "
                    "settles_at, final_status, reason, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        *refund[:6],
                        refund.created_at.isoformat(),
                        refund.settles_at.isoformat(),
                        refund.final_status,
                        refund.reason,
                        json.dumps(refund.metadata, sort_keys=True),
                    ),
                )
            if key is not None:
                self._db.execute(
                    "INSERT INTO stripe_idempotency (key, fingerprint, status, body) VALUES (?, ?, ?, ?)", key
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
