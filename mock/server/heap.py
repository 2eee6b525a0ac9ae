"""Giving the C heap's free pages back to the system: before a fork, and when a worker is idle.

glibc keeps the memory Python frees for later allocations. Loading a dataset
leaves much of the heap free, and a never-seen query leaves holes too: its
temporaries (numpy buffers, the body being encoded) and the memo's evictions
free blocks in the middle of the heap, which glibc cannot give back by
shrinking it. After a burst of never-seen queries a worker held some 7 MiB of
such holes (``mallinfo2().fordblks``); ``malloc_trim(0)`` hands back every whole
free page of them (``madvise(MADV_DONTNEED)``), in 0.6 ms, or 0.03 ms when there
is nothing to give.

Under load those holes are the next answers' working space, and giving them
back would only fault them in again; so :class:`IdleRelease` trims once a
worker has had no open connection for :data:`IDLE_SECONDS` -- a dashboard's
mock sits idle most of its life.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
from collections.abc import Callable, Collection

__all__ = ["IDLE_SECONDS", "IdleRelease", "release_free_memory"]

#: Seconds without an open connection after which a worker gives its free heap back.
IDLE_SECONDS = 1.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, found in the process's own symbols; ``None`` elsewhere
    (musl, macOS). Not through ``ctypes.util.find_library``, which runs ``ldconfig``."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def release_free_memory() -> None:
    """Give the C heap's whole free pages back to the system, where glibc allows it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class IdleRelease:
    """Calls ``release`` once no connection has been open for ``seconds``.

    One per worker, told by the protocol when a connection closes: the first
    close that leaves none open arms one timer, and the timer releases if none
    is open when it fires -- at most one release per ``seconds``, however many
    connections come and go.
    """

    def __init__(
        self, seconds: float = IDLE_SECONDS, release: Callable[[], None] = release_free_memory
    ) -> None:
        self.seconds = seconds
        self.release = release
        self._timer: asyncio.TimerHandle | None = None

    def __getstate__(self) -> dict[str, object]:
        # Pickled into the workers a --watch server starts: a timer is the loop's, not theirs.
        return {"seconds": self.seconds, "release": self.release, "_timer": None}

    def closed(self, loop: asyncio.AbstractEventLoop, connections: Collection[object]) -> None:
        """A connection closed; ``connections`` are those still open."""
        if not connections and self._timer is None:
            self._timer = loop.call_later(self.seconds, self._fire, connections)

    def _fire(self, connections: Collection[object]) -> None:
        self._timer = None
        if not connections:
            self.release()
