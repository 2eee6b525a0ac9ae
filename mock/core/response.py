"""The typed result of a usage query, and its JSON encoding.

:class:`UsageResult` keeps the values as columns (they can number tens of
thousands) and writes the contract's body directly: ``{"meta": ..., "data":
[{"ts": ..., "values": [{"seconds", "conversations", "dimensions"}]}]}``.
The encoding is canonical -- fixed key order, no spaces, UTF-8 -- so that the
same result always gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .query import UsageQuery
from .tally import Tally

__all__ = ["UsageMeta", "UsageResult"]


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
    """A response body: ``meta``, the bucket labels, and the values per bucket."""

    meta: UsageMeta
    ts: tuple[str, ...]
    tally: Tally
    #: For each requested dimension, the sorted table its ranks index.
    tables: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """The body as plain JSON data."""
        return json.loads(self.to_json())

    def to_json(self) -> bytes:
        """The body as canonical JSON bytes."""
        meta = _dumps(self.meta.to_dict())
        names = [_dumps(name) for name in self.meta.group_by]
        labels = [[_dumps(value) for value in table] for table in self.tables]
        starts = np.searchsorted(self.tally.bucket, np.arange(len(self.ts) + 1), side="left")
        seconds = self.tally.seconds.tolist()
        conversations = self.tally.conversations.tolist()
        keys = self.tally.keys.tolist()
        buckets = []
        for b, ts in enumerate(self.ts):
            values = []
            for row in range(int(starts[b]), int(starts[b + 1])):
                dims = ",".join(
                    f"{name}:{table[rank]}"
                    for name, table, rank in zip(names, labels, keys[row], strict=True)
                )
                values.append(
                    f'{{"seconds":{seconds[row]},"conversations":{conversations[row]},'
                    f'"dimensions":{{{dims}}}}}'
                )
            buckets.append(f'{{"ts":"{ts}","values":[{",".join(values)}]}}')
        return f'{{"meta":{meta},"data":[{",".join(buckets)}]}}'.encode()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
