"""Decide a stream of order records in input order, in this process or in worker processes.

Reading and duplicate detection stay in the calling process, since they are
sequential by nature; decoding, validation, the decision and the encoding of each
output row are independent per record, so with ``jobs > 1`` they run in a pool
of processes, chunk by chunk, and come back in input order (``imap``). The
output is byte-identical whatever ``jobs`` is.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from refundctl.engine import Decision, decide
from refundctl.errors import Problem
from refundctl.orders.dedup import Dedup, chunks
from refundctl.orders.raw import RawItem
from refundctl.orders.reader import iter_raw, to_record
from refundctl.orders.shards import Shard
from refundctl.output import Encoded
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies

RowMaker = Callable[[Decision], Any]


class Result(NamedTuple):
    """One input record's fate: a decision (summarised, with its output row) or problems.

    A named tuple: one crosses the process boundary per record, and tuples pickle fastest.
    """

    source: str
    line: int
    order_id: str | None
    problems: list[Problem]
    outcome: str = ""
    currency: str = ""
    refund: Decimal = Decimal(0)
    row: Any = None


@dataclass(frozen=True, slots=True)
class Job:
    policy_dir: Path | None
    as_of: datetime
    make_row: RowMaker
    shard: Shard | None = None  # decide only this shard's orders (the others are skipped, not reported)


_worker: tuple[PolicySet, Job] | None = None


def _init_worker(job: Job) -> None:
    global _worker  # noqa: PLW0603 - one policy set per worker process, loaded once
    # Ctrl-C reaches the whole process group: the parent stops the pool and says so once,
    # instead of every worker printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker has the parent's policies already; a spawned one loads them.
    inherited = _worker[0] if _worker is not None and _worker[1] == job else None
    _worker = (inherited or load_policies(job.policy_dir), job)
    _keep_out_of_gc()


def _keep_out_of_gc() -> None:
    """The policies live as long as the run: the collector need not scan them again.

    Each order allocates and frees many small objects; a higher first threshold makes
    the collector run less often (the cycles it finds are rare here).
    """
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


@contextmanager
def _collector_tuned() -> Iterator[None]:
    """``_keep_out_of_gc`` for the length of a run, then the caller's settings again (tests run in one process)."""
    threshold = gc.get_threshold()
    _keep_out_of_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


# A Result as it crosses from a worker to the parent: a plain tuple of plain values (the refund
# as its string, the row as str plus whether it was Encoded) pickles an order of magnitude
# faster than the named tuple with a Decimal and a str subclass in it.
Packed = tuple[str, int, str | None, list[Problem], str, str, str, Any, bool]


def _decide_chunk(items: list[tuple[Any, ...]]) -> list[Packed]:
    assert _worker is not None
    return [_pack(result) for result in _decide_chunk_with([RawItem(*item) for item in items], *_worker)]


def _plain(chunk: list[RawItem]) -> list[tuple[Any, ...]]:
    """A chunk as it crosses to a worker: plain tuples pickle several times faster than named ones."""
    return [tuple(item) for item in chunk]


def _pack(r: Result) -> Packed:
    encoded = isinstance(r.row, Encoded)
    return (r.source, r.line, r.order_id, r.problems, r.outcome, r.currency, str(r.refund),
            str(r.row) if encoded else r.row, encoded)  # fmt: skip


def _unpack(batch: list[Packed]) -> list[Result]:
    return [
        Result(source, line, order_id, problems, outcome, currency, Decimal(refund), Encoded(row) if encoded else row)
        for source, line, order_id, problems, outcome, currency, refund, row, encoded in batch
    ]


def _decide_chunk_with(items: list[RawItem], policies: PolicySet, job: Job) -> list[Result]:
    if job.shard is not None:  # here, in the worker: picking decodes each JSON record
        items = list(job.shard.select(items))
    return [_decide_one(item, policies, job) for item in items]


def _decide_one(item: RawItem, policies: PolicySet, job: Job) -> Result:
    record = to_record(item)
    if record.order is None:
        return Result(record.source, record.line, None, record.problems)
    decision = decide(record.order, policies, job.as_of)
    return Result(
        record.source,
        record.line,
        record.order.id,
        [],
        decision.outcome,
        decision.currency,
        decision.refund,
        job.make_row(decision),
    )


def decide_records(paths: list[str], job: Job, policies: PolicySet, jobs: int = 1) -> Iterator[Result]:
    """Every record of ``paths`` decided, in input order; duplicates become problems."""
    global _worker  # noqa: PLW0603 - handed to forked workers, so that they need not load the policies again
    dedup = Dedup()
    try:
        with _collector_tuned():
            if jobs <= 1:
                batches = (_decide_chunk_with(chunk, policies, job) for chunk in chunks(iter_raw(paths)))
                yield from _dedup(batches, dedup)
                return
            _worker = (policies, job)
            with multiprocessing.Pool(jobs, initializer=_init_worker, initargs=(job,)) as pool:
                tasks = map(_plain, chunks(iter_raw(paths)))
                yield from _dedup(map(_unpack, pool.imap(_decide_chunk, tasks)), dedup)
    finally:
        _worker = None
        dedup.close()


def _dedup(batches: Iterable[list[Result]], dedup: Dedup) -> Iterator[Result]:
    for batch in batches:
        problems = dedup.duplicates([(r.order_id, r.source, r.line) for r in batch])
        for result, problem in zip(batch, problems, strict=True):
            yield result if problem is None else Result(result.source, result.line, None, [problem])
