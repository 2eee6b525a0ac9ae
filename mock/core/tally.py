"""Usage per (bucket, group), computed from the raw conversation records.

The records of a scope are sorted by start, so the records of a range are one
slice (two binary searches) and each record's bucket is one more binary search
against the bucket edges. Records are then ordered by a combined code --
bucket first, then each dimension's rank in ``group_by`` order -- and summed
per code with exact integer arithmetic; because the value tables are sorted,
that order is exactly the contract's output order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .dataset import Scope

__all__ = ["Tally", "record_range", "tally_records", "tally_slice"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Tally:
    """Usage cells in output order: by bucket, then by dimension values.

    ``keys[:, j]`` is the rank of row's value of the ``j``-th requested
    dimension in that dimension's sorted value table. Grouped tallies hold
    only cells with at least one conversation; ungrouped ones hold every bucket.
    """

    bucket: np.ndarray  # int64
    keys: np.ndarray  # int64, shape (rows, dimensions)
    seconds: np.ndarray  # int64
    conversations: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.bucket)


def tally_records(
    scope: Scope, dimensions: Sequence[str], edges: np.ndarray, start: int, buckets: int
) -> Tally:
    """Tally the records in ``[start, edges[-1])`` into the buckets ``edges`` delimit."""
    lo, hi = record_range(scope, start, int(edges[-1]))
    return tally_slice(scope, dimensions, edges, lo, hi, buckets)


def record_range(scope: Scope, start: int, stop: int) -> tuple[int, int]:
    """The records ``lo:hi`` of ``scope`` that start in ``[start, stop)`` (µs): one binary
    search for both ends (numpy's call costs more than the search)."""
    lo, hi = scope.start.searchsorted((start, stop)).tolist()
    return lo, hi


def tally_slice(
    scope: Scope, dimensions: Sequence[str], edges: np.ndarray, lo: int, hi: int, buckets: int
) -> Tally:
    """Tally the records ``lo:hi`` of ``scope`` (all inside ``edges``)."""
    bucket = edges.searchsorted(scope.start[lo:hi], side="right") - 1
    if not dimensions:
        found = bucket.searchsorted(np.arange(buckets + 1), side="left")
        cumulative = np.concatenate([[0], np.cumsum(scope.duration[lo:hi])])
        return Tally(
            bucket=np.arange(buckets, dtype=np.int64),
            keys=np.empty((buckets, 0), dtype=np.int64),
            seconds=cumulative[found[1:]] - cumulative[found[:-1]],
            conversations=np.diff(found).astype(np.int64),
        )
    sizes = [len(scope.values(d)) for d in dimensions]
    code = bucket.astype(np.int64)
    for dimension, size in zip(dimensions, sizes, strict=True):
        code = code * size + scope.column(dimension)[lo:hi]
    return _sum_by_code(code, scope.duration[lo:hi], sizes, buckets * math.prod(sizes))


def _sum_by_code(code: np.ndarray, duration: np.ndarray, sizes: Sequence[int], space: int) -> Tally:
    if len(code) and space <= 4 * len(code) + 4096 and _exact_in_floats(duration):
        # Few possible cells: count into each directly, O(records) instead of a sort.
        counts = np.bincount(code, minlength=space)
        present = np.flatnonzero(counts)
        seconds = np.bincount(code, weights=duration, minlength=space)[present]
        return _from_codes(present, sizes, seconds.astype(np.int64), counts[present])
    order = np.argsort(code, kind="stable")
    ordered = code[order]
    firsts = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1)) if len(code) else order
    seconds = np.add.reduceat(duration[order], firsts) if len(code) else np.empty(0, np.int64)
    conversations = np.diff(np.append(firsts, len(code)))
    return _from_codes(ordered[firsts], sizes, seconds, conversations)


def _exact_in_floats(duration: np.ndarray) -> bool:
    """Whether float64 sums of ``duration`` are exact: every partial sum of integers
    is an integer below 2**53 in magnitude, so bincount's float weights lose nothing."""
    return len(duration) * int(np.abs(duration).max()) < 2**53


def _from_codes(
    codes: np.ndarray, sizes: Sequence[int], seconds: np.ndarray, conversations: np.ndarray
) -> Tally:
    """Split combined codes back into bucket and per-dimension ranks."""
    keys = np.empty((len(codes), len(sizes)), dtype=np.int64)
    rest = codes.copy()
    for j in range(len(sizes) - 1, -1, -1):
        rest, keys[:, j] = np.divmod(rest, sizes[j])
    return Tally(
        bucket=rest,
        keys=keys,
        seconds=seconds.astype(np.int64),
        conversations=conversations.astype(np.int64),
    )
