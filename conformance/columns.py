"""A 200's values as flat columns, read once, for rules that judge every value at once.

The rules of a value (sorted within its bucket, distinct groups, the keys of
its dimensions, non-empty groups) would each walk every value of every bucket
in Python. :class:`Columns` flattens the values once -- which bucket each is
in, its dimensions, its conversations -- and the rules ask questions of whole
columns: each dimension's values as integer codes in code-point order, the
size of each value's dimensions. A rule decides from the columns that it holds,
and only when it may not does it walk the values again to name the first
offending bucket (so a message is the same either way, and a column never
makes a verdict stricter than the walk).

The reference's order -- values strictly ascending by their dimensions, in
``group_by`` order -- is tried first, by comparing each value's dimensions with
the next one's as Python strings (or tuples of them): one pass that proves both
sorting and distinct groups, without ranking every dimension value. An answer
in any other order is decided from the ranks.
"""

from __future__ import annotations

import math
from itertools import chain, islice
from operator import attrgetter, itemgetter, lt

import numpy as np

from .body import UsageBody
from .once import once
from .stamps import every

__all__ = ["Columns"]

_NONE: dict[str, str] = {}  # the dimensions of a value without any
_DIMENSIONS, _CONVERSATIONS = attrgetter("dimensions"), attrgetter("conversations")


