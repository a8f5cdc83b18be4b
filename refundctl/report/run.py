"""Merge submit journals (one per shard) into one report.

Every order a run took, journaled or not (schema 4 journals record the orders not submitted
with their outcome and reason), is one of five:

- ``without_person``: decided by policy and settled without anyone: every leg accepted, or
  nothing to pay (outcome ``none``, or a refund of zero);
- ``paid_by_hand``: decided by policy and settled, its platform leg paid by a person (``refundctl settle``);
- ``manual_review``: no policy could decide it; a person must;
- ``needs_evidence``: decided once evidence is attached; a person must check it;
- ``not_settled``: decided, but its money is not (yet) wholly with its payers: failed,
  rejected, in flight, paid by hand (``manual``), partially settled, refused before sending.

The first share is what an operations lead asks first; the review reasons, counted, show
where the policies have gaps. Journals of different policy digests, or of shards that
overlap (recorded shards, or order ids found in two journals), are refused unless
``allow_mixed``: then an order in several journals counts once, as the first journal records it.

The journals are read a page at a time and summed as they are read (the ids seen live in a
temporary SQLite file, as the order reader's do), so memory does not grow with the orders; the
``orders`` section reads them again, streaming its rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from refundctl.errors import JournalError
from refundctl.money import ZERO, fmt
from refundctl.orders.dedup import Dedup, chunks
from refundctl.orders.shards import parse_shard
from refundctl.submit.fates import COLUMNS as ORDER_COLUMNS
from refundctl.submit.fates import Fate, Tally, fate_of_entry, fate_of_unsubmitted
from refundctl.submit.journal import PAYERS, Entry, Journal, confirmed, overdue

REVIEW = ("manual_review", "needs_evidence")
HANDLING = ("without_person", "paid_by_hand", *REVIEW, "not_settled")
# section -> its columns; ``summary`` (the share settled without a person) leads.
SECTIONS: dict[str, tuple[str, ...]] = {
    "summary": ("handling", "orders", "percent"),
    "reasons": ("outcome", "reason", "orders", "percent"),
    "fates": ("fate", "currency", "orders", "total"),
    "payers": ("payer", "currency", "legs", "decided", "accepted", "confirmed", "overdue"),
    "orders": ORDER_COLUMNS,
}


@dataclass(frozen=True, slots=True)
class _Journaled:
    """One journal as read: its policies' digest, the shards its runs took, how many orders it records."""

    path: Path
    digest: str | None
    shards: tuple[str, ...]  # empty: no run of schema 4 or later recorded its shard (nor its unsubmitted orders)
    orders: int  # journaled refunds and unsubmitted orders


Recorded = tuple[Fate, Entry | None, str | None]  # an order's fate, its journal row if a refund, its reason


def _recorded(journal: Journal) -> Iterator[Recorded]:
    """Every order a journal records: journaled refunds first (in planning order), then the unsubmitted ones."""
    for entry in journal.iter_entries():
        yield fate_of_entry(entry), entry, entry.plan.reason
    for order in journal.iter_unsubmitted():
        fate = fate_of_unsubmitted(order)
        yield fate, None, fate.note


def _merged(
    paths: Sequence[Path], each: Callable[[Journal, int], None] = lambda journal, orders: None
) -> Iterator[tuple[Recorded, bool]]:
    """Every order of every journal in turn, and whether an earlier journal recorded it already (then it does not
    count). ``each`` is told of each journal once it is read, with how many orders it records."""
    seen = Dedup()
    try:
        for path in paths:
            journal = Journal.open(path, create=False)
            try:
                count = 0
                for batch in chunks(_recorded(journal)):
                    count += len(batch)
                    twice = seen.duplicates([(fate.order_id, str(path), 0) for fate, _, _ in batch])
                    yield from zip(batch, (problem is not None for problem in twice), strict=True)
                each(journal, count)
            finally:
                journal.close()
    finally:
        seen.close()


