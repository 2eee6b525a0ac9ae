"""The typed result of a usage query, and its JSON encoding.

:class:`UsageResult` keeps the values as columns (they can number tens of
thousands) and writes the contract's body directly: ``{"meta": ..., "data":
[{"ts": ..., "values": [{"seconds", "conversations", "dimensions"}]}]}``.
The encoding is canonical -- fixed key order, no spaces, UTF-8 -- so that the
same result always gives the same bytes.

The body is assembled as bytes in a handful of numpy operations, without a
Python object per value: each bucket opener and each value is a row of one
``uint8`` matrix, in output order, whose pieces are NUL-padded (JSON text
never holds a NUL byte: json.dumps escapes it), and dropping every NUL byte
leaves the body. The pieces are written before the query: ``ts`` labels per
page of a zone's calendar (:attr:`BucketGrid.ascii`), every ``dimensions``
object of a scope's value tables, and the digits of the numbers two at a time
from a table.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .buckets import BucketGrid
from .query import UsageQuery
from .tally import Tally

__all__ = ["UsageMeta", "UsageResult"]


def _row(text: bytes) -> np.ndarray:
    return np.frombuffer(text, dtype=np.uint8)


#: A bucket's opener: ``]},`` closes the bucket before (NUL for the first bucket).
_CLOSE_BEFORE, _TS, _VALUES = _row(b"]},"), _row(b'{"ts":"'), _row(b'","values":[')
_SECONDS, _CONVERSATIONS = _row(b'{"seconds":'), _row(b',"conversations":')
_COMMA = ord(",")
#: ``_CHUNKS[c + 10_000 * form]``: the four digits of ``0 <= c < 10_000`` as ASCII in a
#: little-endian uint32: all four (form 0, an inner chunk), without leading zeros (form
#: 1, a number's first chunk; 0 is "0"), or none (form 2, left of the first chunk).
_CHUNKS = np.array(
    [f"{c:04d}".encode() for c in range(10_000)]
    + [str(c).rjust(4, "\0").encode() for c in range(10_000)]
    + [b"\0\0\0\0"] * 10_000,
    dtype="S4",
).view("<u4")
#: ``10_000**k`` for ``k = 1..4``: a number has as many chunks as entries it is not below, + 1.
_CHUNK_LIMITS = 10_000 ** np.arange(1, 5, dtype=np.int64)
#: The largest dense table of ``dimensions`` objects kept per grouping (bytes).
_DENSE_BYTES = 128 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageMeta:
    """The resolved query, as ``meta`` echoes it."""

    account_id: str
    start: str
    end: str
    granularity: str
    group_by: tuple[str, ...]
    tz: str

    @classmethod
    def of(cls, query: UsageQuery) -> UsageMeta:
        return cls(
            account_id=query.account_id,
            start=query.written(query.start),
            end=query.written(query.end),
            granularity=query.granularity.value,
            group_by=tuple(d.value for d in query.group_by),
            tz=query.tz,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "start": self.start,
            "end": self.end,
            "granularity": self.granularity,
            "group_by": list(self.group_by),
            "tz": self.tz,
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UsageResult:
    """A response body: ``meta``, the bucket grid, and the values per bucket."""

    meta: UsageMeta
    grid: BucketGrid
    tally: Tally
    #: For each requested dimension, the sorted table its ranks index.
    tables: tuple[tuple[str, ...], ...]

    @property
    def ts(self) -> list[str]:
        """Each bucket's ``ts`` label."""
        return self.grid.labels()

    def to_dict(self) -> dict[str, Any]:
        """The body as plain JSON data."""
        return json.loads(self.to_json())

    def to_json(self) -> bytes:
        """The body as canonical JSON bytes."""
        labels = self.grid.ascii
        buckets, rows = len(labels), len(self.tally)
        # Where each bucket's first value is: one binary search for all of them.
        starts = np.searchsorted(self.tally.bucket, np.arange(buckets), side="left")
        openers = np.concatenate(
            [_constant(_CLOSE_BEFORE, buckets), _constant(_TS, buckets), labels,
             _constant(_VALUES, buckets)],
            axis=1,
        )  # fmt: skip
        openers[0, : len(_CLOSE_BEFORE)] = 0  # the first bucket closes none before it
        # A bucket's first value starts with its bucket's opener, any other with a comma.
        head = np.zeros((rows, openers.shape[1]), dtype=np.uint8)
        head[:, 0] = _COMMA
        filled = np.flatnonzero(np.diff(starts, append=rows))  # the buckets with values
        head[starts[filled]] = openers[filled]
        numbers = _digits(np.concatenate([self.tally.seconds, self.tally.conversations]))
        values = np.concatenate(
            [head, _constant(_SECONDS, rows), numbers[:rows], _constant(_CONVERSATIONS, rows),
             numbers[rows:], self._dimensions()],
            axis=1,
        )  # fmt: skip
        if len(filled) < buckets:
            values = _with_empty_buckets(values, openers, filled, starts)
        flat = values.reshape(-1)
        meta = _dumps(self.meta.to_dict()).encode()
        return b"".join((b'{"meta":', meta, b',"data":[', flat[flat != 0].tobytes(), b"]}]}"))

    def _dimensions(self) -> np.ndarray:
        """Each value's ``,"dimensions":{...}}`` (rows of ``uint8``, NUL-padded)."""
        rows = len(self.tally)
        if not self.tables:
            return np.broadcast_to(_row(b',"dimensions":{}}'), (rows, 17))
        keys = self.tally.keys
        sizes = [len(table) for table in self.tables]
        code = keys[:, 0]
        for j in range(1, len(sizes)):
            code = code * sizes[j] + keys[:, j]
        dense = _dense_dimensions(self.meta.group_by, self.tables)
        if dense is not None:
            return dense[code]
        # Too many combinations to keep them all: write those that occur.
        _, firsts, group = np.unique(code, return_index=True, return_inverse=True)
        present = _dimension_rows(
            self.meta.group_by, self.tables, [tuple(row) for row in keys[firsts].tolist()]
        )
        return present[group.reshape(rows)]


