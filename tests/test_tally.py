"""The raw path: records of a range into (bucket, group) cells, in output order."""

from __future__ import annotations

import factories
import numpy as np
from factories import CHILD, PARENT, at, conversation
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.mock.core.tally import Tally, _sum_by_code, tally_records

# Three UTC hour buckets, 10:00 to 13:00.
EDGES = np.array([at(f"2024-05-01T{h}:00:00Z") for h in (10, 11, 12, 13)], dtype=np.int64)

RECORDS = [
    conversation("2024-05-01T09:59:59Z", 1),  # before the first bucket
    conversation("2024-05-01T10:00:00Z", 10, agent="agent-b"),
    conversation("2024-05-01T10:30:00Z", 20, agent=None, type="web"),
    conversation("2024-05-01T10:45:00Z", 40, agent="agent-b"),
    conversation("2024-05-01T12:59:59Z", 80, account=CHILD, agent="agent-c"),
    conversation("2024-05-01T13:00:00Z", 160),  # at the last edge: outside
    conversation("2024-05-01T11:00:00Z", 320, status="failed"),  # not counted at all
]


def rows(tally: Tally) -> list[tuple[int, tuple[int, ...], int, int]]:
    return [
        (int(b), tuple(int(k) for k in keys), int(s), int(c))
        for b, keys, s, c in zip(
            tally.bucket, tally.keys, tally.seconds, tally.conversations, strict=True
        )
    ]


def test_ungrouped_tally_has_every_bucket_with_zeros():
    scope = factories.dataset(RECORDS).scope(PARENT)
    tally = tally_records(scope, (), EDGES, int(EDGES[0]), 3)
    assert rows(tally) == [(0, (), 70, 3), (1, (), 0, 0), (2, (), 80, 1)]


def test_records_before_start_are_left_out_even_inside_the_first_bucket():
    scope = factories.dataset(RECORDS).scope(PARENT)
    tally = tally_records(scope, (), EDGES, at("2024-05-01T10:30:00Z"), 3)
    assert rows(tally)[0] == (0, (), 60, 2)


def test_grouped_tally_is_sorted_by_bucket_then_by_value_ranks():
    scope = factories.dataset(RECORDS).scope(PARENT)
    # The tables hold the values of the whole scope, sorted, whatever the range.
    assert scope.values("agent") == ("agent-a", "agent-b", "agent-c", "unassigned")
    assert scope.values("type") == ("phone", "web")
    tally = tally_records(scope, ("agent",), EDGES, int(EDGES[0]), 3)
    assert rows(tally) == [(0, (1,), 50, 2), (0, (3,), 20, 1), (2, (2,), 80, 1)]
    tally = tally_records(scope, ("type", "agent"), EDGES, int(EDGES[0]), 3)
    assert rows(tally) == [(0, (0, 1), 50, 2), (0, (1, 3), 20, 1), (2, (0, 2), 80, 1)]


def test_an_empty_range_gives_zeros_or_no_cells():
    scope = factories.dataset([]).scope(PARENT)
    assert rows(tally_records(scope, (), EDGES, int(EDGES[0]), 3)) == [
        (0, (), 0, 0),
        (1, (), 0, 0),
        (2, (), 0, 0),
    ]
    assert rows(tally_records(scope, ("agent", "type"), EDGES, int(EDGES[0]), 3)) == []


def test_sums_stay_exact_beyond_float_precision():
    # 2**53 + 1 is not a float64: summing as floats would lose the 1s.
    big = 2**53 + 1
    records = [conversation("2024-05-01T10:00:00Z", big), conversation("2024-05-01T10:10:00Z", 1)]
    scope = factories.dataset(records).scope(PARENT)
    for dimensions in ((), ("agent",)):
        tally = tally_records(scope, dimensions, EDGES, int(EDGES[0]), 3)
        assert int(tally.seconds[0]) == big + 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, 10**6)), max_size=60),
    st.sampled_from([0, 1 << 20]),
)
def test_counting_and_sorting_give_the_same_cells(cells, padding):
    # _sum_by_code counts into every possible cell when there are few, and sorts
    # the codes when there are many; ``padding`` pretends there are many.
    sizes = [3]
    code = np.array([b * 3 + k for b, k, _ in cells], dtype=np.int64)
    duration = np.array([d for _, _, d in cells], dtype=np.int64)
    tally = _sum_by_code(code, duration, sizes, 6 * 3 + padding)
    expected: dict[tuple[int, int], list[int]] = {}
    for b, k, d in cells:
        cell = expected.setdefault((b, k), [0, 0])
        cell[0] += d
        cell[1] += 1
    assert rows(tally) == [(b, (k,), s, c) for (b, k), (s, c) in sorted(expected.items())]
