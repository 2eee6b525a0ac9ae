"""What the dataset-format tests share: valid records and accounts written to a directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import factories as f
import numpy as np

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import format_instant
from usagekit.mock.datasets.files import (
    ACCOUNTS_FILE,
    CONVERSATIONS_FILE,
    save_dataset,
)

FIELDS = (
    "conversation_id",
    "account_id",
    "agent_id",
    "type",
    "direction",
    "status",
    "start_timestamp",
    "duration_seconds",
)


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.accounts == b.accounts
    assert a.agent_ids == b.agent_ids
    for name in ("ids", "start", "duration", "account", "agent", "type", "direction", "status"):
        left, right = getattr(a.conversations, name), getattr(b.conversations, name)
        assert np.array_equal(left, right), name
        assert left.dtype.kind == right.dtype.kind, name


def record(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid line of conversations.jsonl for factories.ACCOUNTS, as a dict."""
    line = {
        "conversation_id": f"conv-{n}",
        "account_id": f.PARENT,
        "agent_id": "agent-a",
        "type": "phone",
        "direction": "inbound",
        "status": "completed",
        "start_timestamp": "2024-03-01T12:00:00Z",
        "duration_seconds": 60,
    }
    line.update(changes)
    return line


def write(directory: Path, lines: list[Any], accounts: Any = None, *, compact: bool = True) -> Path:
    """A dataset directory with factories.ACCOUNTS (or ``accounts``) and these lines."""
    directory.mkdir(parents=True, exist_ok=True)
    if accounts is None:
        save_dataset(f.dataset([]), directory)
    else:
        (directory / ACCOUNTS_FILE).write_text(json.dumps(accounts), encoding="utf-8")
    separators = (",", ":") if compact else (", ", ": ")
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, separators=separators)) + "\n"
        for line in lines
    )
    (directory / CONVERSATIONS_FILE).write_text(text, encoding="utf-8")
    return directory


SAMPLE = [
    f.conversation("2024-03-01T12:00:00Z", 30),
    f.conversation("2024-03-01T11:00:00.5+01:00", 40, agent=None, status="failed"),
    f.conversation("2024-03-01T12:00:00Z", 7, id="tie-after-first", type="web"),
    f.conversation("1999-12-31T23:59:59.000001-08:00", 0, account=f.CHILD, agent="agent-c"),
    f.conversation("2024-03-02T00:00:00Z", 2**31 - 1, id='quote " and \\ and ü', type="test"),
    f.conversation("0001-01-01T00:00:00Z", 1, id="年", direction="internal", status="in_progress"),
    f.conversation("9999-12-31T23:59:59.999999Z", 5, account=f.OTHER, agent=None, type="unknown"),
]


def many(count: int, first: int = 0) -> list[dict[str, Any]]:
    """``count`` valid records, one a second, with an agent of each account in turn."""
    owners = [(f.PARENT, "agent-a"), (f.PARENT, None), (f.CHILD, "agent-c"), (f.OTHER, None)]
    rows = []
    for n in range(first, first + count):
        account, agent = owners[n % 4]
        start = format_instant(1_700_000_000_000_000 + n * 1_000_000, 0)
        rows.append(record(n, account_id=account, agent_id=agent, start_timestamp=start))
    return rows
