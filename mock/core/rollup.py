"""Precomputed 15-minute rollups: usage per (group, slot) with prefix sums.

Every UTC offset and transition in use since the 1970s lies on a 15-minute
grid, so every bucket edge of a modern query is a slot edge. A :class:`Rollup`
stores, for each group of a dimension set, the slots that hold conversations
and running totals over them; the usage of a group between two slot edges is
then a difference of two running totals. Where it fits in
:data:`INDEX_CELLS`, a rollup keeps for every (slot, group) the first cell at
or after it, so a query costs one row of lookups per bucket edge; otherwise as
many binary searches over the cells -- whatever the number of conversations,
since the cells of a group never outnumber the slots of the dataset's time
span. The raw records are read only for the partial slots at the two ends of
the query's range, which lie in its first and its last bucket.

A query whose inner edges are not on the grid (local mean time before 1900,
in zones that kept odd offsets) is answered from the raw records instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .buckets import SLOT_SECONDS
from .dataset import Scope
from .instants import US

__all__ = ["CANONICAL", "INDEX_CELLS", "SLOT", "Rollup", "take_pairs"]

#: The slot width (µs).
SLOT = SLOT_SECONDS * US
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
    #: ``index[s, g]``: the first cell of group ``g`` at or after relative slot ``s``
    #: (a binary search done once for every slot), or ``None`` when too large. Slot
    #: major, so that a bucket edge's cells of every group are one row.
    index: np.ndarray | None  # int32, shape (span + 1, groups)
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
            every = np.arange(span + 1)[:, None] + np.arange(len(codes), dtype=np.int64) * span
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

    def add_partial(
        self, scope: Scope, usage: np.ndarray, first: tuple[int, int], last: tuple[int, int]
    ) -> None:
        """Add the usage of ``scope``'s records ``first[0]:first[1]`` to the first row of
        ``usage`` (shape (buckets, groups, 2), C-contiguous) and of ``last[0]:last[1]``
        to its last row, in place."""
        groups = len(self.groups)
        (a, b), (c, d) = first, last
        duration = scope.duration
        if groups == 1:  # two sums of a slice each: no cells to tell apart
            usage[0, 0] += (int(duration[a:b].sum()), b - a)
            usage[-1, 0] += (int(duration[c:d].sum()), d - c)
            return
        # Each column's two slices end to end: cheaper than gathering by record numbers.
        cell = None
        for dimension, size in zip(self.dimensions, self.sizes, strict=True):
            column = scope.column(dimension)
            both = np.concatenate((column[a:b], column[c:d]), dtype=np.int64)
            cell = both if cell is None else cell * size + both
        assert cell is not None  # a rollup of more than one group has dimensions
        if groups < math.prod(self.sizes):  # else every code occurs: a code is its group
            cell = self.codes.searchsorted(cell)
        cell[b - a :] += (len(usage) - 1) * groups  # the last range's cells in the last row
        flat = usage.reshape(-1, 2)
        np.add.at(flat[:, 0], cell, np.concatenate((duration[a:b], duration[c:d])))
        np.add.at(flat[:, 1], cell, 1)

    def totals(self, slot_edges: np.ndarray) -> np.ndarray:
        """Usage per (interval between slot edges, group): shape (intervals, groups, 2),
        seconds then conversations."""
        relative = slot_edges - self.first
        if relative[0] < 0 or relative[-1] > self.span:  # ascending: the ends tell
            relative = np.minimum(np.maximum(relative, 0), self.span)
        return self.totals_within(relative)

    def totals_within(self, relative: np.ndarray) -> np.ndarray:
        """:meth:`totals` of slot edges relative to ``first``, all in ``[0, span]``."""
        if self.index is not None:
            cells = self.index.take(relative, axis=0)  # rows: several times faster than []
        else:
            groups = np.arange(len(self.groups), dtype=np.int64) * self.span
            cells = self.key.searchsorted(relative[:, None] + groups)
        found = take_pairs(self.before, cells)
        return found[1:] - found[:-1]


#: A (seconds, conversations) pair of int64 as one item, so that gathering pairs is one
#: ``take`` of 16-byte items rather than numpy's slower gather of rows.
_PAIR = np.dtype((np.void, 16))
#: Compared with an array's dtype: a type would be made a dtype at every comparison.
_INT64 = np.dtype(np.int64)


def take_pairs(pairs: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``pairs[index]`` for an int64 array of shape (n, 2): shape ``index.shape + (2,)``."""
    if pairs.dtype != _INT64 or not pairs.flags.c_contiguous:
        return pairs.astype(np.int64)[index]
    return pairs.view(_PAIR).reshape(-1).take(index).view(np.int64).reshape(*index.shape, 2)
