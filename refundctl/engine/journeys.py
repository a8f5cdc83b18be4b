"""An order's segments as journeys: what every passenger-rights regulation decides on.

A journey is a run of connecting segments. It ends where the traveller stays: a break
of more than 24 hours between one segment's scheduled arrival and the next segment's
scheduled departure (exactly 24 hours is still a connection), or a next segment that
goes back to an airport the journey already passed through (the return to the first
origin, or any turnaround). Outbound and return are two journeys; a connection is within
one. Its origin is the first departure airport, its destination the last arrival airport;
its departure and arrival (scheduled, changed, actual) are those of its first and last
segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from refundctl.orders.model import Segment

MAX_CONNECTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Journey:
    number: int  # 1-based, in order
    indexes: tuple[int, ...]  # positions in the order's ``segments`` (0-based, as in JSON)
    segments: tuple[Segment, ...]

    @property
    def origin(self) -> str:
        return self.segments[0].origin

    @property
    def destination(self) -> str:
        return self.segments[-1].destination

    @property
    def departs_at(self) -> datetime:
        return self.segments[0].departs_at

    @property
    def arrives_at(self) -> datetime:
        return self.segments[-1].arrives_at

    @property
    def changed_departs_at(self) -> datetime:
        """The first departure after a schedule change (the scheduled one when it did not change)."""
        first = self.segments[0]
        return first.changed_departs_at if first.status == "changed" and first.changed_departs_at else first.departs_at

    @property
    def changed_arrives_at(self) -> datetime:
        last = self.segments[-1]
        return last.changed_arrives_at if last.status == "changed" and last.changed_arrives_at else last.arrives_at

    @property
    def actual_arrives_at(self) -> datetime | None:
        """When the last segment's door opened, if it was flown and the order says so."""
        return self.segments[-1].actual_arrives_at

    @property
    def airports(self) -> tuple[str, ...]:
        """Every airport the journey touches, schedule changes included, in order of first mention."""
        codes: dict[str, None] = {}
        for s in self.segments:
            for code in (s.origin, s.changed_from, s.destination, s.changed_to):
                if code:
                    codes.setdefault(code)
        return tuple(codes)

    @property
    def cancelled(self) -> bool:
        return any(s.status == "cancelled" for s in self.segments)

    @property
    def changed(self) -> bool:
        return any(s.status == "changed" for s in self.segments)

    @property
    def flown(self) -> tuple[int, ...]:
        return tuple(i for i, s in zip(self.indexes, self.segments, strict=True) if s.status == "flown")

    @property
    def disrupted(self) -> bool:
        """Cancelled, changed, or flown with a recorded arrival time (a possible delay)."""
        return self.cancelled or self.changed or self.actual_arrives_at is not None

    def label(self) -> str:
        first, last = self.indexes[0] + 1, self.indexes[-1] + 1
        which = f"segment {first}" if first == last else f"segments {first}-{last}"
        return f"journey {self.number} ({which}, {self.origin}-{self.destination})"


def journeys(segments: Sequence[Segment]) -> tuple[Journey, ...]:
    """``segments`` cut into journeys, in order of departure; see the module docstring."""
    groups: list[list[int]] = []
    for i in sorted(range(len(segments)), key=lambda k: segments[k].departs_at):
        s = segments[i]
        current = groups[-1] if groups else None
        if current is not None:
            previous = segments[current[-1]]
            visited = {segments[current[0]].origin, *(segments[k].destination for k in current)}
            if s.departs_at - previous.arrives_at <= MAX_CONNECTION and s.destination not in visited:
                current.append(i)
                continue
        groups.append([i])
    return tuple(Journey(n, tuple(group), tuple(segments[i] for i in group)) for n, group in enumerate(groups, start=1))
