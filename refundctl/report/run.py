"""Merge submit journals (one per shard) into one report.

Every order a run took, journaled or not (schema 4 journals record the orders not submitted
with their outcome and reason), is one of four:

- ``without_person``: decided by policy and settled without anyone: every leg accepted, or
  nothing to pay (outcome ``none``, or a refund of zero);
- ``manual_review``: no policy could decide it; a person must;
- ``needs_evidence``: decided once evidence is attached; a person must check it;
- ``not_settled``: decided, but its money is not (yet) wholly with its payers: failed,
  rejected, in flight, paid by hand (``manual``), partially settled, refused before sending.

The first share is what an operations lead asks first; the review reasons, counted, show
where the policies have gaps. Journals of different policy digests, or of shards that
overlap (recorded shards, or order ids found in two journals), are refused unless
``allow_mixed``: then an order in several journals counts once, as the first journal records it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from refundctl.errors import JournalError
from refundctl.money import ZERO, fmt
from refundctl.orders.shards import parse_shard
from refundctl.submit.fates import COLUMNS as ORDER_COLUMNS
from refundctl.submit.fates import Fate, fate_of_entry, fate_of_unsubmitted, summarize
from refundctl.submit.journal import PAYERS, Entry, Journal, confirmed, overdue

REVIEW = ("manual_review", "needs_evidence")
HANDLING = ("without_person", *REVIEW, "not_settled")
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
    """One journal as read: its policies' digest, the shards its runs took, every order it records."""

    path: Path
    digest: str | None
    shards: tuple[str, ...]  # empty: no run of schema 4 or later recorded its shard (nor its unsubmitted orders)
    entries: tuple[Entry, ...]
    fates: tuple[Fate, ...]  # every order: journaled entries first, then the unsubmitted ones


def _read(path: Path) -> _Journaled:
    journal = Journal.open(path, create=False)
    try:
        entries = tuple(journal.entries())
        fates = (*map(fate_of_entry, entries), *map(fate_of_unsubmitted, journal.unsubmitted()))
        return _Journaled(path, journal.meta("policies"), tuple(journal.shards()), entries, fates)
    finally:
        journal.close()


def _overlap(a: str, b: str) -> bool:
    """Whether shards K/N and K'/N' can hold one order: some hash is K mod N and K' mod N' (K = K' mod gcd)."""
    x, y = parse_shard(a), parse_shard(b)
    return x.index % math.gcd(x.count, y.count) == y.index % math.gcd(x.count, y.count)


def _refusals(journals: Sequence[_Journaled]) -> list[str]:
    """Why these journals are not one batch: other policies, overlapping shards, orders in two journals."""
    problems = []
    digests = {j.digest for j in journals if j.fates}  # a journal of no orders decided nothing
    if len(digests) > 1:
        each = ", ".join(f"{j.path} {(j.digest or 'none recorded')[:12]}" for j in journals if j.fates)
        problems.append(f"the journals were planned under different policies ({each})")
    for n, a in enumerate(journals):
        for b in journals[n + 1 :]:
            both = [(x, y) for x in a.shards for y in b.shards if _overlap(x, y)]
            if both:
                problems.append(f"{a.path} (shard {both[0][0]}) and {b.path} (shard {both[0][1]}) overlap")
    seen: dict[str, Path] = {}
    twice = []
    for j in journals:
        for f in j.fates:
            if seen.setdefault(f.order_id, j.path) != j.path:
                twice.append(f.order_id)
    if twice:
        shown = ", ".join(twice[:5]) + (f" and {len(twice) - 5} more" if len(twice) > 5 else "")
        problems.append(f"{len(twice)} order(s) are in more than one journal ({shown})")
    return problems


