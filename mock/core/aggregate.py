"""The reference aggregator: the exact answer to any usage query.

``aggregate(dataset, query)`` implements the contract's semantics (see
``openapi.yaml``): completed conversations of the account's scope whose start
lies in ``[start, end)``, counted wholly in the bucket that holds their start,
in dense local-calendar buckets cut at ``limit``, with one value per bucket
when ungrouped and one per occurring combination of dimension values, in
sorted order, when grouped.

Two paths give the same answer: the raw records (:mod:`.tally`) and the
15-minute rollups (:mod:`.rollup`), which make a query cost in proportion to
buckets x groups. :class:`Aggregator` picks the cheaper one per query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .buckets import bucket_grid
from .dataset import Dataset
from .query import UsageQuery
from .response import UsageMeta, UsageResult
from .rollup_tally import RollupCache, tally_rollup
from .tally import Tally, record_range, tally_slice

__all__ = ["Aggregator", "aggregate"]


@dataclass(slots=True, eq=False)
class Aggregator:
    """Answers queries over one dataset, keeping rollups between queries.

    ``use_rollups=False`` answers every query from the raw records; the two
    paths must agree, and the tests hold them to it.
    """

    dataset: Dataset
    use_rollups: bool = True
    _rollups: RollupCache = field(default_factory=RollupCache)

    def __call__(self, query: UsageQuery) -> UsageResult:
        scope = self.dataset.scope(query.account_id)
        grid = bucket_grid(query.timeline, query.granularity, query.start, query.end, query.limit)
        dimensions = query.dimensions
        # The range's records: the rollups pay off past a few records per bucket.
        lo, hi = record_range(scope, query.start, int(grid.edges[-1]))
        tally: Tally | None = None
        if self.use_rollups and hi - lo > 8 * len(grid.edges):
            tally = tally_rollup(
                scope,
                self._rollups,
                dimensions,
                grid.edges,
                query.start,
                on_slots=grid.on_slots,
                records=(lo, hi),
            )
        if tally is None:
            tally = tally_slice(scope, dimensions, grid.edges, lo, hi, len(grid))
        return UsageResult(
            meta=UsageMeta.of(query),
            grid=grid,
            tally=tally,
            tables=tuple(scope.values(d) for d in dimensions),
        )


def aggregate(dataset: Dataset, query: UsageQuery) -> UsageResult:
    """The exact answer to ``query`` over ``dataset`` (raw records, no caching)."""
    return Aggregator(dataset, use_rollups=False)(query)
