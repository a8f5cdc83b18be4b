"""``--shard K/N``: split one batch of orders into N disjoint parts by a stable hash of each order id.

An order belongs to shard ``K`` of ``N`` (K from 0 to N-1, as a Kubernetes Indexed Job's
``JOB_COMPLETION_INDEX``) when the first 8 bytes of the SHA-256 of its id in UTF-8, read
as a big-endian unsigned integer, are K modulo N. The hash depends on nothing but the
id (not on Python's per-process string hashing, the machine or the version), so N shard
runs on N machines decide exactly the orders of one unsharded run, each once. Copies of
one id land in the same shard, so duplicates are found as in an unsharded run.

A record whose id cannot be read (invalid JSON, not an object, no string id) belongs to
shard 0, so that it is reported exactly once too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from refundctl import jsonvalue
from refundctl.orders.raw import RawItem


def shard_of(order_id: str, count: int) -> int:
    """The shard (0 to ``count`` - 1) of ``order_id``: SHA-256 of the UTF-8 id, first 8 bytes big-endian, mod N."""
    digest = hashlib.sha256(order_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # K: 0 to count - 1
    count: int  # N

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"expected 0 <= K < N, got {self.index}/{self.count}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, order_id: object) -> bool:
        """Whether an order with this id (None or not a string: unreadable) belongs to this shard."""
        if not isinstance(order_id, str) or not order_id:
            return self.index == 0
        return shard_of(order_id, self.count) == self.index

    def pick(self, item: RawItem) -> RawItem | None:
        """``item`` (its JSON decoded, when it was JSON) if its record belongs to this shard, else None."""
        data = item.data
        if isinstance(data, bytes):
            try:
                data = jsonvalue.loads(data)
            except jsonvalue.JsonError:
                return item if self.index == 0 else None  # the reader reports the broken JSON
            item = item._replace(data=data)
        return item if self.holds(data.get("id") if isinstance(data, dict) else None) else None

    def select(self, items: Iterable[RawItem]) -> Iterator[RawItem]:
        """The records of ``items`` that belong to this shard, in input order."""
        for item in items:
            picked = self.pick(item)
            if picked is not None:
                yield picked


_SHARD = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*")


def parse_shard(text: str) -> Shard:
    """``K/N`` with 0 <= K < N; ValueError saying what was expected."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise ValueError(f"expected K/N such as 0/4 (K from 0 to N-1), got {text!r}")
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1:
        raise ValueError(f"expected N of at least 1, got {text!r}")
    if k >= n:
        raise ValueError(f"expected K from 0 to {n - 1} (shards count from 0), got {text!r}")
    return Shard(k, n)