def _overlap(a: str, b: str) -> bool:
    """Whether shards K/N and K'/N' can hold one order: some hash is K mod N and K' mod N' (K = K' mod gcd)."""
    x, y = parse_shard(a), parse_shard(b)
    return x.index % math.gcd(x.count, y.count) == y.index % math.gcd(x.count, y.count)


def _refusals(journals: Sequence[_Journaled], twice: Sequence[str], more: int) -> list[str]:
    """Why these journals are not one batch: other policies, overlapping shards, orders in two journals (``twice``
    the first of them, ``more`` the others)."""
    problems = []
    digests = {j.digest for j in journals if j.orders}  # a journal of no orders decided nothing
    if len(digests) > 1:
        each = ", ".join(f"{j.path} {(j.digest or 'none recorded')[:12]}" for j in journals if j.orders)
        problems.append(f"the journals were planned under different policies ({each})")
    for n, a in enumerate(journals):
        for b in journals[n + 1 :]:
            both = [(x, y) for x in a.shards for y in b.shards if _overlap(x, y)]
            if both:
                problems.append(f"{a.path} (shard {both[0][0]}) and {b.path} (shard {both[0][1]}) overlap")
    if twice:
        shown = ", ".join(twice) + (f" and {more} more" if more else "")
        problems.append(f"{len(twice) + more} order(s) are in more than one journal ({shown})")
    return problems


