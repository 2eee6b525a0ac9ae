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
page of a zone's calendar, framed as openers (:attr:`BucketGrid.openers`), every ``dimensions``
object of a scope's value tables, and the digits of the numbers four at a time
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

    def json(self) -> bytes:
        """``to_dict()`` as canonical JSON (what json.dumps writes, without a dict)."""
        text = _dumps
        return (
            f'{{"account_id":{text(self.account_id)},"start":{text(self.start)},'
            f'"end":{text(self.end)},"granularity":{text(self.granularity)},'
            f'"group_by":[{",".join(map(text, self.group_by))}],"tz":{text(self.tz)}}}'
        ).encode()

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
        buckets, rows = len(self.grid), len(self.tally)
        table, slot, slots = self._dimensions()
        # An ungrouped value's dimensions are one constant row, written like the keys.
        dimensions = (
            table[0]
            if slot is None
            else _rows(table).take(slot).view(np.uint8).reshape(rows, table.shape[1])
        )
        pieces = [
            _SECONDS,
            _digits(self.tally.seconds),
            _CONVERSATIONS,
            _digits(self.tally.conversations),
            dimensions,
        ]
        openers = self.grid.openers
        opener = openers.shape[1]
        value = 1 + sum(piece.shape[-1] for piece in pieces)  # a comma, then the pieces
        # Where every (bucket, slot) cell holds a value -- every ungrouped body, many
        # grouped ones -- a bucket is one row: its opener, then each slot's value, in
        # slot order (the output order within a bucket), a comma before all but the first.
        if rows == buckets * slots:
            text = np.empty((buckets, opener + slots * value), dtype=np.uint8)
            text[:, :opener] = openers
            comma = np.full((1, slots, 1), _COMMA, dtype=np.uint8)
            comma[:, :1] = 0
            _write(text[:, opener:].reshape(buckets, slots, value), [comma, *pieces])
        else:
            bucket = self.tally.bucket
            comma = np.zeros((rows, 1), dtype=np.uint8)  # a bucket's first value has none
            np.multiply(bucket[1:] == bucket[:-1], _COMMA, out=comma[1:, 0], casting="unsafe")
            values = _write(np.empty((rows, value), np.uint8), [comma, *pieces])
            # Where most cells hold a value, the same rows with NULs for the empty cells;
            # an empty cell costs its width in NULs to drop, so past a quarter more cells
            # than values (and one a bucket) each opener and each value is a row of its
            # own instead: opener b after b openers and the values of the buckets before
            # b, value i after its opener.
            if buckets * slots <= rows + rows // 4 + buckets:
                text = np.zeros((buckets, opener + slots * value), dtype=np.uint8)
                text[:, :opener] = openers
                _rows(text[:, opener:], value)[bucket, slot] = _rows(values)
            else:
                # Where each bucket's first value is: one binary search for all of them.
                starts = bucket.searchsorted(np.arange(buckets), side="left")
                text = np.zeros((buckets + rows, max(opener, value)), dtype=np.uint8)
                text[np.arange(buckets) + starts, :opener] = openers
                text[np.arange(rows) + bucket + 1, :value] = values
        text[0, :3] = 0  # the first bucket closes none before it (no "]},")
        flat = text.reshape(-1)
        return b"".join((b'{"meta":', self.meta.json(), b',"data":[', flat[flat != 0], b"]}]}"))

    def _dimensions(self) -> tuple[np.ndarray, np.ndarray | None, int]:
        """The ``,"dimensions":{...}}`` rows (``uint8``, NUL-padded) of the combinations
        that may occur, each value's row there (its *slot*; ``None`` when ungrouped),
        and how many there are."""
        rows = len(self.tally)
        if not self.tables:
            return _NO_DIMENSIONS, None, 1
        keys = self.tally.keys
        sizes = [len(table) for table in self.tables]
        code = keys[:, 0]
        for j in range(1, len(sizes)):
            code = code * sizes[j] + keys[:, j]
        dense = _dense_dimensions(self.meta.group_by, self.tables)
        if dense is not None:
            return dense, code, len(dense)
        # Too many combinations to keep them all: write those that occur.
        _, firsts, slot = np.unique(code, return_index=True, return_inverse=True)
        present = _dimension_rows(
            self.meta.group_by, self.tables, [tuple(row) for row in keys[firsts].tolist()]
        )
        return present, slot.reshape(rows), len(present)


