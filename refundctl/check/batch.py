"""Decide a stream of order records in input order, in this process or in worker processes.

Reading and duplicate detection stay in the calling process, since they are
sequential by nature; splitting JSON Lines into records, decoding, validation, the
decision and the encoding of each output row are independent per record, so with
``jobs > 1`` they run in a pool of processes, chunk by chunk, and come back in input
order. The output is byte-identical whatever ``jobs`` is: both paths decide a chunk
with :func:`decide_chunk` into one :class:`Chunk`, so that the calling process does
its work per chunk, not per record (with workers, its time per record bounds the run).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from refundctl.engine import Decision, decide
from refundctl.engine.decision import SUBMITTABLE
from refundctl.errors import Problem
from refundctl.orders.dedup import CHUNK, Dedup
from refundctl.orders.json_formats import block_records
from refundctl.orders.raw import Block, RawItem, warn
from refundctl.orders.reader import read_input, to_record
from refundctl.orders.shards import Shard
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies

if TYPE_CHECKING:
    from concurrent.futures import Future

IN_FLIGHT = 2  # chunks per worker sent ahead: one being decided, one waiting

# A decision's output row: a mapping (json, table), or its line already encoded (jsonl, csv).
RowMaker = Callable[[Decision], "dict[str, Any] | str"]


class Chunk(NamedTuple):
    """The records of one chunk of one input, decided: a few objects for the whole chunk.

    A named tuple of plain values (a tuple pickles fastest): it crosses from a worker to
    the calling process once per chunk. The good records' rows come as one text (jsonl,
    csv) or as mappings (json, table); the rest is what duplicate detection and the tally
    need. ``ends`` and ``facts`` are only read when a duplicate must be cut out.
    """

    source: str
    text: str  # the good records' encoded rows, joined (jsonl, csv)
    rows: list[dict[str, Any]]  # or their rows as mappings (json, table)
    ends: list[int]  # where each good record's row ends in ``text``
    ids: list[str]  # the good records' order ids
    lines: list[int]  # and lines
    facts: str  # per good record a line "outcome currency refund" (none of them holds a space)
    counts: dict[str, int]  # good records per outcome
    totals: dict[str, str]  # refundable now, per currency (Decimal as text)
    bad: list[tuple[int, list[Problem]]]  # each bad record: how many good records come before it, its problems


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


def _decide_in_worker(task: list[tuple[Any, ...]] | Block) -> Chunk:
    assert _worker is not None
    return decide_chunk(task if isinstance(task, Block) else [RawItem(*item) for item in task], *_worker)


def _plain(part: list[RawItem] | Block) -> list[tuple[Any, ...]] | Block:
    """A chunk as it crosses to a worker: plain tuples pickle several times faster than named ones."""
    return part if isinstance(part, Block) else [tuple(item) for item in part]


def decide_chunk(part: list[RawItem] | Block, policies: PolicySet, job: Job) -> Chunk:
    """Decide the records of one chunk (all from one input), in order."""
    items = list(block_records(part)) if isinstance(part, Block) else part
    if job.shard is not None:  # here, in the worker: picking decodes each JSON record
        items = list(job.shard.select(items))
    parts: list[str] = []
    rows: list[dict[str, Any]] = []
    ends: list[int] = []
    ids: list[str] = []
    lines: list[int] = []
    facts: list[str] = []
    counts: dict[str, int] = {}
    totals: dict[str, Decimal] = {}
    bad: list[tuple[int, list[Problem]]] = []
    size = 0
    for item in items:
        record = to_record(item)
        if record.order is None:
            bad.append((len(ids), record.problems))
            continue
        decision = decide(record.order, policies, job.as_of)
        row = job.make_row(decision)
        if isinstance(row, str):
            parts.append(row)
            size += len(row)
            ends.append(size)
        else:
            rows.append(row)
        ids.append(record.order.id)
        lines.append(record.line)
        outcome, currency, refund = decision.outcome, decision.currency, decision.refund
        facts.append(f"{outcome} {currency} {refund}")
        _count(counts, totals, outcome, currency, refund)
    source = part.source if isinstance(part, Block) else items[0].source if items else ""
    totals_text = {currency: str(total) for currency, total in totals.items()}
    return Chunk(source, "".join(parts), rows, ends, ids, lines, "\n".join(facts), counts, totals_text, bad)


def _input_chunks(paths: Sequence[str]) -> Iterator[tuple[list[RawItem] | Block, list[str]]]:
    """Every input's records in chunks (a block of JSON Lines is one), each with the warnings given before it.

    A chunk holds records of one input only. The warnings (an input with no orders) are said
    when the chunk that follows them is, so that with workers reading ahead they come where
    they come with one process.
    """
    notes: list[str] = []

    def ready(part: list[RawItem] | Block) -> tuple[list[RawItem] | Block, list[str]]:
        said = notes[:]
        notes.clear()
        return part, said

    try:
        for path in paths:
            items: list[RawItem] = []
            for part in read_input(path, notes.append):
                if isinstance(part, RawItem):
                    items.append(part)
                    if len(items) < CHUNK:
                        continue
                if items:
                    yield ready(items)
                    items = []
                if isinstance(part, Block):
                    yield ready(part)
            if items:
                yield ready(items)
    except Exception:
        if notes:  # said before the error about the input that cannot be read
            yield ready([])
        raise
    if notes:  # about the last input
        yield ready([])


def decide_records(paths: list[str], job: Job, policies: PolicySet, jobs: int = 1) -> Iterator[Chunk]:
    """Every record of ``paths`` decided, chunk by chunk in input order; duplicates become bad records."""
    global _worker  # noqa: PLW0603 - handed to forked workers, so that they need not load the policies again
    dedup = Dedup()
    try:
        with _collector_tuned():
            if jobs <= 1:
                for part, notes in _input_chunks(paths):
                    chunk = decide_chunk(part, policies, job)
                    _say(notes)
                    yield _without_duplicates(chunk, dedup)
                return
            _worker = (policies, job)
            for chunk, notes in _decided_by_workers(paths, job, jobs):
                _say(notes)
                yield _without_duplicates(chunk, dedup)
    finally:
        _worker = None
        dedup.close()


def _say(notes: list[str]) -> None:
    for note in notes:
        warn(note)


def _decided_by_workers(paths: list[str], job: Job, jobs: int) -> Iterator[tuple[Chunk, list[str]]]:
    """The chunks decided by ``jobs`` worker processes, in input order, a few at a time in flight.

    Not ``multiprocessing.Pool``: its worker-handler thread wakes whenever a result is waiting
    to be read, and with results of a hundred kilobytes it spun for a third of this process's time.
    """
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415 - imported at the top, it costs -j 1 runs ~10 ms

    context = multiprocessing.get_context()
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(job,))
    pending: deque[tuple[Future[Chunk], list[str]]] = deque()
    try:
        reading = _input_chunks(paths)
        while True:
            try:
                read = next(reading, None)
            except Exception:
                while pending:  # what was read before an input failed is decided first, as with one process
                    future, notes = pending.popleft()
                    yield future.result(), notes
                raise
            if read is None:
                break
            part, notes = read
            pending.append((pool.submit(_decide_in_worker, _plain(part)), notes))
            if len(pending) > IN_FLIGHT * jobs:
                future, notes = pending.popleft()
                yield future.result(), notes
        while pending:
            future, notes = pending.popleft()
            yield future.result(), notes
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _without_duplicates(chunk: Chunk, dedup: Dedup) -> Chunk:
    """``chunk`` with each record whose id was seen before turned from a good record into a bad one."""
    found = dedup.first_seen(chunk.source, chunk.ids, chunk.lines) if chunk.ids else []
    return _cut(chunk, found) if found else chunk


def _cut(chunk: Chunk, duplicates: list[tuple[int, Problem]]) -> Chunk:
    """Rare: take the duplicates' rows out of ``chunk`` and out of its tally, and list them among the bad records."""
    cut = {index for index, _ in duplicates}
    keep = [index for index in range(len(chunk.ids)) if index not in cut]
    starts = [0, *chunk.ends]
    parts = [chunk.text[starts[index] : starts[index + 1]] for index in keep] if chunk.text else []
    every = chunk.facts.split("\n")
    facts = [every[index] for index in keep]
    counts: dict[str, int] = {}
    totals: dict[str, Decimal] = {}
    for fact in facts:
        outcome, currency, refund = fact.split(" ")
        _count(counts, totals, outcome, currency, Decimal(refund))
    # In input order: a bad record that k good records precede comes before good record k.
    merged = [((before, 0), problems) for before, problems in chunk.bad]
    merged += [((index, 1), [problem]) for index, problem in duplicates]
    merged.sort(key=lambda entry: entry[0])
    return Chunk(
        chunk.source,
        "".join(parts),
        [chunk.rows[index] for index in keep] if chunk.rows else [],
        list(accumulate(len(part) for part in parts)),
        [chunk.ids[index] for index in keep],
        [chunk.lines[index] for index in keep],
        "\n".join(facts),
        counts,
        {currency: str(total) for currency, total in totals.items()},
        [(sum(1 for index in keep if index < at), problems) for (at, _), problems in merged],
    )


def _count(counts: dict[str, int], totals: dict[str, Decimal], outcome: str, currency: str, refund: Decimal) -> None:
    """One good record in a chunk's tally."""
    counts[outcome] = counts.get(outcome, 0) + 1
    if outcome in SUBMITTABLE:  # needs_evidence amounts are not refundable yet
        totals[currency] = totals.get(currency, Decimal(0)) + refund
