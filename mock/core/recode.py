"""A column of codes recoded by the sorted names they stand for (a :class:`~.dataset.Scope`'s)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["recode"]

#: The agent code of a conversation without an agent (``dataset.NO_AGENT``), the least code.
NO_AGENT = -1


def recode(codes: np.ndarray, name_of: Callable[[int], str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Replace codes by ranks in the sorted table of the names that occur."""
    # Codes are small and at least NO_AGENT (-1): counted, not sorted, and mapped by a table.
    present = np.flatnonzero(np.bincount(codes - NO_AGENT)) + NO_AGENT if len(codes) else codes
    names = [name_of(int(code)) for code in present]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.zeros(int(present[-1]) - NO_AGENT + 1 if len(present) else 0, dtype=np.int32)
    rank[present[order] - NO_AGENT] = np.arange(len(names), dtype=np.int32)
    recoded = rank[codes - NO_AGENT] if len(present) else codes.astype(np.int32)
    return tuple(names[i] for i in order), recoded
