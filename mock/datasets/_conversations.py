"""``conversations.jsonl``: a streaming, validating reader into columns (writer: :mod:`._writer`).

Each line is one JSON object with the vendor's conversation fields::

    {"conversation_id": str, "account_id": str, "agent_id": str | null,
     "type": "phone|web|test|unknown", "direction": "inbound|outbound|internal",
     "status": "in_progress|completed|failed|transferred",
     "start_timestamp": RFC 3339 with offset, "duration_seconds": int}

A ``start_timestamp`` may have up to nine fractional digits; those past the
sixth are dropped (floored to the µs), and the columns count the starts that
changed (``Conversations.floored``), for ``usagekit dataset validate`` to say.

All eight keys are required (``agent_id`` may be null), so that a misspelt key
is an error; other keys are ignored, because vendor exports carry more. The
first bad line stops the load with a :class:`DatasetError` naming the file,
the line and the field. Blank lines are bad lines too: every line is a record.

The file is read in blocks of whole lines, first quickly: each block goes the
fastest way that accepts it -- the canonical lines this module writes, by numpy
from the bytes (:mod:`._canonical`), else any JSON (:mod:`._columns`) -- and
repeated ids are looked for once, at the end; a large file is read in two
halves at once on two cores (:mod:`._halves`). At the quick read's first doubt
the file is read again, carefully: a block the fast ways doubt, or whose ids
may repeat earlier ones (:mod:`._ids`), is checked line by line
(:mod:`._lines`), which finds the first bad line. So the columns and the
errors are those of one careful read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from usagekit.mock.core.dataset import Account, Conversations
from usagekit.mock.core.errors import DatasetError

from ._canonical import canonical
from ._columns import decoded
from ._fileio import BOM, byte_order_mark, open_regular, os_reason
from ._halves import Half, split_point
from ._ids import SeenIds
from ._lines import Codes, Columns, LineChecker
from ._writer import write_conversations

__all__ = ["MAX_LINE_BYTES", "read_conversations", "write_conversations"]  # written: re-exported

#: Bytes per block (~7,000 lines): big enough to amortise the numpy calls,
#: small enough that a block's decoded JSON stays a few MB.
BLOCK_BYTES = 2**21
#: The longest line read; a canonical line is about 250 bytes.
MAX_LINE_BYTES = 4096
_NEWLINE = ord("\n")
_COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")
#: Kept with the columns, one number a block: the starts floored (Columns.floored).
_KEPT = (*_COLUMNS, "floored")


def read_conversations(path: Path, accounts: tuple[Account, ...]) -> Conversations:
    """Every conversation of ``path`` as columns sorted by start (ties keep file order).

    First the quick read (:class:`_Quick`), in two halves at once on two cores
    when the file is large; at its first doubt -- a bad line, a possible
    repeat, any failure of the other half -- the file is read again from the
    start by the careful :class:`_Reader`, which reports the first bad line.
    """
    with open_regular(path) as stream:
        begin = _begin(stream, path)
        pieces = _quick(stream, path, accounts)
        if pieces is None:
            stream.seek(begin)
            reader = _Reader(path, accounts)
            reader.read(stream)
            pieces = reader.pieces
    return _sorted(pieces)


def _begin(stream: BinaryIO, path: Path) -> int:
    """Where the lines begin (after a byte order mark), with ``stream`` there."""
    try:
        begin = byte_order_mark(stream.read(len(BOM)))
        stream.seek(begin)
    except OSError as exc:  # a read error after a good open (EIO)
        raise DatasetError(path=str(path), line=None, field=None, message=os_reason(exc)) from None
    return begin


def _quick(stream: BinaryIO, path: Path, accounts: tuple[Account, ...]) -> _Pieces | None:
    """The quick read of the whole file, in halves if it is large; ``None`` at a doubt."""
    split = split_point(stream, os.fstat(stream.fileno()).st_size, MAX_LINE_BYTES)
    if split is None:
        return _Quick(path, accounts).read(stream)
    half = Half(stream, split, _Quick(path, accounts).read)
    try:
        pieces = _Quick(path, accounts).read(stream, stop=split)
        other = None if pieces is None else half.result()
    finally:
        half.close()
    if pieces is None or other is None:
        return None
    hashes = np.sort(np.concatenate([pieces.pop("hashes")[0], other.pop("hashes")[0]]))
    if np.any(hashes[1:] == hashes[:-1]):
        return None  # an id in both halves, perhaps
    return {name: pieces[name] + other[name] for name in _KEPT}


_Pieces = dict[str, list[np.ndarray]]


class _Quick:
    """Blocks of lines into columns by the fast ways only, checking repeats once at the end."""

    def __init__(self, path: Path, accounts: tuple[Account, ...]) -> None:
        self.path = path
        self.codes = Codes.of(accounts)

    def read(self, stream: BinaryIO, *, stop: int | None = None) -> _Pieces | None:
        """Every line up to offset ``stop`` (a line's start) or the end, with the ids'
        hashes sorted; ``None`` at the first line the fast ways doubt, or a repeat."""
        pieces: _Pieces = {name: [] for name in (*_KEPT, "hashes")}
        try:
            for block in _blocks(stream, self.path, stop):
                ends = np.flatnonzero(np.frombuffer(block, np.uint8) == _NEWLINE)
                _check_line_lengths(block, ends, 1, self.path)
                part = canonical(block, ends, self.codes)
                if part is None:
                    part = decoded(_lines(block), self.codes)
                if part is None:
                    return None
                _keep(pieces, part)
        except DatasetError:
            return None
        hashes = np.sort(np.concatenate(pieces["hashes"] or [np.empty(0, np.int64)]))
        if np.any(hashes[1:] == hashes[:-1]):
            return None
        pieces["hashes"] = [hashes]
        return pieces


class _Reader:
    """Blocks of lines into columns, with the ids seen so far: the careful read."""

    def __init__(self, path: Path, accounts: tuple[Account, ...]) -> None:
        self.path = path
        self.codes = Codes.of(accounts)
        self.checker = LineChecker(path=str(path), accounts=accounts, codes=self.codes)
        self.seen = SeenIds()
        self.pieces: _Pieces = {name: [] for name in _KEPT}

    def read(self, stream: BinaryIO) -> None:
        """Read to the end; the first bad line raises its :class:`DatasetError`."""
        first_line = 1
        for block in _blocks(stream, self.path):
            ends = np.flatnonzero(np.frombuffer(block, np.uint8) == _NEWLINE)
            _check_line_lengths(block, ends, first_line, self.path)
            count = len(ends) + (not block.endswith(b"\n"))
            part = canonical(block, ends, self.codes)
            if part is None:
                part = decoded(_lines(block), self.codes)
            if part is None or self.seen.may_repeat(part.hashes):
                part = self.checker.check_lines(_lines(block), first_line, self.seen)
            self.seen.add(part.ids, part.hashes)
            _keep(self.pieces, part)
            first_line += count


def _keep(pieces: _Pieces, part: Columns) -> None:
    """Add a block's columns (and its count of floored starts) to ``pieces``."""
    for name, piece in pieces.items():
        value = getattr(part, name)
        piece.append(np.array([value]) if name == "floored" else value)


def _blocks(stream: BinaryIO, path: Path, stop: int | None = None) -> Iterator[bytes]:
    """Blocks of whole lines up to ``stop`` (a line's start) or the end; a line past
    :data:`MAX_LINE_BYTES` is cut, and then refused."""
    try:
        while True:
            left = BLOCK_BYTES if stop is None else min(BLOCK_BYTES, stop - stream.tell())
            block = stream.read(left) if left > 0 else b""
            if not block:
                return
            if stop is None or stream.tell() < stop:  # at ``stop`` a line has just ended
                block += stream.readline(MAX_LINE_BYTES + 1)
            yield block
    except OSError as exc:  # a read error after a good open (EIO)
        raise DatasetError(path=str(path), line=None, field=None, message=os_reason(exc)) from None


def _check_line_lengths(block: bytes, ends: np.ndarray, first_line: int, path: Path) -> None:
    """Refuse a line longer than :data:`MAX_LINE_BYTES` before any field of it is read.

    This bounds every field (an id, the digits of a number) before it is
    decoded or given a column: no 93 GiB id column, no 4,300-digit int().
    ``ends`` are the offsets of the block's newlines.
    """
    if len(block) <= MAX_LINE_BYTES:
        return
    # Line i runs from just after newline i - 1 up to newline i (the last to the end).
    lengths = np.diff(ends, prepend=-1, append=len(block)) - 1
    longer = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if len(longer):
        raise DatasetError(
            path=str(path),
            line=first_line + int(longer[0]),
            field=None,
            message=f"longer than {MAX_LINE_BYTES:,} bytes; a conversation takes about 250",
        )


def _lines(block: bytes) -> list[bytes]:
    """The lines of ``block``, without their newline (only ``\\n`` ends a line)."""
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


def _sorted(pieces: _Pieces) -> Conversations:
    """One array per column, sorted by start with a stable sort (ties keep file order)."""
    if not pieces["start"]:
        return Conversations.empty()
    # Column by column, dropping the blocks of each as soon as they are joined,
    # so that at most one column exists twice.
    floored = int(np.concatenate(pieces.pop("floored")).sum())
    columns = {name: np.concatenate(pieces.pop(name)) for name in _COLUMNS}
    start = columns["start"]
    if np.any(start[1:] < start[:-1]):  # canonical files are sorted already
        order = np.argsort(start, kind="stable")
        for name in _COLUMNS:
            columns[name] = columns[name][order]
    return Conversations(**columns, floored=floored)
