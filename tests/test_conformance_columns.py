"""The value columns' verdicts against a walk of the values, on bodies drawn at random.

A rule decides from :class:`Columns` that it holds and walks the values only to
name a failure, so a column must never say "holds" where the walk would fail
(a miss), nor "fails" where it holds (which would cost a walk, not a false
alarm). Both are compared here on small bodies that often break each rule.
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.conformance.body import Bucket, UsageBody, Value
from usagekit.conformance.columns import Columns
from usagekit.conformance.stamps import Stamp

NAMES = ("agent", "type", "subaccount")
TEXTS = st.sampled_from(["", "a", "a\x00", "b", "B", "é", "ab"])
DIMENSIONS = st.one_of(st.none(), st.dictionaries(st.sampled_from(NAMES), TEXTS, max_size=3))
VALUES = st.builds(
    Value,
    seconds=st.integers(0, 5),
    conversations=st.integers(0, 2),
    dimensions=DIMENSIONS,
)
BUCKETS = st.lists(st.one_of(st.none(), st.lists(VALUES, max_size=4)), max_size=5)


def _body(buckets: list[list[Value] | None]) -> UsageBody:
    return UsageBody.of(
        meta=None,  # type: ignore[arg-type]  # the columns read only the buckets
        buckets=tuple(
            Bucket(ts=Stamp(i, 0), text=str(i), values=None if v is None else tuple(v))
            for i, v in enumerate(buckets)
        ),
        exchange=None,  # type: ignore[arg-type]
    )


def _values(buckets: list[list[Value] | None]) -> list[list[Value]]:
    return [b or [] for b in buckets]


@settings(max_examples=300, deadline=None)
@given(BUCKETS, st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
def test_columns_agree_with_a_walk(buckets: list[list[Value] | None], names: list[str]) -> None:
    columns = Columns(_body(buckets))
    values = [v for b in _values(buckets) for v in b]
    wanted = tuple(names)

    exact = all(set(v.dimensions or {}) == set(wanted) for v in values)
    assert columns.has_exactly(wanted) is exact

    def key(v: Value) -> tuple[str, ...]:
        return tuple((v.dimensions or {}).get(n, "") for n in wanted)

    in_order = all(key(a) <= key(b) for b in _values(buckets) for a, b in pairwise(b))
    assert columns.sorted_within_buckets(wanted) is in_order

    if exact:
        distinct = all(len({key(v) for v in b}) == len(b) for b in _values(buckets))
        assert columns.distinct_within_buckets(wanted) is distinct

    # The quick proof of both: never where the walk finds a bucket out of order or a repeat.
    strictly = (
        bool(wanted)
        and all(all(n in (v.dimensions or {}) for n in wanted) for v in values)
        and all(key(a) < key(b) for b in _values(buckets) for a, b in pairwise(b))
    )
    assert columns.strictly_ascending_within_buckets(wanted) is strictly

    assert columns.some_without_conversations is any(v.conversations == 0 for v in values)
    assert columns.some_undimensioned is any(v.dimensions is None for v in values)
    assert columns.per_bucket.tolist() == [len(b) for b in _values(buckets)]
    assert columns.one_per_bucket is all(b is not None and len(b) == 1 for b in buckets)