def _percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` in percent, to 0.1, half to even (``0.0`` of nothing)."""
    if whole == 0:
        return "0.0"
    return str((Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_EVEN))


def handling(fate: Fate) -> str:
    """Who the order needs: nobody (``without_person``), a reviewer, evidence, or its settlement to finish."""
    if fate.outcome in REVIEW:
        return fate.outcome
    if fate.fate in ("accepted", "not_eligible"):
        return "without_person"
    return "not_settled"


@dataclass(frozen=True, slots=True)
class Report:
    """The merged journals: every order's fate (and its review reason), every leg, and the notes on the merge."""

    journals: tuple[_Journaled, ...]
    fates: tuple[Fate, ...]
    reasons: dict[str, str | None]  # order id -> the decision's reason
    entries: tuple[Entry, ...]
    notes: tuple[str, ...]  # what the reader must know (refusals overridden, journals that record too little)

    def summary(self) -> list[dict[str, Any]]:
        counts = Counter(handling(f) for f in self.fates)
        return [{"handling": h, "orders": counts[h], "percent": _percent(counts[h], len(self.fates))} for h in HANDLING]

    def review_reasons(self) -> list[dict[str, Any]]:
        """The reasons of the orders a person must look at, most frequent first (then by outcome and reason)."""
        counts = Counter((f.outcome, self.reasons.get(f.order_id) or "") for f in self.fates if f.outcome in REVIEW)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        total = len(self.fates)
        return [
            {"outcome": outcome, "reason": reason, "orders": n, "percent": _percent(n, total)}
            for (outcome, reason), n in ranked
        ]

    def fate_totals(self) -> list[dict[str, Any]]:
        return summarize(self.fates)

    def payers(self, as_of: datetime) -> list[dict[str, Any]]:
        """Per payer and currency: legs, decided, accepted by the provider, confirmed succeeded, overdue legs."""
        sums: dict[tuple[str, str], list[Any]] = {}
        for entry in self.entries:
            for leg in entry.legs:
                row = sums.setdefault((leg.payer, entry.plan.currency), [0, ZERO, ZERO, ZERO, 0])
                row[0] += 1
                row[1] += leg.amount
                row[2] += leg.sent_amount if leg.state == "accepted" and leg.sent_amount is not None else ZERO
                row[3] += confirmed(leg)
                row[4] += overdue(entry.plan, leg, as_of)
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
                sums.items(), key=lambda item: (item[0][1], order[item[0][0]])
            )
        ]

    def orders(self) -> list[dict[str, Any]]:
        return [f.to_row() for f in self.fates]

    def rows(self, section: str, as_of: datetime) -> list[dict[str, Any]]:
        if section == "payers":
            return self.payers(as_of)
        return {
            "summary": self.summary,
            "reasons": self.review_reasons,
            "fates": self.fate_totals,
            "orders": self.orders,
        }[section]()

    def headline(self) -> str:
        counts = Counter(handling(f) for f in self.fates)
        total = len(self.fates)
        done = counts["without_person"]
        return (
            f"{done} of {total} order(s) ({_percent(done, total)}%) decided and settled without a person; "
            f"{counts['manual_review']} manual_review, {counts['needs_evidence']} needs_evidence, "
            f"{counts['not_settled']} not settled"
        )

    def sources(self) -> str:
        """Which journals, which shards, which policies."""
        shards = [s for j in self.journals for s in j.shards] or ["not recorded"]
        digests = sorted({(j.digest or "none recorded")[:12] for j in self.journals if j.fates}) or ["none"]
        return (
            f"{len(self.journals)} journal(s), shard(s) {', '.join(shards)}, "
            f"policies {', '.join(digests)}: {len(self.fates)} order(s)"
        )


def load_report(paths: Sequence[Path], *, allow_mixed: bool = False) -> Report:
    """The journals at ``paths`` merged; JournalError when they are not one batch (unless ``allow_mixed``)."""
    journals = tuple(_read(p) for p in paths)
    problems = _refusals(journals)
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
    seen: set[str] = set()
    fates: list[Fate] = []
    entries: list[Entry] = []
    reasons: dict[str, str | None] = {}
    for j in journals:
        journaled = {e.order_id: e for e in j.entries}
        for fate in j.fates:
            if fate.order_id in seen:
                continue
            seen.add(fate.order_id)
            fates.append(fate)
            entry = journaled.get(fate.order_id)
            if entry is not None:
                entries.append(entry)
                reasons[fate.order_id] = entry.plan.reason
            else:
                reasons[fate.order_id] = fate.note
    return Report(journals, tuple(fates), reasons, tuple(entries), tuple(notes))