class Columns:
    """The values of every bucket of one answer, flat and in order."""

    def __init__(self, body: UsageBody) -> None:
        # map, chain and attrgetter walk the values in C: a Python loop per value is the cost,
        # and so is each pass over them (some 25 ns a value): a question is answered in as
        # few passes as it can be.
        lists = list(body.values)
        #: Whether some bucket has no ``values`` at all (absent or null).
        self.some_bucket_bare = None in lists
        if self.some_bucket_bare:
            lists = [v if v is not None else () for v in lists]
        values = list(chain.from_iterable(lists))
        self.count = len(values)
        self._lists = lists
        #: Each value's ``dimensions``, ``None`` where absent or null.
        self.dimensions = list(map(_DIMENSIONS, values))
        self._values = values
        self._columns: dict[str, list[str | None]] = {}
        self._complete: dict[str, bool] = {}  # name -> whether every value has it
        self._codes: dict[str, np.ndarray] = {}
        self._ascending: dict[tuple[str, ...], bool] = {}

    @once
    def per_bucket(self) -> np.ndarray:
        """Values per bucket (a bucket without values has 0)."""
        return np.fromiter(map(len, self._lists), np.int64, len(self._lists))

    @once
    def bucket(self) -> np.ndarray:
        """The index of the bucket each value is in."""
        return np.repeat(np.arange(len(self.per_bucket)), self.per_bucket)

    @property
    def first_names(self) -> tuple[str, ...]:
        """The first value's dimension names, as written (none when there is no value)."""
        return tuple(self.dimensions[0] or ()) if self.count else ()

    @once
    def one_per_bucket(self) -> bool:
        """Whether every bucket has exactly one value."""
        return (
            self.count == len(self._lists)
            and not self.some_bucket_bare
            and 0 not in map(len, self._lists)
        )

    @once
    def _dimension_count(self) -> int | None:
        """How many dimensions the values have all together; ``None`` if some value has
        none at all (absent or null): one pass answers both."""
        try:
            return sum(map(len, self.dimensions))
        except TypeError:  # len(None)
            return None

    @once
    def some_undimensioned(self) -> bool:
        """Whether some value has no ``dimensions`` (absent or null)."""
        return self._dimension_count is None

    @once
    def sizes(self) -> np.ndarray:
        """How many dimensions each value has (none counts 0)."""
        dims = self.dimensions
        if self.some_undimensioned:
            dims = [d if d is not None else _NONE for d in dims]
        return np.fromiter(map(len, dims), np.int64, self.count)

    def has_exactly(self, names: tuple[str, ...]) -> bool:
        """Whether every value's dimensions have exactly the keys ``names`` (none: no keys).

        ``names`` are distinct: when every value has each of them and the values
        have ``len(names)`` dimensions each on average, none has another.
        """
        if not all(self._has(name) for name in names):
            return False
        total = self._dimension_count
        if total is None:  # some have none: the others' count (names is then empty)
            total = sum(map(len, filter(None, self.dimensions)))
        return total == self.count * len(names)

    def _has(self, name: str) -> bool:
        """Whether every value has the dimension ``name``."""
        if name not in self._complete:
            self._named(name)
        return self._complete[name]

    def _named(self, name: str) -> list[str | None]:
        column = self._columns.get(name)
        if column is None:
            try:
                # A body's dimension values are strings: a value of None here is no reading's.
                column = list(map(itemgetter(name), self.dimensions))
                self._complete[name] = True
            except (KeyError, TypeError):  # some value lacks it, or has no dimensions
                dims = [d if d is not None else _NONE for d in self.dimensions]
                column = [d.get(name) for d in dims]
                self._complete[name] = None not in column
            self._columns[name] = column
        return column

    def codes(self, name: str) -> np.ndarray:
        """Each value's ``name`` dimension (``""`` where absent) as its rank in code-point order.

        Ranked by Python's own string order, so equal codes are equal strings.
        """
        codes = self._codes.get(name)
        if codes is None:
            column = self._named(name)
            if None in column:
                column = [v if v is not None else "" for v in column]
            rank = {text: i for i, text in enumerate(sorted(set(column)))}
            codes = np.fromiter(map(rank.__getitem__, column), np.int64, self.count)
            self._codes[name] = codes
        return codes

    def strictly_ascending_within_buckets(self, names: tuple[str, ...]) -> bool:
        """Whether every value has each of ``names``' dimensions and, in every bucket, the
        values are strictly ascending by them, compared in order (code points, as
        :meth:`codes` ranks them). ``False`` says only that this quick proof failed."""
        held = self._ascending.get(names)
        if held is None:
            held = self._ascending[names] = self._strictly_ascending(names)
        return held

    def _strictly_ascending(self, names: tuple[str, ...]) -> bool:
        if not names:
            return False
        if not all(self._has(name) for name in names):
            return False
        columns = [self._named(name) for name in names]
        if self.count < 2:
            return True
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        less = np.fromiter(map(lt, keys, islice(keys, 1, None)), bool, self.count - 1)
        # A pair of values in two buckets is not compared: the later one opens its bucket.
        opens = np.cumsum(self.per_bucket)[:-1]
        less[opens[(opens > 0) & (opens < self.count)] - 1] = True
        return bool(every(less))

    def sorted_within_buckets(self, names: tuple[str, ...]) -> bool:
        """Whether, in every bucket, the values are ascending by ``names``' dimensions in order."""
        if self.count < 2 or not names or self.strictly_ascending_within_buckets(names):
            return True
        same = self.bucket[1:] == self.bucket[:-1]
        ordered = np.ones(self.count - 1, dtype=bool)  # lexicographic <=, from the last name
        for name in reversed(names):
            codes = self.codes(name)
            before, after = codes[:-1], codes[1:]
            ordered = (before < after) | ((before == after) & ordered)
        return bool(every(ordered | ~same))

    def distinct_within_buckets(self, names: tuple[str, ...]) -> bool:
        """Whether no bucket repeats a combination of ``names``' dimensions.

        Only meaningful where :meth:`has_exactly` holds for ``names``.
        """
        if self.count < 2:
            return True
        if not names:  # every value's combination is the same: one value per bucket at most
            return bool(every(self.per_bucket <= 1))
        if self.strictly_ascending_within_buckets(names):
            return True
        rows = [self.codes(name) for name in names]
        spans = [int(row.max()) + 1 for row in rows]
        if len(self.per_bucket) * math.prod(spans) < 1 << 62:
            key = self.bucket.copy()  # one integer per combination and bucket, sorted once
            for row, span in zip(rows, spans, strict=True):
                key = key * span + row
            key.sort()
            return not (key[1:] == key[:-1]).any()
        rows.append(self.bucket)
        order = np.lexsort(rows)
        stacked = np.stack([row[order] for row in rows])
        return not (stacked[:, 1:] == stacked[:, :-1]).all(axis=0).any()

    @once
    def some_without_conversations(self) -> bool:
        """Whether some value counts no conversation."""
        return 0 in map(_CONVERSATIONS, self._values)
