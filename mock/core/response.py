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
page of a zone's calendar, framed as openers (:attr:`BucketGrid.openers`); each
``dimensions`` object of a scope's value tables as the whole value it ends, NULs
where the digits go (a value is one row taken, then its two numbers written);
and the digits four at a time from a table (:mod:`.digits`).
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .buckets import BucketGrid
from .digits import ascii_rows, digits
from .query import Granularity, UsageQuery
from .tally import Tally

__all__ = ["UsageMeta", "UsageResult"]


def _row(text: bytes) -> np.ndarray:
    return np.frombuffer(text, dtype=np.uint8)


_SECONDS, _CONVERSATIONS = _row(b'{"seconds":'), _row(b',"conversations":')
_COMMA = ord(",")
#: The largest dense table of ``dimensions`` objects kept per grouping (bytes).
_DENSE_BYTES = 128 * 1024


#: Each granularity's name: a lookup, not the enum's ``.value`` (a Python property).
_GRANULARITIES = {member: member.value for member in Granularity}


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
            granularity=_GRANULARITIES[query.granularity],
            group_by=query.dimensions,
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
        seconds, conversations = digits(self.tally.seconds), digits(self.tally.conversations)
        # Each slot's value with its digits left out, without and with the comma before it.
        templates = _templates(table, seconds.shape[1], conversations.shape[1])
        value = templates.shape[-1]
        at = len(_SECONDS) + 1
        # Where each number's digits go in a value, and the digits.
        numbers = ((at, seconds), (at + seconds.shape[1] + len(_CONVERSATIONS), conversations))
        openers = self.grid.openers
        opener = openers.shape[1]
        # Where every (bucket, slot) cell holds a value -- every ungrouped body, many
        # grouped ones -- a bucket is one row: its opener, then each slot's value, in
        # slot order (the output order within a bucket), a comma before all but the first.
        if rows == buckets * slots:
            text = np.empty((buckets, opener + slots * value), dtype=np.uint8)
            text[:, :opener] = openers
            cells = text[:, opener:].reshape(buckets, slots, value)
            cells[:] = templates[1, :slots]
            cells[:, :1, 0] = 0  # no comma before a bucket's first value
            for start, column in numbers:
                width = column.shape[1]
                cells[..., start : start + width] = column.reshape(buckets, slots, width)
        else:
            bucket = self.tally.bucket
            # A bucket's first value has no comma before it: the template without one.
            chosen = slot + slots * np.concatenate(([False], bucket[1:] == bucket[:-1]))
            values = _rows(templates).reshape(-1).take(chosen).view(np.uint8)
            values = values.reshape(rows, value)
            for start, column in numbers:
                values[:, start : start + column.shape[1]] = column
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


def _templates(table: np.ndarray, seconds: int, conversations: int) -> np.ndarray:
    """Each ``dimensions`` row of ``table`` as the whole value it ends, with NULs where the
    digits go (``seconds`` and ``conversations`` bytes wide): ``[0]`` without, ``[1]``
    with the comma before it (shape ``(2, len(table), width)``, ``uint8``)."""
    key = (id(table), seconds, conversations)
    found = _TEMPLATES.get(key)
    if found is not None and found[0] is table:
        return found[1]
    rows, width = table.shape
    value = 1 + len(_SECONDS) + seconds + len(_CONVERSATIONS) + conversations + width
    templates = np.zeros((2, rows, value), dtype=np.uint8)
    templates[1, :, 0] = _COMMA
    at = 1
    for piece, size in (
        (_SECONDS, len(_SECONDS)),
        (None, seconds),
        (_CONVERSATIONS, len(_CONVERSATIONS)),
        (None, conversations),
        (table, width),
    ):
        if piece is not None:
            templates[:, :, at : at + size] = piece
        at += size
    if sum(kept.nbytes for _, kept in _TEMPLATES.values()) > _TEMPLATE_BYTES:
        _TEMPLATES.clear()
    _TEMPLATES[key] = (table, templates)
    return templates


#: :func:`_templates` of the tables in use, by the table's id: the table is kept with
#: them, so its id is never another table's. The dense tables are few (lru-cached); a
#: query's own table of the combinations present is kept too, within the budget.
_TEMPLATES: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
_TEMPLATE_BYTES = 4 * 1024 * 1024


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
    return ascii_rows(texts)


#: A string as JSON text, as ``json.dumps(value, ensure_ascii=False)`` writes it.
_dumps = json.encoder.encode_basestring
