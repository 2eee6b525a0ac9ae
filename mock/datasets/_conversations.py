"""``conversations.jsonl``: a streaming, validating reader into columns, and the writer.

Each line is one JSON object with the vendor's conversation fields::

    {"conversation_id": str, "account_id": str, "agent_id": str | null,
     "type": "phone|web|test|unknown", "direction": "inbound|outbound|internal",
     "status": "in_progress|completed|failed|transferred",
     "start_timestamp": RFC 3339 with offset, "duration_seconds": int}

All eight keys are required (``agent_id`` may be null), so that a misspelt key
is an error; other keys are ignored, because vendor exports carry more. The
first bad line stops the load with a :class:`DatasetError` naming the file,
the line and the field. Blank lines are bad lines too: every line is a record.

Speed: the file is read in chunks of lines, and each chunk is first tried on
a *fast path* that checks whole columns at once (a dict lookup per value, one
regular expression over the chunk's timestamps, numpy for the rest). Any
doubt sends the chunk to the *slow path*, which checks line by line with
:func:`~usagekit.mock.core.instants.parse_datetime` and is the authority: it
either finds the first bad line and its reason, or it reads the chunk itself.
The fast path therefore only needs to be right about what it accepts.
"""

from __future__ import annotations

import itertools
import json
import operator
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from usagekit.mock.core.dataset import (
    CONVERSATION_TYPES,
    DIRECTIONS,
    NO_AGENT,
    STATUSES,
    Account,
    Conversations,
    agent_table,
)
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import (
    MAX_INSTANT,
    MIN_INSTANT,
    US,
    format_instant,
    format_instants,
)

from ._ids import SeenIds, id_hashes
from ._lines import FIELDS, Columns, LineChecker

__all__ = ["read_conversations", "write_conversations"]

_COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")
#: Lines per chunk: big enough to amortise numpy calls, small enough that a
#: chunk's decoded dicts (~1 kB a line) stay a few MB.
CHUNK_LINES = 8192
_MAX_DURATION = 2**31
_WRITE_ROWS = 65_536

_decode = json.JSONDecoder().decode
_pick = operator.itemgetter(*FIELDS)
# Anchored per line (re.M), so that the number of matches equals the number of
# timestamps only if every one of them matches in full.
_TIMESTAMP = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$",
    re.M,
)


def read_conversations(path: Path, accounts: tuple[Account, ...]) -> Conversations:
    """Every conversation of ``path`` as columns sorted by start (ties keep file order)."""
    checker = LineChecker(path=str(path), accounts=accounts)
    seen = SeenIds()
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in _COLUMNS}
    with _open(path) as stream:
        first_line = 1
        for lines in _chunks(stream):
            part = _fast(lines, checker)
            if part is None or seen.may_repeat(part.hashes):
                part = checker.check_lines(lines, first_line, seen)
            seen.add(part.ids, part.hashes)
            for name in _COLUMNS:
                pieces[name].append(getattr(part, name))
            first_line += len(lines)
    del seen, part
    return _sorted(pieces)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DatasetError(path=str(path), line=None, field=None, message="no such file") from None


def _chunks(stream: BinaryIO) -> Iterator[list[bytes]]:
    while lines := list(itertools.islice(stream, CHUNK_LINES)):
        yield lines


