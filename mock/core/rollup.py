"""Precomputed 15-minute rollups: usage per (group, slot) with prefix sums.

Every UTC offset and transition in use since the 1970s lies on a 15-minute
grid, so every bucket edge of a modern query is a slot edge. A :class:`Rollup`
stores, for each group of a dimension set, the slots that hold conversations
and running totals over them; the usage of a group between two slot edges is
then a difference of two running totals. Where it fits in
:data:`INDEX_CELLS`, a rollup keeps for every (group, slot) the first cell at
or after it, so a query costs ``groups x buckets`` lookups; otherwise as many
binary searches over the cells -- whatever the number of conversations, since
the cells of a group never outnumber the slots of the dataset's time span.
The raw records are read only for the partial slots at the two ends of the
query's range.

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
#: Largest slot index a rollup keeps (groups x slots, 4 bytes each: 4 MiB, about a
#: year of slots for 27 groups); past it a query binary-searches the cells instead,
#: which costs more time and no memory.
INDEX_CELLS = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Rollup:
    """One scope's usage per (group, slot) for one set of dimensions.

    Cell ``i`` is group ``key[i] // span`` in slot ``first + key[i] % span``;
    ``groups[g]`` holds group ``g``'s rank in each of ``dimensions``'s tables.
    ``before[i]`` totals the seconds and the conversations of the cells
    before ``i``; keys ascend, so a group's cells are one run, by slot.
    """

    dimensions: tuple[str, ...]
    groups: np.ndarray  # int64, shape (groups, dimensions)
    #: Each group's combined code (ranks in mixed radix of the tables' sizes), ascending.
    codes: np.ndarray  # int64
    sizes: tuple[int, ...]
    key: np.ndarray  # int64, ascending
    before: np.ndarray  # int64, shape (len(key) + 1, 2): seconds, conversations
    #: ``index[g, s]``: the first cell of group ``g`` at or after relative slot ``s``
    #: (a binary search done once for every slot), or ``None`` when too large.
    index: np.ndarray | None  # int32, shape (groups, span + 1)
    first: int
    span: int

    @classmethod
    def build(
        cls, scope: Scope, dimensions: tuple[str, ...], *, index_cells: int = INDEX_CELLS
    ) -> Rollup:
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
        cells = ordered[firsts]
        index = None
        if len(codes) * (span + 1) <= index_cells and len(cells) < 2**31:
            every = np.arange(len(codes), dtype=np.int64)[:, None] * span + np.arange(span + 1)
            index = cells.searchsorted(every).astype(np.int32)
        return cls(
            dimensions=dimensions,
            groups=groups,
            codes=codes.astype(np.int64),
            sizes=tuple(sizes),
            key=cells,
            index=index,
            before=np.concatenate(
                [[[0, 0]], np.cumsum(np.stack([seconds, counts], axis=1), axis=0)]
            )
            .astype(np.int64)
            .reshape(-1, 2),
            first=first,
            span=span,
        )

    def group_of(self, scope: Scope, records: np.ndarray) -> np.ndarray:
        """The group of each of ``scope``'s ``records`` (indices)."""
        code = np.zeros(len(records), dtype=np.int64)
        for dimension, size in zip(self.dimensions, self.sizes, strict=True):
            code = code * size + scope.column(dimension)[records]
        return self.codes.searchsorted(code)

    def totals(self, slot_edges: np.ndarray) -> np.ndarray:
        """Usage per (group, interval between slot edges): shape (groups, intervals, 2),
        seconds then conversations."""
        relative = np.minimum(np.maximum(slot_edges - self.first, 0), self.span)
        if self.index is not None:
            found = self.before[self.index[:, relative]]
        else:
            groups = np.arange(len(self.groups), dtype=np.int64)[:, None]
            found = self.before[self.key.searchsorted(groups * self.span + relative)]
        return found[:, 1:] - found[:, :-1]


@dataclass(slots=True, eq=False)
class RollupCache:
    """Rollups built on first use, one per (scope, dimension set)."""

    #: Passed to :meth:`Rollup.build` (tests set 0 to take the binary-search path).
    index_cells: int = INDEX_CELLS
    _built: dict[tuple[str, tuple[str, ...]], Rollup] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, scope: Scope, dimensions: tuple[str, ...]) -> Rollup:
        key = (scope.account_id, dimensions)
        found = self._built.get(key)
        if found is None:
            with self._lock:
                found = self._built.get(key)
                if found is None:
                    found = Rollup.build(scope, dimensions, index_cells=self.index_cells)
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
    usage = rollup.totals(slot_edges)  # (groups, buckets, 2)
    # The partial slots at both ends come from the raw records, added cell by cell.
    starts = scope.start
    head, middle, tail, stop_at = starts.searchsorted(
        [start, first_slot * SLOT, last_slot * SLOT, stop]
    )
    ends = np.concatenate([np.arange(head, middle), np.arange(tail, stop_at)])
    if len(ends):
        bucket = edges.searchsorted(starts[ends], side="right") - 1
        np.add.at(
            usage,
            (rollup.group_of(scope, ends), bucket),
            np.stack([scope.duration[ends], np.ones_like(ends)], axis=1),
        )
    buckets = len(edges) - 1
    if not dimensions:
        totals = usage.sum(axis=0) if len(usage) else np.zeros((buckets, 2), np.int64)
        return Tally(
            bucket=np.arange(buckets, dtype=np.int64),
            keys=np.empty((buckets, 0), dtype=np.int64),
            seconds=totals[:, 0],
            conversations=totals[:, 1],
        )
    # The groups' ranks in the requested order of dimensions, groups sorted by them:
    # then the non-zero cells of the (bucket, group) matrix come in output order.
    keys = rollup.groups[:, [canonical.index(d) for d in dimensions]]
    order = np.lexsort(keys.T[::-1]) if len(keys) else np.empty(0, np.intp)
    by_bucket = usage[order].transpose(1, 0, 2)
    bucket, group = np.nonzero(by_bucket[:, :, 1])
    cells = by_bucket[bucket, group]
    return Tally(
        bucket=bucket.astype(np.int64),
        keys=keys[order][group],
        seconds=cells[:, 0],
        conversations=cells[:, 1],
    )