#: The ``dimensions`` row of an ungrouped value.
_NO_DIMENSIONS = np.frombuffer(b',"dimensions":{}}', dtype=np.uint8).reshape(1, -1)


def _rows(array: np.ndarray, width: int | None = None) -> np.ndarray:
    """Each ``width`` bytes of ``array``'s last axis (all of them by default) as one
    item: numpy moves such items faster than it gathers or scatters rows of bytes."""
    items = array.view(np.dtype((np.void, width or array.shape[-1])))
    return items if width else items[..., 0]


def _write(dest: np.ndarray, pieces: list[np.ndarray]) -> np.ndarray:
    """Write ``pieces`` side by side into ``dest`` (shape (..., width)): each a constant
    row, one row per value in the order of ``dest``'s leading axes (shape (values,
    width)), or anything else that broadcasts to ``dest``'s leading axes."""
    at = 0
    for piece in pieces:
        width = piece.shape[-1]
        if 1 < piece.ndim < dest.ndim:
            piece = piece.reshape(*dest.shape[:-1], width)
        dest[..., at : at + width] = piece
        at += width
    return dest


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


def _digits(numbers: np.ndarray) -> np.ndarray:
    """Each number's decimal text, right-aligned in NUL padding (rows of ``uint8``),
    four digits at a time from :data:`_CHUNKS`."""
    if not len(numbers):
        return np.zeros((0, 4), dtype=np.uint8)
    if int(numbers.min()) < 0:  # never from a dataset (durations are >= 0); still exact
        return _ascii_rows([str(n).rjust(20, "\0").encode() for n in numbers.tolist()])
    top = int(numbers.max())
    # Counts and most durations of a bucket take one or two chunks: a few whole-array
    # operations each, where the per-call cost of numpy is most of the work.
    if top < 10_000:
        return _CHUNKS.take(numbers + 10_000).view(np.uint8).reshape(len(numbers), 4)
    if top < 10_000**2:
        index = np.empty((len(numbers), 2), dtype=np.int64)
        higher = np.floor_divide(numbers, 10_000, out=index[:, 0])  # by a scalar: libdivide
        np.subtract(numbers, higher * 10_000, out=index[:, 1])
        # Forms 1 and 0 with a higher chunk; 2 and 1 where it is blank.
        index += _TWO_FORMS.take((higher == 0).view(np.uint8), axis=0)
        return _CHUNKS.take(index).view(np.uint8).reshape(len(numbers), 8)
    counts = 1 + _CHUNK_LIMITS.searchsorted(numbers, side="right")
    chunks = int(counts.max())
    out = np.empty((chunks, len(numbers)), dtype="<u4")
    rest = numbers
    # The form of the last chunk; each one further left is one form further, up to 2.
    form = 2 - counts
    for k in range(chunks):
        higher = rest // 10_000
        index = np.minimum(np.maximum(form + k, 0), 2)
        index *= 10_000
        index += rest - higher * 10_000
        _CHUNKS.take(index, out=out[chunks - 1 - k])
        rest = higher
    return out.T.copy().view(np.uint8)


#: The offsets in :data:`_CHUNKS` of the forms of a number's two chunks, without (row
#: 0) and with (row 1) a blank higher one.
_TWO_FORMS = np.array([[10_000, 0], [20_000, 10_000]], dtype=np.int64)


#: A string as JSON text, as ``json.dumps(value, ensure_ascii=False)`` writes it.
_dumps = json.encoder.encode_basestring
