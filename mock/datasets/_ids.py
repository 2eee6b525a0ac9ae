"""The conversation ids read so far, to find a repeated one without a set of strings.

A Python set of a million ids costs ~100 MB; this keeps each id's hash in a
sorted int64 array (8 MB a million) and the ids themselves in the chunks they
came in. A hash found again only *suggests* a repeat: :meth:`SeenIds.find`
confirms it against the ids, so a collision of hashes never rejects a file.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SeenIds", "id_hashes"]


def id_hashes(ids: list[bytes]) -> np.ndarray:
    """The hashes :class:`SeenIds` works with, as int64."""
    return np.fromiter(map(hash, ids), np.int64, count=len(ids))


class SeenIds:
    """Ids in file order (row ``i`` is line ``i + 1``) and their sorted hashes."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.int64)
        self._hashes: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []

    def may_repeat(self, hashes: np.ndarray) -> bool:
        """Whether a hash of ``hashes`` was seen before or occurs twice among them."""
        chunk = np.sort(hashes)
        if np.any(chunk[1:] == chunk[:-1]):
            return True
        if not len(self._sorted):
            return False
        at = np.searchsorted(self._sorted, chunk).clip(max=len(self._sorted) - 1)
        return bool(np.any(self._sorted[at] == chunk))

    def find(self, conversation_id: bytes, hashed: int) -> int | None:
        """The row at which ``conversation_id`` was first seen, if it was."""
        at = int(np.searchsorted(self._sorted, hashed))
        if at == len(self._sorted) or self._sorted[at] != hashed:
            return None
        row = 0
        for hashes, ids in zip(self._hashes, self._ids, strict=True):
            for i in np.flatnonzero(hashes == hashed).tolist():
                if ids[i] == conversation_id:
                    return row + i
            row += len(hashes)
        return None

    def add(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        chunk = np.sort(hashes)
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, chunk), chunk)
        self._hashes.append(hashes)
        self._ids.append(ids)