def _percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` in percent, to 0.1, half to even (``0.0`` of nothing)."""
    if whole == 0:
        return "0.0"
    return str((Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_EVEN))


def handling(fate: Fate) -> str:
    """Who the order needs: nobody (``without_person``), a reviewer, evidence, or its settlement to finish; or who
    settled it: a person paying its platform leg (``paid_by_hand``)."""
    if fate.outcome in REVIEW:
        return fate.outcome
    if fate.fate in ("accepted", "not_eligible"):
        return "without_person"
    return "paid_by_hand" if fate.fate == "paid_by_hand" else "not_settled"


_ACCEPTED = ("accepted", "paid_by_hand")  # a leg's money taken by its provider, or paid by a person
SHOWN_TWICE = 5  # orders named when journals overlap; the rest are counted


class _Sums:
    """The merged orders, summed as they are read: who they need, review reasons, fates, legs per payer."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = as_of
        self.orders = 0
        self.handling: Counter[str] = Counter()
        self.reasons: Counter[tuple[str, str]] = Counter()  # (outcome, reason) of the orders a person must see
        self.fates = Tally()
        self.legs: dict[tuple[str, str], list[Any]] = {}  # (payer, currency) -> legs, decided, accepted, ...

    def add(self, fate: Fate, entry: Entry | None, reason: str | None) -> None:
        self.orders += 1
        self.handling[handling(fate)] += 1
        if fate.outcome in REVIEW:
            self.reasons[(fate.outcome, reason or "")] += 1
        self.fates.add(fate)
        if entry is None:
            return
        for leg in entry.legs:
            row = self.legs.setdefault((leg.payer, entry.plan.currency), [0, ZERO, ZERO, ZERO, 0])
            row[0] += 1
            row[1] += leg.amount
            row[2] += leg.sent_amount if leg.state in _ACCEPTED and leg.sent_amount is not None else ZERO
            row[3] += confirmed(leg)
            row[4] += overdue(entry.plan, leg, self.as_of)


@dataclass(frozen=True, slots=True)
class Report:
    """The merged journals, summed: who the orders need, their review reasons, fates and legs; the notes on the
    merge. The orders themselves are read again, streaming, for the ``orders`` section."""

    journals: tuple[_Journaled, ...]
    sums: _Sums
    notes: tuple[str, ...]  # what the reader must know (refusals overridden, journals that record too little)

    def summary(self) -> list[dict[str, Any]]:
        counts, total = self.sums.handling, self.sums.orders
        return [{"handling": h, "orders": counts[h], "percent": _percent(counts[h], total)} for h in HANDLING]

    def review_reasons(self) -> list[dict[str, Any]]:
        """The reasons of the orders a person must look at, most frequent first (then by outcome and reason)."""
        ranked = sorted(self.sums.reasons.items(), key=lambda item: (-item[1], item[0]))
        total = self.sums.orders
        return [
            {"outcome": outcome, "reason": reason, "orders": n, "percent": _percent(n, total)}
            for (outcome, reason), n in ranked
        ]

    def fate_totals(self) -> list[dict[str, Any]]:
        return self.sums.fates.rows()

    def payers(self) -> list[dict[str, Any]]:
        """Per payer and currency: legs, decided, accepted by the provider, confirmed succeeded, overdue legs."""
        order: dict[str, int] = {payer: n for n, payer in enumerate(PAYERS)}
        return [
            {
                "payer": payer,
                "currency": cur,
                "legs": legs,
                "decided": fmt(decided, cur),
                "accepted": fmt(accepted, cur),
                "confirmed": fmt(done, cur),
                "overdue": late,
            }
            for (payer, cur), (legs, decided, accepted, done, late) in sorted(
                self.sums.legs.items(), key=lambda item: (item[0][1], order[item[0][0]])
            )
        ]

    def orders(self) -> Iterator[dict[str, Any]]:
        """Every order's fate, read again from the journals (each order once, as the first journal records it)."""
        for (fate, _, _), twice in _merged([j.path for j in self.journals]):
            if not twice:
                yield fate.to_row()

    def rows(self, section: str) -> Iterable[dict[str, Any]]:
        return {
            "summary": self.summary,
            "reasons": self.review_reasons,
            "fates": self.fate_totals,
            "payers": self.payers,
            "orders": self.orders,
        }[section]()

    def headline(self) -> str:
        counts, total = self.sums.handling, self.sums.orders
        done = counts["without_person"]
        return (
            f"{done} of {total} order(s) ({_percent(done, total)}%) decided and settled without a person; "
            f"{counts['paid_by_hand']} paid_by_hand, {counts['manual_review']} manual_review, "
            f"{counts['needs_evidence']} needs_evidence, "
            f"{counts['not_settled']} not settled"
        )

    def sources(self) -> str:
        """Which journals, which shards, which policies."""
        shards = [s for j in self.journals for s in j.shards] or ["not recorded"]
        digests = sorted({(j.digest or "none recorded")[:12] for j in self.journals if j.orders}) or ["none"]
        return (
            f"{len(self.journals)} journal(s), shard(s) {', '.join(shards)}, "
            f"policies {', '.join(digests)}: {self.sums.orders} order(s)"
        )


def load_report(paths: Sequence[Path], as_of: datetime, *, allow_mixed: bool = False) -> Report:
    """The journals at ``paths`` merged, overdue legs judged at ``as_of``; JournalError when they are not one batch
    (unless ``allow_mixed``). One pass, summing as it reads: nothing per order is kept."""
    journals: list[_Journaled] = []
    sums = _Sums(as_of)
    twice: list[str] = []
    more = 0

    def read(journal: Journal, orders: int) -> None:
        journals.append(_Journaled(journal.path, journal.meta("policies"), tuple(journal.shards()), orders))

    for (fate, entry, reason), again in _merged(paths, read):
        if not again:
            sums.add(fate, entry, reason)
        elif len(twice) < SHOWN_TWICE:
            twice.append(fate.order_id)
        else:
            more += 1
    problems = _refusals(journals, twice, more)
    if problems and not allow_mixed:
        raise JournalError(
            "\n".join(
                [
                    "refusing to merge these journals as one batch:",
                    *(f"  {p}" for p in problems),
                    "pass --allow-mixed to merge them anyway (an order in several journals counts once, "
                    "as the first journal named records it)",
                ]
            )
        )
    notes = [f"merged anyway (--allow-mixed): {p}" for p in problems]
    notes += [
        f"{j.path} was last written before journals recorded the orders not submitted: only its journaled "
        "refunds are counted (rerun its submit to record them)"
        for j in journals
        if not j.shards
    ]
    return Report(tuple(journals), sums, tuple(notes))