def _fast(lines: list[bytes], checker: LineChecker) -> Columns | None:
    """The chunk's columns if every line is plainly valid, else ``None``."""
    try:
        records = list(map(_decode, map(bytes.decode, lines)))
        if set(map(type, records)) != {dict}:
            return None
        ids, accounts, agents, types, directions, statuses, starts, durations = zip(
            *map(_pick, records), strict=True
        )
        del records
        if set(map(type, ids)) != {str} or not all(ids) or "\0" in "".join(ids):
            return None
        if set(map(type, durations)) != {int}:  # bool and float are not durations
            return None
        encoded = list(map(str.encode, ids))
        account = np.fromiter(map(checker.account_code.__getitem__, accounts), np.int32)
        agent = np.fromiter(map(checker.agent_code.__getitem__, agents), np.int32)
        columns = Columns(
            ids=np.array(encoded, dtype=np.bytes_),
            hashes=id_hashes(encoded),
            start=_starts(starts),
            duration=np.array(durations, dtype=np.int64),
            account=account,
            agent=agent,
            type=np.fromiter(map(checker.type_code.__getitem__, types), np.int8),
            direction=np.fromiter(map(checker.direction_code.__getitem__, directions), np.int8),
            status=np.fromiter(map(checker.status_code.__getitem__, statuses), np.int8),
        )
    except (ValueError, KeyError, TypeError, OverflowError):
        return None
    owner = checker.agent_owner[agent]
    if not np.all((agent == NO_AGENT) | (owner == account)):
        return None
    duration = columns.duration
    if duration.min() < 0 or duration.max() >= _MAX_DURATION:
        return None
    return columns


def _starts(texts: tuple[Any, ...]) -> np.ndarray:
    """Instants (µs) of RFC 3339 timestamps in their plain form; ``ValueError`` if not."""
    if set(map(type, texts)) != {str}:
        raise ValueError("not strings")
    parts = _TIMESTAMP.findall("\n".join(texts))
    if len(parts) != len(texts):
        raise ValueError("not plain RFC 3339")
    clocks, offsets = zip(*parts, strict=True)
    # Every clock is well formed here; numpy rejects impossible dates (day 30 of
    # February, hour 24) with ValueError, and the range check catches year 0.
    local = np.array(clocks, dtype="M8[us]").astype(np.int64)
    if len(set(offsets)) == 1 and offsets[0] == "Z":
        instants = local
    else:
        seconds = {text: _offset_seconds(text) for text in set(offsets)}
        instants = local - np.fromiter(map(seconds.__getitem__, offsets), np.int64) * US
    if local.min() < MIN_INSTANT or instants.min() < MIN_INSTANT or instants.max() > MAX_INSTANT:
        raise ValueError("out of range")
    return instants


def _offset_seconds(text: str) -> int:
    if text == "Z":
        return 0
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return (-1 if text[0] == "-" else 1) * (hours * 3600 + minutes * 60)


def _sorted(pieces: dict[str, list[np.ndarray]]) -> Conversations:
    """One array per column, sorted by start with a stable sort (ties keep file order)."""
    if not pieces["start"]:
        return Conversations.empty()
    # Column by column, dropping the chunks of each as soon as they are joined,
    # so that at most one column exists twice.
    columns = {name: np.concatenate(pieces.pop(name)) for name in _COLUMNS}
    start = columns["start"]
    if np.any(start[1:] < start[:-1]):  # canonical files are sorted already
        order = np.argsort(start, kind="stable")
        for name in _COLUMNS:
            columns[name] = columns[name][order]
    return Conversations(**columns)


def write_conversations(
    path: Path, accounts: tuple[Account, ...], conversations: Conversations
) -> None:
    """Write ``path`` canonically: start order, fixed key order, compact, UTF-8, ``Z`` times."""
    account = [_string(a.id) for a in accounts]
    agent = [_string(a) for a in agent_table(accounts)] + ["null"]  # NO_AGENT = -1: the last
    type_ = [_string(t) for t in CONVERSATION_TYPES]
    direction = [_string(d) for d in DIRECTIONS]
    status = [_string(s) for s in STATUSES]
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
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
    os.replace(partial, path)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _strings(ids: np.ndarray) -> list[str]:
    texts = [raw.decode("utf-8") for raw in ids.tolist()]
    if _NEEDS_ESCAPE.search("".join(texts)):
        return [_string(text) for text in texts]
    return [f'"{text}"' for text in texts]


def _timestamps(start: np.ndarray) -> list[str]:
    seconds, micros = np.divmod(start, US)
    texts = format_instants(seconds, np.zeros_like(seconds))
    for i in np.flatnonzero(micros).tolist():
        texts[i] = format_instant(int(start[i]), 0)
    return texts
