"""A query's tally from the 15-minute rollups (:mod:`.rollup`), and the rollups kept
per scope and dimension set between queries.

The rollups give the usage of every group between any two slot edges; a query's
buckets are such intervals when its inner edges lie on the slot grid, and the
partial slots at its two ends are read from the raw records. The groups are
ordered once per rollup by the ranks the query's order of dimensions gives them,
so that the non-zero cells, read row by row, come out in the answer's order.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .dataset import Scope
from .rollup import CANONICAL, INDEX_CELLS, SLOT, Rollup, take_pairs
from .tally import Tally

__all__ = ["RollupCache", "tally_rollup"]


@dataclass(slots=True, eq=False)
class RollupCache:
    """Rollups built on first use, one per (scope, dimension set).

    A scope with a :class:`~.dataset.Derived` store has its rollups kept there,
    so that one process builds each and the others map it.
    """

    #: Passed to :meth:`Rollup.build` (tests set 0 to take the binary-search path).
    index_cells: int = INDEX_CELLS
    _built: dict[tuple[str, tuple[str, ...]], Rollup] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ordered: dict[tuple[int, tuple[int, ...]], _Ordered] = field(default_factory=dict)

    def get(self, scope: Scope, dimensions: tuple[str, ...]) -> Rollup:
        key = (scope.account_id, dimensions)
        found = self._built.get(key)
        if found is None:
            with self._lock:
                found = self._built.get(key)
                if found is None:
                    found = self._kept(scope, dimensions)
                    self._built[key] = found
        return found

    def _kept(self, scope: Scope, dimensions: tuple[str, ...]) -> Rollup:
        def build() -> Rollup:
            return Rollup.build(scope, dimensions, index_cells=self.index_cells)

        if scope.derived is None:
            return build()
        # Built once for every process that maps the same dataset (workers share its pages).
        name = f"rollup {scope.account_id} {'+'.join(dimensions)} {self.index_cells}"
        return scope.derived.keep(name, Rollup, build)

    def ordered(
        self, rollup: Rollup, requested: tuple[int, ...]
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """How to order ``rollup``'s groups by their ranks in the requested order of its
        dimensions (``requested[j]``: the requested ``j``-th one's column), ``None`` when
        they already are, and the groups' ranks in that order; sorted once per rollup."""
        found = self._ordered.get((id(rollup), requested))
        if found is None or found.rollup is not rollup:
            keys = rollup.groups[:, list(requested)]
            order = None
            if list(requested) != sorted(requested) and len(keys):
                order = np.lexsort(keys.T[::-1])
                keys = keys[order]
            found = _Ordered(rollup, order, keys)
            self._ordered[(id(rollup), requested)] = found
        return found.order, found.keys


@dataclass(frozen=True, slots=True)
class _Ordered:
    rollup: Rollup
    order: np.ndarray | None
    keys: np.ndarray


def tally_rollup(
    scope: Scope,
    cache: RollupCache,
    dimensions: Sequence[str],
    edges: np.ndarray,
    start: int,
    *,
    on_slots: bool = False,
    records: tuple[int, int] | None = None,
) -> Tally | None:
    """The tally of ``[start, edges[-1])`` from rollups, or ``None`` off the grid.

    ``on_slots``: the caller knows that every inner edge is on the slot grid
    (:attr:`.BucketGrid.on_slots`), which is then not checked again; ``records``:
    the range's records, as :func:`.tally.record_range` found them.
    """
    relative = edges // SLOT
    # A multiplication tells the grid, cheaper than a remainder.
    if not on_slots and (relative[1:-1] * SLOT != edges[1:-1]).any():
        return None
    stop = int(edges[-1])
    first_slot, last_slot = -(-start // SLOT), stop // SLOT
    if first_slot >= last_slot:
        return None  # the range is within one slot: the raw records are cheaper
    canonical, requested = _orders(tuple(dimensions))
    rollup = cache.get(scope, canonical)
    relative -= rollup.first
    # Ascending: within [0, span] when both ends are (told on Python ints).
    first, last = first_slot - rollup.first, last_slot - rollup.first
    relative[0], relative[-1] = first, last
    if first < 0 or last > rollup.span:
        relative = np.minimum(np.maximum(relative, 0), rollup.span)
    usage = rollup.totals_within(relative)  # (buckets, groups, 2)
    # The partial slots at both ends come from the raw records. Every inner edge is on
    # the slot grid, so the first one's records are in the first bucket, the last's in
    # the last.
    if records is None:
        records = scope.start.searchsorted((start, stop)).tolist()
    head, stop_at = records
    middle, tail = scope.start.searchsorted((first_slot * SLOT, last_slot * SLOT)).tolist()
    if head < middle or tail < stop_at:
        rollup.add_partial(scope, usage, (head, middle), (tail, stop_at))
    buckets = len(edges) - 1
    if not dimensions:
        totals = usage[:, 0] if usage.shape[1] else np.zeros((buckets, 2), dtype=np.int64)
        return Tally(
            bucket=np.arange(buckets, dtype=np.int64),
            keys=np.empty((buckets, 0), dtype=np.int64),
            seconds=totals[:, 0],
            conversations=totals[:, 1],
        )
    # The groups sorted by their ranks in the requested order of dimensions: then the
    # non-zero cells of the (bucket, group) matrix, row by row, come in output order.
    order, keys = cache.ordered(rollup, requested)
    if order is not None:
        usage = usage[:, order]
    # nonzero() is faster on booleans, and the method spares flatnonzero's wrappers.
    found = usage[:, :, 1].astype(bool).reshape(-1).nonzero()[0]
    cells = take_pairs(usage.reshape(-1, 2), found)
    # int64 floor division is cheap where np.divmod is not (some 4x on thousands of cells).
    bucket = found // len(keys)
    group = found - bucket * len(keys)
    return Tally(
        bucket=bucket,
        keys=keys.take(group, axis=0),  # rows: take is several times faster than []
        seconds=cells[:, 0],
        conversations=cells[:, 1],
    )


@functools.lru_cache(maxsize=64)
def _orders(dimensions: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The rollup's (canonical) dimensions, and where each requested one is among them."""
    canonical = tuple(d for d in CANONICAL if d in dimensions)
    return canonical, tuple(canonical.index(d) for d in dimensions)
