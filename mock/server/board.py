"""The workers' board: what each holds, in shared memory, for spreading connections.

A few integers in a ``memfd`` that every worker of ``--workers N`` maps (forked
ones share the mapping; one the supervisor starts afresh maps the descriptor
named in :data:`BOARD_ENV`). Each integer is written by one process only --
its owner's open connections and heartbeat, and per pair of workers the
connections one has passed to the other and those the other has taken in since
-- so no lock is needed and a burst passed on counts at once, before its
receiver has run. :mod:`.balance` reads it to decide where a connection goes.
"""

from __future__ import annotations

import mmap
import os
import time

__all__ = ["BEAT", "BOARD_ENV", "STALE", "Board"]

#: The board's file descriptor, for a worker the supervisor starts afresh.
BOARD_ENV = "USAGEKIT_MOCK_BOARD"
_WORD = 8  # bytes of one counter (int64)
#: Seconds between a worker's heartbeats on the board, and the age past which a
#: sibling is taken for stuck (a long answer, a debugger, SIGSTOP) and passed nothing.
BEAT, STALE = 0.1, 0.5


class Board:
    """Counters of ``workers`` workers in shared memory, each written by one process:
    worker ``s``'s open connections and its heartbeat (``time.monotonic_ns()``,
    renewed every :data:`BEAT` s), ``passed[s][t]`` (connections ``s`` has passed to
    ``t``) and ``taken[t][s]`` (those ``t`` has taken in since)."""

    def __init__(self, fd: int, workers: int) -> None:
        self.fd = fd
        self.workers = workers
        self._map = mmap.mmap(fd, _size(workers))
        self.counters = memoryview(self._map).cast("q")
        self.name = f"usagekit-board-{os.fstat(fd).st_ino}"

    @classmethod
    def create(cls, workers: int) -> Board:
        """A new board, its descriptor inherited by the processes the supervisor starts."""
        fd = os.memfd_create("usagekit-board", 0)
        os.ftruncate(fd, _size(workers))
        return cls(fd, workers)

    @classmethod
    def from_env(cls) -> Board | None:
        """The board of :data:`BOARD_ENV` (``FD:WORKERS``), if there is one."""
        found = os.environ.get(BOARD_ENV)
        if not found:
            return None
        fd, workers = map(int, found.split(":"))
        return cls(fd, workers)

    def to_env(self) -> str:
        os.set_inheritable(self.fd, True)
        return f"{self.fd}:{self.workers}"

    def address(self, slot: int) -> bytes:
        """Where ``slot``'s worker listens for connections passed to it."""
        return f"\0{self.name}-{slot}".encode()

    def load(self, slot: int) -> int:
        """``slot``'s open connections and those passed to it, not yet taken in."""
        c = self.counters
        coming = (c[self._passed(s, slot)] - c[self._taken(slot, s)] for s in range(self.workers))
        return c[slot] + sum(max(0, n) for n in coming)

    def alive(self, slot: int, now: int) -> bool:
        """Whether ``slot``'s worker has beaten within :data:`STALE` s of ``now`` (ns)."""
        return now - self.counters[self.workers + slot] < STALE * 1e9

    def opened(self, slot: int, connections: int) -> None:
        self.counters[slot] = connections

    def beat(self, slot: int) -> None:
        self.counters[self.workers + slot] = time.monotonic_ns()

    def passed(self, slot: int, to: int) -> None:
        self.counters[self._passed(slot, to)] += 1

    def taken(self, slot: int, source: int) -> None:
        self.counters[self._taken(slot, source)] += 1

    def claim(self, slot: int) -> None:
        """``slot`` for a new worker: none open, nothing on its way (what its
        predecessor had not taken in went with it), alive."""
        c = self.counters
        c[slot] = 0
        for s in range(self.workers):
            c[self._taken(slot, s)] = c[self._passed(s, slot)]
        self.beat(slot)

    def _passed(self, source: int, to: int) -> int:
        return self.workers * (2 + source) + to

    def _taken(self, slot: int, source: int) -> int:
        return self.workers * (2 + self.workers + slot) + source


def _size(workers: int) -> int:
    return _WORD * workers * (2 + 2 * workers)
