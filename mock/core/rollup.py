"""Precomputed 15-minute rollups: usage per (group, slot) with prefix sums.

Every UTC offset and transition in use since the 1970s lies on a 15-minute
grid, so every bucket edge of a modern query is a slot edge. A :class:`Rollup`
stores, for each group of a dimension set, the slots that hold conversations
and running totals over them; the usage of a group between two slot edges is
then a difference of two running totals, found by binary search. A query
costs about ``groups x buckets`` binary searches over the cells -- whatever
the number of conversations, since the cells of a group never outnumber the
slots of the dataset's time span. The raw records are read only for the
partial slots at the two ends of the query's range.

A query whose inner edges are not on the grid (local mean time before 1900,
in zones that kept odd offsets) is answered from the raw records instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .dataset import Scope
from .tally import Tally

__all__ = ["SLOT", "Rollup", "RollupCache", "tally_rollup"]

#: The slot width (µs).
SLOT = 15 * 60 * 1_000_000
#: The dimension order rollups are keyed in; any requested order maps onto it.
CANONICAL = ("agent", "subaccount", "type")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Rollup:
    """One scope's usage per (group, slot) for one set of dimensions.

    Cell ``i`` is group ``key[i] // span`` in slot ``first + key[i] % span``;
    ``groups[g]`` holds group ``g``'s rank in each of ``dimensions``'s tables.
    ``seconds_before[i]`` and ``conversations_before[i]`` total the cells
    before ``i``; keys ascend, so a group's cells are one run, by slot.
    """

    dimensions: tuple[str, ...]
    groups: np.ndarray  # int64, shape (groups, dimensions)
    #: Each group's combined code (ranks in mixed radix of the tables' sizes), ascending.
    codes: np.ndarray  # int64
    sizes: tuple[int, ...]
    key: np.ndarray  # int64, ascending
    seconds_before: np.ndarray  # int64, len(key) + 1
    conversations_before: np.ndarray  # int64, len(key) + 1
    first: int
    span: int

    @classmethod
    def build(cls, scope: Scope, dimensions: tuple[str, ...]) -> Rollup:
        sizes = [len(scope.values(d)) for d in dimensions]
        group_code = np.zeros(len(scope), dtype=np.int64)
        for dimension, size in zip(dimensions, sizes, strict=True):
            group_code = group_code * size + scope.column(dimension)
        codes, group = np.unique(group_code, return_inverse=True)
        slot = scope.start // SLOT
        first = int(slot[0]) if len(slot) else 0
        span = int(slot[-1]) - first + 1 if len(slot) else 1
        key = group.astype(np.int64) * span + (slot - first)
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        firsts = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1))
        seconds = np.add.reduceat(scope.duration[order], firsts) if len(key) else key
        counts = np.diff(np.append(firsts, len(key)))
        groups = np.empty((len(codes), len(sizes)), dtype=np.int64)
        rest = codes.copy()
        for j in range(len(sizes) - 1, -1, -1):
            rest, groups[:, j] = np.divmod(rest, sizes[j])
        return cls(
            dimensions=dimensions,
            groups=groups,
            codes=codes.astype(np.int64),
            sizes=tuple(sizes),
            key=ordered[firsts],
            seconds_before=np.concatenate([[0], np.cumsum(seconds)]).astype(np.int64),
            conversations_before=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            first=first,
            span=span,
        )

    def group_of(self, scope: Scope, lo: int, hi: int) -> np.ndarray:
        """The group of each of the records ``lo:hi`` of ``scope``."""
        code = np.zeros(hi - lo, dtype=np.int64)
        for dimension, size in zip(self.dimensions, self.sizes, strict=True):
            code = code * size + scope.column(dimension)[lo:hi]
        return np.searchsorted(self.codes, code)

    def totals(self, slot_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and conversations per (group, interval between slot edges)."""
        relative = np.clip(slot_edges - self.first, 0, self.span)
        groups = np.arange(len(self.groups), dtype=np.int64)[:, None]
        index = np.searchsorted(self.key, groups * self.span + relative[None, :], side="left")
        seconds = np.diff(self.seconds_before[index], axis=1)
        conversations = np.diff(self.conversations_before[index], axis=1)
        return seconds, conversations


@dataclass(slots=True, eq=False)
class RollupCache:
    """Rollups built on first use, one per (scope, dimension set)."""

    _built: dict[tuple[str, tuple[str, ...]], Rollup] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, scope: Scope, dimensions: tuple[str, ...]) -> Rollup:
        key = (scope.account_id, dimensions)
        found = self._built.get(key)
        if found is None:
            with self._lock:
                found = self._built.get(key)
                if found is None:
                    found = Rollup.build(scope, dimensions)
                    self._built[key] = found
        return found


def tally_rollup(
    scope: Scope,
    cache: RollupCache,
    dimensions: Sequence[str],
    edges: np.ndarray,
    start: int,
) -> Tally | None:
    """The tally of ``[start, edges[-1])`` from rollups, or ``None`` off the grid."""
    inner = edges[1:-1]
    if np.any(inner % SLOT):
        return None
    stop = int(edges[-1])
    first_slot, last_slot = -(-start // SLOT), stop // SLOT
    if first_slot >= last_slot:
        return None  # the range is within one slot: the raw records are cheaper
    canonical = tuple(d for d in CANONICAL if d in dimensions)
    rollup = cache.get(scope, canonical)
    slot_edges = np.concatenate([[first_slot], inner // SLOT, [last_slot]]).astype(np.int64)
    seconds, conversations = rollup.totals(slot_edges)  # (groups, buckets)
    # The partial slots at both ends come from the raw records, added cell by cell.
    starts = scope.start
    head = np.searchsorted(starts, [start, first_slot * SLOT, last_slot * SLOT, stop])
    ends = [(int(head[0]), int(head[1])), (int(head[2]), int(head[3]))]
    for lo, hi in ends:
        if hi > lo:
            bucket = np.searchsorted(edges, starts[lo:hi], side="right") - 1
            cell = (rollup.group_of(scope, lo, hi), bucket)
            np.add.at(seconds, cell, scope.duration[lo:hi])
            np.add.at(conversations, cell, 1)
    buckets = len(edges) - 1
    if not dimensions:
        return Tally(
            bucket=np.arange(buckets, dtype=np.int64),
            keys=np.empty((buckets, 0), dtype=np.int64),
            seconds=seconds.sum(axis=0) if len(seconds) else np.zeros(buckets, np.int64),
            conversations=(
                conversations.sum(axis=0) if len(conversations) else np.zeros(buckets, np.int64)
            ),
        )
    # The groups' ranks in the requested order of dimensions, groups sorted by them:
    # then the non-zero cells of the (bucket, group) matrix come in output order.
    keys = rollup.groups[:, [canonical.index(d) for d in dimensions]]
    order = np.lexsort(keys.T[::-1]) if len(keys) else np.empty(0, np.intp)
    by_bucket = conversations[order].T
    bucket, group = np.nonzero(by_bucket)
    return Tally(
        bucket=bucket.astype(np.int64),
        keys=keys[order][group],
        seconds=seconds[order].T[bucket, group],
        conversations=by_bucket[bucket, group],
    )
