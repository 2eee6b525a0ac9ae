"""The first encoder of :class:`UsageResult`, kept as the reference the fast one must equal.

A plain loop over buckets and values, formatting each value and each
``dimensions`` object on its own: slow, and obviously the contract's body.
"""

from __future__ import annotations

import json

import numpy as np

from usagekit.mock.core.response import UsageResult


def reference_json(result: UsageResult) -> bytes:
    """``result``'s body as canonical JSON bytes, written value by value."""
    meta = _dumps(result.meta.to_dict())
    names = [_dumps(name) for name in result.meta.group_by]
    labels = [[_dumps(value) for value in table] for table in result.tables]
    ts_labels = result.ts
    starts = np.searchsorted(result.tally.bucket, np.arange(len(ts_labels) + 1), side="left")
    seconds = result.tally.seconds.tolist()
    conversations = result.tally.conversations.tolist()
    keys = result.tally.keys.tolist()
    buckets = []
    for b, ts in enumerate(ts_labels):
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
