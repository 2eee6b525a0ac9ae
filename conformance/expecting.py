"""A 200's values read as the request expects them, so that msgspec checks them in C.

The rules of a value (exactly the requested dimensions, one value per
ungrouped bucket, no empty group, sorted and distinct groups) walked a Python
record and a ``dict`` per value: decoding them and asking the columns was
three fifths of judging a never-seen answer. A request says what its answer's
values must look like, so its answer is first decoded into records of that
shape -- the dimensions a :class:`msgspec.Struct` whose fields are exactly the
requested ones (no other key allowed), ordered as ``group_by`` orders them, so
that comparing two of them is comparing their groups as the reference sorts
them; ``conversations`` at least 1 where empty groups are judged; a tuple of
exactly one value where one is wanted. msgspec refuses a body that breaks any
of it, and that body is read as before (:mod:`~usagekit.conformance.reading`),
so the expectation only ever decides that a rule holds, never that it fails:
:class:`ExpectedColumns` answers what the shape proves and asks
:class:`Columns` of the values read the plain way for everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from itertools import accumulate, chain
from operator import attrgetter, lt
from typing import Annotated, Any

import msgspec
import numpy as np

from usagekit.mock.core.query import Dimension

from .body import Count, Expectation, Expected
from .columns import Columns
from .once import once
from .stamps import every

__all__ = ["ExpectedColumns", "decode_expected", "expectation_of"]

_KNOWN = frozenset(d.value for d in Dimension)
Counted = Annotated[int, msgspec.Meta(ge=1)]
_CONVERSATIONS, _VALUES = attrgetter("conversations"), attrgetter("values")


def expectation_of(group_by: Sequence[str] | None, *, reference: bool) -> Expectation | None:
    """What a request's ``group_by`` wants of every value, or ``None`` where no answer
    meets it (a dimension the contract does not name: the plain reading judges those)."""
    return _expectation(tuple(group_by or ()), reference)


@lru_cache(maxsize=256)  # a request's group_by is one of a few: its expectation, made once
def _expectation(group_by: tuple[str, ...], reference: bool) -> Expectation | None:
    names = tuple(dict.fromkeys(group_by))
    if not _KNOWN.issuperset(names):
        return None
    return Expectation(names, one_value=reference and not names, counted=reference and bool(names))


@cache  # a few expectations at most: the three dimensions' orders and two profiles
def _decoder(expectation: Expectation) -> msgspec.json.Decoder:
    names = expectation.names
    groups = msgspec.defstruct(
        "Groups", [(n, str) for n in names], forbid_unknown_fields=True, frozen=True, gc=False
    )
    value = msgspec.defstruct(
        "ExpectedValue",
        [("seconds", Count), ("conversations", Counted if expectation.counted else Count),
         ("dimensions", groups)],
        frozen=True, gc=False,
    )  # fmt: skip
    values = tuple[value] if expectation.one_value else tuple[value, ...]  # type: ignore[valid-type]
    bucket = msgspec.defstruct("ExpectedBucket", [("ts", str), ("values", values)], gc=False)
    body = msgspec.defstruct(
        "ExpectedBody", [("meta", msgspec.Raw), ("data", tuple[bucket, ...])], gc=False
    )
    return msgspec.json.Decoder(body)


def decode_expected(content: bytes, expectation: Expectation) -> tuple[Any, Expected] | None:
    """The body's ``meta`` (raw) and its buckets (``ts``, ``values``) as ``expectation``
    wants them, or ``None`` when some value is not (the plain reading decides why)."""
    try:
        body = _decoder(expectation).decode(content)
    except msgspec.MsgspecError:
        return None
    return body, Expected(expectation, body.data)


@cache  # one per order of the dimensions a request groups by
def _keys(names: tuple[str, ...]) -> Callable[[Any], Any]:
    """A value's key: its one dimension's value, or the tuple of them in ``names``' order."""
    return attrgetter(*(f"dimensions.{name}" for name in names))


