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
from .tally import Tally, combine, tally_slice

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
            key=ordered[firsts],
            seconds_before=np.concatenate([[0], np.cumsum(seconds)]).astype(np.int64),
            conversations_before=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            first=first,
            span=span,
        )

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
    seconds, conversations = rollup.totals(slot_edges)
    buckets = len(edges) - 1
    # The groups' ranks in the requested order of dimensions.
    keys = rollup.groups[:, [canonical.index(d) for d in dimensions]]
    if dimensions:
        group, bucket = np.nonzero(conversations)
        middle = _ordered(bucket, keys[group], seconds[group, bucket], conversations[group, bucket])
    else:
        middle = Tally(
            bucket=np.arange(buckets, dtype=np.int64),
            keys=np.empty((buckets, 0), dtype=np.int64),
            seconds=seconds.sum(axis=0) if len(seconds) else np.zeros(buckets, np.int64),
            conversations=(
                conversations.sum(axis=0) if len(conversations) else np.zeros(buckets, np.int64)
            ),
        )
    # The partial slots at both ends come from the raw records.
    head_lo = int(np.searchsorted(scope.start, start, side="left"))
    head_hi = int(np.searchsorted(scope.start, first_slot * SLOT, side="left"))
    tail_lo = int(np.searchsorted(scope.start, last_slot * SLOT, side="left"))
    tail_hi = int(np.searchsorted(scope.start, stop, side="left"))
    head = tally_slice(scope, dimensions, edges, head_lo, head_hi, buckets)
    tail = tally_slice(scope, dimensions, edges, tail_lo, tail_hi, buckets)
    if not dimensions:
        return Tally(
            bucket=middle.bucket,
            keys=middle.keys,
            seconds=middle.seconds + head.seconds + tail.seconds,
            conversations=middle.conversations + head.conversations + tail.conversations,
        )
    sizes = [len(scope.values(d)) for d in dimensions]
    return combine([middle, head, tail], sizes)


def _ordered(
    bucket: np.ndarray, keys: np.ndarray, seconds: np.ndarray, conversations: np.ndarray
) -> Tally:
    order = np.lexsort([*(keys[:, j] for j in range(keys.shape[1] - 1, -1, -1)), bucket])
    return Tally(
        bucket=bucket[order].astype(np.int64),
        keys=keys[order],
        seconds=seconds[order].astype(np.int64),
        conversations=conversations[order].astype(np.int64),
    )
