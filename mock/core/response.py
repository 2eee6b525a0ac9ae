"""The typed result of a usage query, and its JSON encoding.

:class:`UsageResult` keeps the values as columns (they can number tens of
thousands) and writes the contract's body directly: ``{"meta": ..., "data":
[{"ts": ..., "values": [{"seconds", "conversations", "dimensions"}]}]}``.
The encoding is canonical -- fixed key order, no spaces, UTF-8 -- so that the
same result always gives the same bytes.

The encoder does per-row work only in C loops (``str.format`` mapped over
columns, one ``str.join``): each distinct ``dimensions`` object and each
bucket's opening text is written once, and the rows and openers are
interleaved by index arithmetic, so a body costs about a hundred nanoseconds
per value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .buckets import BucketGrid
from .query import UsageQuery
from .tally import Tally

__all__ = ["UsageMeta", "UsageResult"]

#: A bucket's opening text (a ``%`` template: labels hold no ``%``); an empty bucket is
#: its opener directly followed by the next one's, whose leading "]}," closes it.
_FIRST_OPENER = '{"ts":"%s","values":['
_OPENER = "]}," + _FIRST_OPENER
_CLOSE = "]}]}"
#: One value, with its ``dimensions`` object (escaped for ``%``) in the middle.
_VALUE = ('{"seconds":%d,"conversations":%d,"dimensions":', "}")


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
        labels = self.grid.labels()
        buckets, rows = len(labels), len(self.tally)
        bucket = self.tally.bucket
        # Where each bucket's first value is: one binary search for all of them.
        starts = np.searchsorted(bucket, np.arange(buckets), side="left")
        first = np.zeros(rows, dtype=np.intp)
        first[starts[starts < rows]] = 1
        templates, group = self._value_templates()
        # One template for the whole body: opener b goes after b openers and the values
        # of the buckets before b; value i right after its own bucket's opener.
        pieces = np.empty(buckets + rows, dtype=object)
        pieces[np.arange(buckets) + starts] = [
            _FIRST_OPENER % labels[0],
            *map(_OPENER.__mod__, labels[1:]),
        ]
        pieces[np.arange(rows) + bucket + 1] = templates[first, group]
        numbers = np.empty((rows, 2), dtype=np.int64)
        numbers[:, 0] = self.tally.seconds
        numbers[:, 1] = self.tally.conversations
        # One C-level pass formats every number (``%`` is the fastest int-to-text here).
        data = "".join(pieces.tolist()) % tuple(numbers.ravel().tolist())
        meta = _dumps(self.meta.to_dict())
        return f'{{"meta":{meta},"data":[{data}{_CLOSE}'.encode()

    def _value_templates(self) -> tuple[np.ndarray, np.ndarray]:
        """The value templates, after "," (row 0) or first in a bucket (row 1), one column
        per distinct ``dimensions`` object, and each value's column."""
        rows = len(self.tally)
        if not self.tables:
            written, group = ["{}"], np.zeros(rows, dtype=np.intp)
        else:
            keys = self.tally.keys
            code = np.zeros(rows, dtype=np.int64)
            for j, table in enumerate(self.tables):
                code = code * len(table) + keys[:, j]
            _, firsts, group = np.unique(code, return_index=True, return_inverse=True)
            names = [_dumps(name) for name in self.meta.group_by]
            written = [
                "{"
                + ",".join(
                    f"{name}:{_dumps(table[rank])}"
                    for name, table, rank in zip(names, self.tables, row, strict=True)
                )
                + "}"
                for row in keys[firsts].tolist()
            ]
        value = [_VALUE[0] + text.replace("%", "%%") + _VALUE[1] for text in written]
        templates = np.empty((2, len(value)), dtype=object)
        templates[0] = ["," + text for text in value]
        templates[1] = value
        return templates, group.reshape(rows)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
