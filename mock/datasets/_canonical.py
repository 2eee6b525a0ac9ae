"""Canonical ``conversations.jsonl`` lines decoded by numpy straight from the bytes.

:func:`~._conversations.write_conversations` writes every line the same way::

    {"conversation_id":"…","account_id":"…","agent_id":"…"|null,"type":"…",
     "direction":"…","status":"…","start_timestamp":"YYYY-MM-DDTHH:MM:SS[.f]Z",
     "duration_seconds":N}

In a block without a backslash or a control character other than the
newlines, every ``"`` delimits a string, so a canonical line holds exactly 30
quotes (28 with a null agent) and everything between its values is fixed
text. :func:`canonical` finds all the quotes of a block at once, checks every
byte of that fixed text, reads the values between the quotes as fixed-width
byte columns and looks them up in sorted tables, and reads the clocks and
durations digit by digit -- whole columns at a time, no Python per line.

It is one of the reader's fast ways (see :mod:`._columns`): ``None`` at the
first doubt, and then the next way decides. It accepts exactly the canonical
lines whose values the line check accepts, with the same values: a line as
JSON decodes to the strings between its quotes, since they hold no escapes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from usagekit.mock.core.dataset import NO_AGENT

from ._digits import clocks, column, durations, window
from ._lines import MAX_ID_BYTES, Codes, Columns

__all__ = ["canonical"]

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_PREFIX = b'{"conversation_id":"'
# The fixed text after each value, from its closing quote (the quote's number
# in a 30-quote line) to the opening quote of the next value.
_AFTER = ((3, b'","account_id":"'), (7, b'","agent_id":"'), (11, b'","type":"'))
_NULL_AFTER = ((3, b'","account_id":"'), (7, b'","agent_id":null,"type":"'))
_REST = (
    (15, b'","direction":"'),
    (19, b'","status":"'),
    (23, b'","start_timestamp":"'),
    (27, b'","duration_seconds":'),
)
_DURATION_AT = len(_REST[-1][1])  # the digits follow the last fixed text at once
#: Zero bytes after a block: more than the widest value read (an id, or a name
#: of accounts.json up to this long; a longer name takes the slow way).
_PADDING = 256
_NUMBERS = (2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27)


def canonical(block: bytes, ends: np.ndarray, codes: Codes) -> Columns | None:
    """The columns of ``block`` if every line is written canonically; ``ends``: its newlines."""
    if not block.isascii():
        try:
            block.decode("utf-8")  # the ids and names must be UTF-8
        except UnicodeDecodeError:
            return None
    if not len(block) or _BACKSLASH in block:
        return None  # an escape
    # Padded, so that a fixed-width read past the last line stays inside.
    data = np.frombuffer(block + bytes(_PADDING), np.uint8)
    if np.count_nonzero(data < 0x20) != len(ends) + _PADDING:
        return None  # a control character other than a newline
    stops = ends if block.endswith(b"\n") else np.append(ends, len(block))
    starts = np.concatenate([[0], stops[:-1] + 1])
    quotes = np.flatnonzero(data == _QUOTE)
    before = np.searchsorted(quotes, stops)  # the quotes before each line's end
    first = np.concatenate([[0], before[:-1]])  # a line starts where the last ended
    count = before - first
    null = count == 28
    if not np.all(null | (count == 30)):
        return None
    # Quote j of a 30-quote line; a null agent's line lacks numbers 10 and 11.
    shifted = first - 2 * null
    at = {j: quotes[(first if j < 10 else shifted) + j] for j in _NUMBERS}
    agents = ~null
    if not (
        _fixed(data, starts, _PREFIX)
        and all(_fixed(data, at[j], text) for j, text in _REST)
        and all(_fixed(data, at[j][agents], text) for j, text in _AFTER)
        and all(_fixed(data, at[j][null], text) for j, text in _NULL_AFTER)
    ):
        return None
    ids = _strings(data, at[2] + 1, at[3])
    if ids is None or ids.dtype.itemsize > MAX_ID_BYTES:
        return None
    tables = _tables(codes)
    found = [
        _lookup(tables[name], data, at[j] + 1, at[j + 1])
        for name, j in (("account", 6), ("type", 14), ("direction", 18), ("status", 22))
    ]
    agent = np.full(len(stops), NO_AGENT, dtype=np.int32)
    if agents.any():
        found.append(_lookup(tables["agent"], data, at[10][agents] + 1, at[11][agents]))
    start = clocks(data, at[26] + 1, at[27])
    duration = durations(data, at[27] + _DURATION_AT, stops)
    if any(column is None for column in found) or start is None or duration is None:
        return None
    account, type_, direction, status, *named = found
    if named:
        agent[agents] = named[0]
    return codes.columns(
        ids=ids,
        start=start,
        duration=duration,
        account=account,
        agent=agent,
        type=type_,
        direction=direction,
        status=status,
    )


#: _MASKS[k] keeps the first k bytes of a little-endian word.
_MASKS = np.array([2 ** (8 * k) - 1 for k in range(9)], dtype=np.uint64)


def _words(data: np.ndarray, lo: np.ndarray, length: np.ndarray, count: int) -> list[np.ndarray]:
    """The values ``[lo, lo + length)`` as ``count`` columns of words, zero after each value."""
    words = window(data, lo, 8 * count).view("<u8")
    shortest, longest = int(length.min()), int(length.max())
    columns = []
    for k in range(count):  # column by column: numpy is slow on rows of a few items
        if shortest == longest:  # the common case: one mask for every row
            columns.append(words[:, k] & _MASKS[min(max(longest - 8 * k, 0), 8)])
        else:
            columns.append(words[:, k] & _MASKS[(length - 8 * k).clip(0, 8)])
    return columns


@functools.cache
def _pattern(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``text`` as little-endian words, and the mask of its bytes in them."""
    size = -(-len(text) // 8) * 8
    mask = b"\xff" * len(text)
    return np.frombuffer(text.ljust(size, b"\0"), "<u8"), np.frombuffer(
        mask.ljust(size, b"\0"), "<u8"
    )


def _fixed(data: np.ndarray, at: np.ndarray, text: bytes) -> bool:
    """Whether ``text`` is written at each offset of ``at``."""
    want, mask = _pattern(text)
    words = window(data, at, 8 * len(want)).view("<u8")
    return all(
        np.array_equal(words[:, k] & mask[k], np.broadcast_to(want[k], len(at)))
        for k in range(len(want))
    )


def _strings(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """The values ``[lo, hi)`` as a fixed-width bytes column; ``None`` if one is empty."""
    length = hi - lo
    if not len(lo) or length.min() < 1 or length.max() > _PADDING:
        return None
    width = int(length.max())
    if length.min() == width:  # the common case: ids of one length
        return column(data, width)[lo]
    padded = window(data, lo, width) * (np.arange(width) < length[:, None])
    return padded.view(f"S{width}").ravel()


@dataclass(frozen=True, slots=True)
class _Table:
    """A field's names as rows of words, sorted by their weighted sums, and their codes."""

    count: int
    sums: np.ndarray
    words: np.ndarray
    codes: np.ndarray


@functools.lru_cache(maxsize=8)
def _tables(codes: Codes) -> dict[str, _Table]:
    """Each field's table of names (UTF-8) and codes."""
    tables = {}
    for name in ("account", "agent", "type", "direction", "status"):
        # A name with a control character never matches a line read here.
        pairs = [
            (key, code)
            for key, code in getattr(codes, name).items()
            if isinstance(key, bytes) and key and min(key) >= 0x20 and len(key) <= _PADDING
        ] or [(b"\0", -2)]
        count = -(-max(len(key) for key, _ in pairs) // 8)
        rows = np.array([key for key, _ in pairs], dtype=f"S{8 * count}")
        words = rows.view("<u8").reshape(len(pairs), count)
        sums = _sums(list(words.T))
        order = np.argsort(sums)
        if np.any(sums[order][1:] == sums[order][:-1]):
            order = order[:0]  # two names of one sum: every lookup doubts
        found = np.array([code for _, code in pairs], dtype=np.int32)
        tables[name] = _Table(count, sums[order], words[order], found[order])
    return tables


_WEIGHTS = [np.uint64(0x9E3779B97F4A7C15 * (2 * i + 1) % 2**64) for i in range(33)]


def _sums(columns: list[np.ndarray]) -> np.ndarray:
    total = columns[0] * _WEIGHTS[0]
    for words, weight in zip(columns[1:], _WEIGHTS[1:], strict=False):
        total += words * weight
    return total


def _lookup(table: _Table, data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """The code of each value ``[lo, hi)``; ``None`` if one is not in the table."""
    length = hi - lo
    if not len(table.sums) or length.min() < 1 or length.max() > 8 * table.count:
        return None
    columns = _words(data, lo, length, table.count)
    at = np.searchsorted(table.sums, _sums(columns)).clip(max=len(table.sums) - 1)
    if all(np.array_equal(table.words[at, k], c) for k, c in enumerate(columns)):
        return table.codes[at]
    return None
