"""The conversation ids read so far, to find a repeated one without a set of strings.

A Python set of a million ids costs ~100 MB; this keeps each id's hash in a
sorted int64 array (8 MB a million) and the ids themselves in the chunks they
came in. A hash found again only *suggests* a repeat: :meth:`SeenIds.find`
confirms it against the ids, so a collision of hashes never rejects a file.

The hash is computed by numpy over a whole column of ids at once, keyed with
random numbers drawn once per process (like Python's own ``hash``): a file
cannot be written to make its ids collide and every lookup slow.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["SeenIds", "id_hash", "id_hashes"]

#: One odd multiplier per 8 bytes of the longest id (see _lines.MAX_ID_BYTES).
_KEYS = np.frombuffer(os.urandom(8 * 16), np.uint64) | np.uint64(1)


def id_hashes(ids: np.ndarray) -> np.ndarray:
    """The hashes :class:`SeenIds` works with, as int64, of a bytes column (``S<n>``).

    Each 8-byte word of an id is mixed (splitmix64's finaliser, which keeps 0 at 0)
    and weighted by its position's key, so the zero padding of a wider column adds
    nothing: an id hashes the same in every column.
    """
    width = -(-max(ids.dtype.itemsize, 1) // 8) * 8
    if width > 8 * len(_KEYS):
        raise ValueError(f"ids wider than {8 * len(_KEYS)} bytes")
    padded = np.zeros((len(ids), width), dtype=np.uint8)
    padded[:, : ids.dtype.itemsize] = ids.view(np.uint8).reshape(len(ids), ids.dtype.itemsize)
    words = padded.view("<u8")
    words ^= words >> np.uint64(30)
    words *= np.uint64(0xBF58476D1CE4E5B9)
    words ^= words >> np.uint64(27)
    words *= np.uint64(0x94D049BB133111EB)
    words ^= words >> np.uint64(31)
    words *= _KEYS[: words.shape[1]]
    return words.sum(axis=1, dtype=np.uint64).view(np.int64)


def id_hash(conversation_id: bytes) -> int:
    """The hash :func:`id_hashes` gives ``conversation_id``."""
    return int(id_hashes(np.array([conversation_id], dtype=np.bytes_))[0])


class SeenIds:
    """Ids in file order (row ``i`` is line ``i + 1``) and their hashes in sorted runs.

    The runs halve in length from first to last, like a binary counter: adding
    a chunk merges it with the runs no longer than itself, so each hash is
    merged O(log n) times and a lookup searches O(log n) runs.
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []

    def may_repeat(self, hashes: np.ndarray) -> bool:
        """Whether a hash of ``hashes`` was seen before or occurs twice among them."""
        chunk = np.sort(hashes)
        if np.any(chunk[1:] == chunk[:-1]):
            return True
        return any(_holds(run, chunk).any() for run in self._runs)

    def find(self, conversation_id: bytes, hashed: int) -> int | None:
        """The row at which ``conversation_id`` was first seen, if it was."""
        probe = np.array([hashed], dtype=np.int64)
        if not any(_holds(run, probe)[0] for run in self._runs):
            return None
        row = 0
        for hashes, ids in zip(self._hashes, self._ids, strict=True):
            for i in np.flatnonzero(hashes == hashed).tolist():
                if ids[i] == conversation_id:
                    return row + i
            row += len(hashes)
        return None

    def add(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        run = np.sort(hashes)
        while self._runs and len(self._runs[-1]) <= len(run):
            # A stable sort of two sorted runs is a linear merge (timsort).
            run = np.sort(np.concatenate([self._runs.pop(), run]), kind="stable")
        self._runs.append(run)
        self._hashes.append(hashes)
        self._ids.append(ids)


def _holds(run: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in the sorted ``run``."""
    at = np.searchsorted(run, values).clip(max=len(run) - 1)
    return run[at] == values
