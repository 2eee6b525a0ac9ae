"""Any valid block of ``conversations.jsonl`` lines into columns, by ``json`` and numpy.

The reader's fast ways work on whole columns at once and return ``None`` at
the first doubt; the reader then tries the next way, and last the
line-by-line check of :mod:`._lines`, which is the authority. So each fast way
only has to be right about what it *accepts*: exactly what the line check
accepts, with the same values. The first way, for the lines this package
writes, is :mod:`._canonical`; the second, here, is :func:`decoded`: ``json``
for each line, then one column at a time -- any valid line, with extra keys,
spaces, escapes, offsets other than ``Z``.
"""

from __future__ import annotations

import json
import operator
import re
from typing import Any

import numpy as np

from usagekit.mock.core.instants import MIN_INSTANT, US

from ._lines import FIELDS, MAX_ID_BYTES, Codes, Columns

__all__ = ["decoded"]

_CLOCK = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
# The digits past the sixth of a fraction (see _fields.FRACTION_DIGITS), apart,
# to be dropped: the clock is floored to the microsecond, as the line check does.
_PAST = r"((?<=\.[0-9]{6})[0-9]{1,3})?"
_TIMESTAMP = re.compile(r"^(" + _CLOCK + r")" + _PAST + r"(Z|[+-][0-9]{2}:[0-9]{2})$", re.M)

_decode = json.JSONDecoder().decode
# One column at a time: faster than transposing a tuple per row.
_FIELDS = [operator.itemgetter(name) for name in FIELDS]
_Failure = (ValueError, KeyError, TypeError, OverflowError, RecursionError)


def _coded_fields(
    codes: Codes,
    accounts: list[str],
    agents: list[str | None],
    types: list[str],
    directions: list[str],
    statuses: list[str],
) -> dict[str, np.ndarray]:
    """The five columns that the dataset stores as codes, by field name."""
    return {
        "account": _coded(codes.account, accounts),
        "agent": _coded(codes.agent, agents),
        "type": _coded(codes.type, types, np.int8),
        "direction": _coded(codes.direction, directions, np.int8),
        "status": _coded(codes.status, statuses, np.int8),
    }


def decoded(lines: list[bytes], codes: Codes) -> Columns | None:
    """The columns of ``lines`` if every line is plainly valid JSON of a conversation."""
    try:
        records = list(map(_decode, map(bytes.decode, lines)))
        if set(map(type, records)) != {dict}:
            return None
        ids, accounts, agents, types, directions, statuses, starts, durations = (
            list(map(get, records)) for get in _FIELDS
        )
        del records
        if set(map(type, ids)) != {str} or "\0" in "".join(ids):
            return None
        if set(map(type, durations)) != {int}:  # bool and float are not durations
            return None
        local, start, floored = _instants(starts)
        return _checked(
            codes,
            ids=list(map(str.encode, ids)),
            start=start,
            local=local,
            duration=np.array(durations, dtype=np.int64),
            floored=floored,
            **_coded_fields(codes, accounts, agents, types, directions, statuses),
        )
    except _Failure:
        return None


def _coded(table: dict[Any, int], values: list[Any], dtype: type = np.int32) -> np.ndarray:
    """The code of each value; ``KeyError`` (or ``TypeError``) for one not in ``table``."""
    return np.fromiter(map(table.__getitem__, values), dtype, count=len(values))


def _instants(texts: list[Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """Local clock and instant (µs) of RFC 3339 timestamps with an offset, and how
    many were floored (a non-zero digit dropped past the sixth)."""
    if set(map(type, texts)) != {str}:
        raise TypeError("not strings")
    joined = "\n".join(texts)
    # One line per text, or a text holding a newline could stand for two and a bad
    # one beside it go unread: ``^...$`` matches each line of the joined texts.
    if joined.count("\n") != len(texts) - 1:
        raise ValueError("a newline in a timestamp")
    parts = _TIMESTAMP.findall(joined)
    if len(parts) != len(texts):
        raise ValueError("not RFC 3339 with an offset")
    clocks, past, offsets = zip(*parts, strict=True)
    # Dropped digits that are all zeros ("0", "00", "000") change nothing.
    floored = len(past) - sum(map(past.count, ("", "0", "00", "000")))
    local = np.array(clocks, dtype="M8[us]").astype(np.int64)
    seconds = {text: _offset_seconds(text) for text in set(offsets)}
    return local, local - np.fromiter(map(seconds.__getitem__, offsets), np.int64) * US, floored


def _offset_seconds(text: str) -> int:
    if text == "Z":
        return 0
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return (-1 if text[0] == "-" else 1) * (hours * 3600 + minutes * 60)


def _checked(
    codes: Codes,
    *,
    ids: list[bytes],
    start: np.ndarray,
    local: np.ndarray,
    duration: np.ndarray,
    account: np.ndarray,
    agent: np.ndarray,
    type: np.ndarray,
    direction: np.ndarray,
    status: np.ndarray,
    floored: int,
) -> Columns | None:
    """The columns, if the checks that span fields hold; else ``None``."""
    if not all(ids) or max(map(len, ids)) > MAX_ID_BYTES:
        return None
    # numpy has rejected impossible dates (30 February, hour 24) with
    # ValueError; year 0 parses, so the range check rejects it here.
    if local.min() < MIN_INSTANT:
        return None
    return codes.columns(
        ids=np.array(ids, dtype=np.bytes_),
        start=start,
        duration=duration,
        account=account,
        agent=agent,
        type=type,
        direction=direction,
        status=status,
        floored=floored,
    )
