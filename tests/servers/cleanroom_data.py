"""The clean-room server's data and sums: a dataset directory read with ``json``.

``accounts.json`` and ``conversations.jsonl`` as the README describes them; only
completed conversations are kept, per owning account, sorted by start. A query's
usage is summed bucket by bucket with ``bisect``, in plain Python.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from servers.cleanroom_calendar import buckets, offset_at, to_instant, write_instant
from servers.cleanroom_query import Query


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    start: int
    seconds: int
    agent: str
    owner: str
    type: str


@dataclass(frozen=True, slots=True)
class Data:
    keys: dict[str, str]  # key -> its account
    parents: dict[str, str | None]
    calls: dict[str, list[Call]]  # per account in scope, sorted by start

    def readable(self, key_account: str, account: str) -> bool:
        while account is not None and account in self.parents:
            if account == key_account:
                return True
            account = self.parents[account]  # type: ignore[assignment]
        return False


def load(directory: Path) -> Data:
    accounts = json.loads((directory / "accounts.json").read_text("utf-8"))
    keys = {key: a["id"] for a in accounts for key in a["api_keys"]}
    parents = {a["id"]: a["parent_id"] for a in accounts}
    own: dict[str, list[Call]] = defaultdict(list)
    with (directory / "conversations.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["status"] != "completed":
                continue
            own[record["account_id"]].append(
                Call(
                    start=to_instant(datetime.fromisoformat(record["start_timestamp"])),
                    seconds=record["duration_seconds"],
                    agent=record["agent_id"] or "unassigned",
                    owner=record["account_id"],
                    type=record["type"],
                )
            )
    calls: dict[str, list[Call]] = {}
    for account in parents:
        family = [a for a in parents if _descends(parents, a, account)]
        calls[account] = sorted((c for a in family for c in own[a]), key=lambda c: c.start)
    return Data(keys=keys, parents=parents, calls=calls)


def _descends(parents: dict[str, str | None], account: str, ancestor: str) -> bool:
    at: str | None = account
    while at is not None:
        if at == ancestor:
            return True
        at = parents.get(at)
    return False


def usage(data: Data, account: str, query: Query) -> dict[str, object]:
    """The body of a 200, as a dict in this server's own key order."""
    calls = data.calls[account]
    starts = [c.start for c in calls]
    # one bucket more than returned: where the last one returned ends
    grid = buckets(query.zone, query.granularity, query.start, query.end, query.limit + 1)
    rows = []
    for index, (ts, offset) in enumerate(grid[: query.limit]):
        low = max(ts, query.start)
        high = min(grid[index + 1][0] if index + 1 < len(grid) else query.end, query.end)
        sums: dict[tuple[str, ...], list[int]] = {}
        for call in calls[bisect_left(starts, low) : bisect_left(starts, high)]:
            dims = tuple(_dimension(call, name) for name in query.group_by)
            total = sums.setdefault(dims, [0, 0])
            total[0] += 1
            total[1] += call.seconds
        if not query.group_by:
            sums.setdefault((), [0, 0])
        values = [
            {"dimensions": dict(zip(query.group_by, dims, strict=True)),
             "conversations": count, "seconds": seconds}
            for dims, (count, seconds) in sorted(sums.items())
        ]  # fmt: skip
        rows.append({"values": values, "ts": write_instant(ts, offset)})

    def written(instant: int) -> str:
        return write_instant(instant, offset_at(query.zone, instant))

    return {
        "data": rows,
        "meta": {
            "tz": query.tz,
            "group_by": list(query.group_by),
            "granularity": query.granularity,
            "end": written(query.end),
            "start": written(query.start),
            "account_id": account,
        },
    }


def _dimension(call: Call, name: str) -> str:
    return {"agent": call.agent, "subaccount": call.owner, "type": call.type}[name]