class ExpectedColumns:
    """:class:`Columns`' answers for an answer read as expected: what its shape proves,
    and, for any other question, the plain columns' answer (read then)."""

    def __init__(self, expected: Expected, plain: Callable[[], Columns]) -> None:
        self._expected = expected.expectation
        self._read = expected
        self._plain = plain  # the plain columns, read only when a question needs them
        self.some_bucket_bare = False  # values are required by the expectation
        self.some_undimensioned = False  # ... and so are dimensions
        self._ascending: dict[tuple[str, ...], bool] = {}

    @once
    def _lists(self) -> list[tuple[Any, ...]]:
        """Each bucket's values: records with seconds, conversations, dimensions."""
        return list(map(_VALUES, self._read.buckets))

    @once
    def count(self) -> int:
        """How many values: a pass over the buckets, made only when a question needs the
        number (one value a bucket: the buckets; whether there are none: ``_some``)."""
        if self._expected.one_value:
            return len(self._read.buckets)
        return sum(map(len, self._lists))

    @once
    def _some(self) -> bool:
        """Whether there is any value (``count`` without counting them)."""
        if self._expected.one_value:
            return bool(self._read.buckets)
        return any(self._lists)

    @once
    def plain(self) -> Columns:
        return self._plain()

    @once
    def _values(self) -> list[Any]:
        return list(chain.from_iterable(self._lists))

    @once
    def per_bucket(self) -> np.ndarray:
        return np.fromiter(map(len, self._lists), np.int64, len(self._lists))

    @once
    def one_per_bucket(self) -> bool:
        if self._expected.one_value:
            return True
        return self.count == len(self._lists) and 0 not in map(len, self._lists)

    @property
    def first_names(self) -> tuple[str, ...]:
        return self._expected.names if self._some else ()

    def has_exactly(self, names: tuple[str, ...]) -> bool:
        # Every value has exactly the expected names (each a distinct field of its groups).
        return not self._some or sorted(names) == sorted(self._expected.names)

    @once
    def some_without_conversations(self) -> bool:
        if self._expected.counted:
            return False
        return 0 in map(_CONVERSATIONS, self._values)

    def strictly_ascending_within_buckets(self, names: tuple[str, ...]) -> bool:
        held = self._ascending.get(names)
        if held is None:
            held = self._ascending[names] = self._strictly_ascending(names)
        return held

    def _strictly_ascending(self, names: tuple[str, ...]) -> bool:
        if not names or names != self._expected.names:
            return self.plain.strictly_ascending_within_buckets(names)
        # One name: its values, compared as strings; more: tuples of them, in group_by order
        # (the reference's sort key, as Columns compares them).
        keys = list(map(_keys(names), chain.from_iterable(self._lists)))
        if len(keys) < 2:  # the count, without a pass of its own
            return True
        # Each key is compared with the one before it in its bucket, a bucket's first with
        # one below any other ("" or ()), so that a single pass of lt in C proves it all. A
        # first key of "" is not above "": there (and wherever the proof fails, when the
        # rules walk the values read the plain way anyway) the plain columns decide.
        floor = "" if len(names) == 1 else ()
        before = [floor, *keys]  # one longer than keys: the end of the last bucket lands there
        for end in accumulate(map(len, self._lists)):
            before[end] = floor  # where a bucket ends, the next one opens
        return all(map(lt, before, keys)) or self.plain.strictly_ascending_within_buckets(names)

    def sorted_within_buckets(self, names: tuple[str, ...]) -> bool:
        # The proof for the expected names first: it answers fewer than two values itself,
        # without the count's pass over the buckets.
        if not names or (
            names == self._expected.names and self.strictly_ascending_within_buckets(names)
        ):
            return True
        if self.count < 2 or self.strictly_ascending_within_buckets(names):
            return True
        return self.plain.sorted_within_buckets(names)

    def distinct_within_buckets(self, names: tuple[str, ...]) -> bool:
        if not names:  # one value a bucket, when the expectation wants exactly one
            return self._expected.one_value or self.count < 2 or bool(every(self.per_bucket <= 1))
        # Distinctness does not depend on the order the names are compared in.
        if sorted(names) == sorted(self._expected.names) and self.strictly_ascending_within_buckets(
            self._expected.names
        ):
            return True
        if self.count < 2:
            return True
        return self.plain.distinct_within_buckets(names)
