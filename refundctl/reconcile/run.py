"""Reconcile a submit journal: what was decided against what each payer's provider confirmed.

Per order: the decided refund, each leg's decided and confirmed amount, and the difference.
A leg is confirmed by the amount its provider accepted (the body the journal sent) once the
provider reports the refund ``succeeded`` (``track --sync`` records that); anything else
(pending, failed, rejected, never sent, still to be paid by hand) confirms nothing; a leg a person paid
(``refundctl settle``) is confirmed by its amount, and its note names the payment's reference. An order reconciles
when its confirmed total equals its decided refund. Totals per payer and currency say what
the supplier and the platform each paid out; the platform's is what finance asks for first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from refundctl.money import ZERO, fmt
from refundctl.submit.journal import PAYERS, Entry, Journal, confirmed

COLUMNS = (
    "order_id",
    "currency",
    "decided",
    "supplier_decided",
    "supplier_confirmed",
    "platform_decided",
    "platform_confirmed",
    "difference",
    "reconciled",
    "note",
)
TOTAL_COLUMNS = ("payer", "currency", "orders", "decided", "confirmed", "difference")


@dataclass(frozen=True, slots=True)
class Reconciled:
    order_id: str
    currency: str
    decided: dict[str, Decimal]  # by payer
    confirmed: dict[str, Decimal]  # by payer
    note: str

    @property
    def difference(self) -> Decimal:
        return sum(self.decided.values(), ZERO) - sum(self.confirmed.values(), ZERO)

    def to_row(self) -> dict[str, Any]:
        cur = self.currency
        row: dict[str, Any] = {
            "order_id": self.order_id,
            "currency": cur,
            "decided": fmt(sum(self.decided.values(), ZERO), cur),
        }
        for payer in PAYERS:
            row[f"{payer}_decided"] = fmt(self.decided.get(payer, ZERO), cur)
            row[f"{payer}_confirmed"] = fmt(self.confirmed.get(payer, ZERO), cur)
        row |= {"difference": fmt(self.difference, cur), "reconciled": self.difference == 0, "note": self.note}
        return row


def reconcile(entry: Entry) -> Reconciled:
    decided: dict[str, Decimal] = {leg.payer: leg.amount for leg in entry.legs}
    done: dict[str, Decimal] = {leg.payer: confirmed(leg) for leg in entry.legs}
    notes = [
        f"{leg.payer} {leg.state}{f' ({leg.refund_status})' if leg.refund_status else ''}"
        if confirmed(leg) != leg.amount
        else f"{leg.payer} paid by hand ({leg.refund_id})"
        for leg in entry.legs
        if confirmed(leg) != leg.amount or leg.state == "paid_by_hand"
    ]
    return Reconciled(entry.order_id, entry.plan.currency, decided, done, "; ".join(notes))


class Reconciliation:
    """A journal's orders reconciled as they are read (a page at a time), summed per payer and currency and
    counted as they pass: nothing per order is kept."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._sums: dict[tuple[str, str], list[Any]] = {}
        self.orders = 0
        self.differ = 0  # orders whose confirmed legs differ from the decided refund

    def __iter__(self) -> Iterator[Reconciled]:
        """Every journaled order, reconciled, in planning order."""
        for entry in self._journal.iter_entries():
            order = reconcile(entry)
            self.orders += 1
            self.differ += order.difference != 0
            for payer, amount in order.decided.items():
                sums = self._sums.setdefault((payer, order.currency), [0, ZERO, ZERO])
                sums[0] += 1
                sums[1] += amount
                sums[2] += order.confirmed.get(payer, ZERO)
            yield order

    def totals(self) -> list[dict[str, Any]]:
        """One row per (payer, currency) of the orders read so far: orders with a leg of that payer, decided,
        confirmed, difference."""
        return [
            {
                "payer": payer,
                "currency": cur,
                "orders": count,
                "decided": fmt(decided, cur),
                "confirmed": fmt(done, cur),
                "difference": fmt(decided - done, cur),
            }
            for (payer, cur), (count, decided, done) in sorted(
                self._sums.items(), key=lambda item: (item[0][1], item[0][0])
            )
        ]


@contextlib.contextmanager
def reconcile_journal(path: Path) -> Iterator[Reconciliation]:
    """The journal at ``path``, its orders to be reconciled (iterated) while it is open; it only reads."""
    journal = Journal.open(path, create=False)
    try:
        yield Reconciliation(journal)
    finally:
        journal.close()