@functools.lru_cache(maxsize=32)
def _dense_dimensions(
    names: tuple[str, ...], tables: tuple[tuple[str, ...], ...]
) -> np.ndarray | None:
    """Every combination's ``dimensions`` row, indexed by its combined code (ranks in
    mixed radix of the tables' sizes), or ``None`` past :data:`_DENSE_BYTES`."""
    space = 1
    width = 0
    for table in tables:
        space *= len(table)
        width += max((len(value) for value in table), default=0)
    if space * (width * 6 + 64 * len(tables)) > _DENSE_BYTES:
        return None  # a conservative bound: JSON escapes take at most 6 bytes a character
    return _dimension_rows(names, tables, list(itertools.product(*map(range, map(len, tables)))))


def _dimension_rows(
    names: tuple[str, ...], tables: tuple[tuple[str, ...], ...], ranks: list[tuple[int, ...]]
) -> np.ndarray:
    written = [[f"{_dumps(name)}:{_dumps(value)}" for value in table] for name, table in
               zip(names, tables, strict=True)]  # fmt: skip
    texts = [
        (
            ',"dimensions":{' + ",".join(w[r] for w, r in zip(written, row, strict=True)) + "}}"
        ).encode()
        for row in ranks
    ]
    return _ascii_rows(texts)


def _ascii_rows(texts: list[bytes]) -> np.ndarray:
    """``texts`` as rows of one ``uint8`` matrix, NUL-padded."""
    width = max(map(len, texts), default=1)
    return np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)


def _constant(text: np.ndarray, rows: int) -> np.ndarray:
    return np.broadcast_to(text, (rows, len(text)))


def _with_empty_buckets(
    values: np.ndarray, openers: np.ndarray, filled: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """``values`` with a row for each bucket without values (its opener alone), in order."""
    empty = np.ones(len(openers), dtype=bool)
    empty[filled] = False
    alone = np.zeros((int(empty.sum()), values.shape[1]), dtype=np.uint8)
    alone[:, : openers.shape[1]] = openers[empty]
    # Empty bucket b goes after the values and the empty buckets before it.
    where = np.empty(len(values) + len(alone), dtype=np.intp)
    index = np.flatnonzero(empty)
    where[starts[index] + np.arange(len(index))] = len(values) + np.arange(len(index))
    rows = np.ones(len(where), dtype=bool)
    rows[starts[index] + np.arange(len(index))] = False
    where[rows] = np.arange(len(values))
    return np.concatenate([values, alone])[where]


def _digits(numbers: np.ndarray) -> np.ndarray:
    """Each number's decimal text, right-aligned in NUL padding (rows of ``uint8``),
    four digits at a time from :data:`_CHUNKS`."""
    if not len(numbers):
        return np.zeros((0, 4), dtype=np.uint8)
    if int(numbers.min()) < 0:  # never from a dataset (durations are >= 0); still exact
        return _ascii_rows([str(n).rjust(20, "\0").encode() for n in numbers.tolist()])
    counts = 1 + np.searchsorted(_CHUNK_LIMITS, numbers, side="right")
    chunks = int(counts.max())
    if chunks == 1:
        return _CHUNKS[numbers + 10_000].view(np.uint8).reshape(len(numbers), 4)
    out = np.empty((chunks, len(numbers)), dtype="<u4")
    rest = numbers
    form = 2 - counts  # of the last chunk; each one further left is one form further
    for k in range(chunks):
        higher = rest // 10_000
        out[chunks - 1 - k] = _CHUNKS[rest - higher * 10_000 + 10_000 * np.clip(form + k, 0, 2)]
        rest = higher
    return out.T.copy().view(np.uint8)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
