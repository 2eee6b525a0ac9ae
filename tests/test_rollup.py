"""The rollup path: 15-minute cells with running totals, and raw records at the edges."""

from __future__ import annotations

import factories
import numpy as np
import pytest
import strategies
from factories import PARENT, at, conversation
from hypothesis import event, given, settings
from hypothesis import strategies as st

from usagekit.mock.core.buckets import Granularity, bucket_grid
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.rollup import INDEX_CELLS, SLOT, Rollup
from usagekit.mock.core.rollup_tally import RollupCache, tally_rollup
from usagekit.mock.core.tally import Tally, tally_records
from usagekit.mock.core.zones import get_timeline


def same(a: Tally, b: Tally) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("bucket", "keys", "seconds", "conversations")
    )


@pytest.mark.parametrize("index_cells", [INDEX_CELLS, 0], ids=["slot index", "binary search"])
def test_rollup_totals_are_sums_over_slots_per_group(index_cells):
    records = [
        conversation("2024-05-01T10:00:00Z", 1, agent="agent-a"),
        conversation("2024-05-01T10:14:59Z", 2, agent="agent-a"),
        conversation("2024-05-01T10:15:00Z", 4, agent="agent-a"),
        conversation("2024-05-01T10:20:00Z", 8, agent="agent-b"),
        conversation("2024-05-01T11:59:59Z", 16, agent="agent-b"),
    ]
    scope = factories.dataset(records).scope(PARENT)
    rollup = Rollup.build(scope, ("agent",), index_cells=index_cells)
    assert (rollup.index is None) == (index_cells == 0)
    assert rollup.groups.tolist() == [[0], [1]]  # agent-a, agent-b
    slot = at("2024-05-01T10:00:00Z") // SLOT
    # Intervals of slots: [10:00, 10:15), [10:15, 11:00), [11:00, 12:00), and beyond.
    edges = np.array([slot, slot + 1, slot + 4, slot + 8, slot + 100])
    usage = rollup.totals(edges)  # (intervals, groups, 2)
    seconds, conversations = usage[..., 0].T, usage[..., 1].T
    assert seconds.tolist() == [[3, 4, 0, 0], [0, 8, 16, 0]]
    assert conversations.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0]]
    # Before the first slot and after the last, every total is zero.
    usage = rollup.totals(np.array([slot - 50, slot - 1, slot, slot + 200, slot + 300]))
    assert usage[..., 0].T.tolist() == [[0, 0, 3 + 4, 0], [0, 0, 24, 0]]


def test_rollups_are_built_once_per_scope_and_dimension_set():
    scope = factories.dataset([conversation("2024-05-01T10:00:00Z", 1)]).scope(PARENT)
    cache = RollupCache()
    first = cache.get(scope, ("agent", "type"))
    assert cache.get(scope, ("agent", "type")) is first
    assert cache.get(scope, ("type",)) is not first


def test_partial_slots_at_both_ends_come_from_the_raw_records():
    # The range 10:07:30-12:52:30 cuts the slots at both ends; the records in the
    # cut parts, outside the range, must not be counted.
    records = [
        conversation(f"2024-05-01T{h:02d}:{m:02d}:30Z", 1 + h + m)
        for h in range(9, 14)
        for m in range(0, 60, 5)
    ]
    scope = factories.dataset(records).scope(PARENT)
    timeline = get_timeline("UTC")
    start, end = at("2024-05-01T10:07:30Z"), at("2024-05-01T12:52:30Z")
    grid = bucket_grid(timeline, Granularity.HOUR, start, end, 500)
    for dimensions in ((), ("agent",)):
        fast = tally_rollup(scope, RollupCache(), dimensions, grid.edges, start)
        assert fast is not None
        assert same(fast, tally_records(scope, dimensions, grid.edges, start, len(grid)))
    ungrouped = tally_rollup(scope, RollupCache(), (), grid.edges, start)
    assert ungrouped is not None
    # 10:10:30 .. 10:55:30 are counted, 10:05:30 is not: 10 records in hour 10.
    assert ungrouped.conversations.tolist() == [10, 12, 11]


def test_rollups_decline_edges_off_the_15_minute_grid_and_tiny_ranges():
    vienna = get_timeline("Europe/Vienna")  # local mean time, +1:05:21, in 1890
    start = parse_datetime("1890-01-01T00:00:00").instant(vienna)
    records = [conversation("1890-01-01T00:00:00Z", 1)]
    scope = factories.dataset(records).scope(PARENT)
    grid = bucket_grid(vienna, Granularity.HOUR, start, start + 5 * 3600 * US, 500)
    assert not grid.on_slots
    assert tally_rollup(scope, RollupCache(), (), grid.edges, start) is None
    utc = get_timeline("UTC")
    start = at("2024-05-01T10:01:00Z")
    grid = bucket_grid(utc, Granularity.HOUR, start, start + 10 * 60 * US, 500)
    assert tally_rollup(scope, RollupCache(), (), grid.edges, start) is None


@settings(max_examples=300, deadline=None)
@given(
    strategies.windows(since=1975),
    st.lists(st.sampled_from(["agent", "subaccount", "type"]), unique=True),
    st.integers(0, 2**32 - 1),
)
def test_rollup_path_equals_raw_path(window, dimensions, seed):
    timeline = get_timeline(window.tz)
    grid = bucket_grid(
        timeline, Granularity(window.granularity), window.start, window.end, window.limit
    )
    edges = grid.edges
    stop = int(edges[-1])
    # Dense inside the range, sparse around it, and on every bucket edge.
    span = stop - int(edges[0])
    records = strategies.conversations(seed, window.start, stop, 30 * len(grid))
    records += strategies.conversations(
        seed + 1, int(edges[0]) - span, stop + span, 20, at=[*edges.tolist(), window.start]
    )
    scope = factories.dataset(records).scope(PARENT)
    dimensions = tuple(dimensions)
    if grid.on_slots:  # the grid's word is taken for it: it must hold
        assert not np.any(edges[1:-1] % SLOT)
    fast = tally_rollup(
        scope, RollupCache(), dimensions, edges, window.start, on_slots=grid.on_slots
    )
    searched = tally_rollup(scope, RollupCache(index_cells=0), dimensions, edges, window.start)
    slow = tally_records(scope, dimensions, edges, window.start, len(grid))
    event("declined" if fast is None else "rollup")
    if fast is None:
        # The two reasons to decline: an inner edge off the grid, or less than a slot.
        off_grid = bool(np.any(edges[1:-1] % SLOT))
        assert off_grid or -(-window.start // SLOT) >= stop // SLOT
    else:
        assert same(fast, slow)
        assert searched is not None
        assert same(searched, slow)


def test_a_scope_without_records_tallies_zeros_from_rollups():
    scope = factories.dataset([]).scope(PARENT)
    timeline = get_timeline("UTC")
    start, end = at("2024-05-01T10:07:30Z"), at("2024-05-01T12:52:30Z")
    grid = bucket_grid(timeline, Granularity.HOUR, start, end, 500)
    for dimensions in ((), ("agent",), ("type", "agent")):
        fast = tally_rollup(scope, RollupCache(), dimensions, grid.edges, start)
        assert fast is not None
        assert same(fast, tally_records(scope, dimensions, grid.edges, start, len(grid)))
