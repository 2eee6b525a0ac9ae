"""``conversations.jsonl`` written canonically (see :mod:`._canonical` for the form)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from usagekit.mock.core.dataset import (
    CONVERSATION_TYPES,
    DIRECTIONS,
    STATUSES,
    Account,
    Conversations,
    agent_table,
)
from usagekit.mock.core.instants import US, format_instants

__all__ = ["write_conversations"]

_WRITE_ROWS = 16_384


def write_conversations(
    path: Path, accounts: tuple[Account, ...], conversations: Conversations
) -> None:
    """Write ``path`` canonically: start order, fixed key order, compact, UTF-8, ``Z`` times."""
    account = [_string(a.id) for a in accounts]
    agent = [_string(a) for a in agent_table(accounts)] + ["null"]  # NO_AGENT = -1: the last
    type_ = [_string(t) for t in CONVERSATION_TYPES]
    direction = [_string(d) for d in DIRECTIONS]
    status = [_string(s) for s in STATUSES]
    # The caller writes into a staging directory and swaps it in (see files.save_dataset).
    with path.open("wb") as out:
        for lo in range(0, len(conversations), _WRITE_ROWS):
            rows = conversations.take(np.arange(lo, min(lo + _WRITE_ROWS, len(conversations))))
            lines = [
                f'{{"conversation_id":{i},"account_id":{account[a]},"agent_id":{agent[g]},'
                f'"type":{type_[t]},"direction":{direction[d]},"status":{status[s]},'
                f'"start_timestamp":"{ts}","duration_seconds":{u}}}\n'
                for i, a, g, t, d, s, ts, u in zip(
                    _strings(rows.ids),
                    rows.account.tolist(),
                    rows.agent.tolist(),
                    rows.type.tolist(),
                    rows.direction.tolist(),
                    rows.status.tolist(),
                    _timestamps(rows.start),
                    rows.duration.tolist(),
                    strict=True,
                )
            ]
            out.write("".join(lines).encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _strings(ids: np.ndarray) -> list[str]:
    texts = [raw.decode("utf-8") for raw in ids.tolist()]
    if _NEEDS_ESCAPE.search("".join(texts)):
        return [_string(text) for text in texts]
    return [f'"{text}"' for text in texts]


def _timestamps(start: np.ndarray) -> list[str]:
    """``format_instant(µs, 0)`` of each start, vectorised: whole seconds by numpy."""
    seconds, micros = np.divmod(start, US)
    texts = format_instants(seconds, np.zeros_like(seconds))
    fractional = np.flatnonzero(micros)
    for i, fraction in zip(fractional.tolist(), micros[fractional].tolist(), strict=True):
        texts[i] = f"{texts[i][:-1]}.{fraction:06d}Z"  # before the "Z" of UTC
    return texts
