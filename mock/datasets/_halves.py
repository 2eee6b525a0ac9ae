"""The second half of a large ``conversations.jsonl``, decoded at once by a forked process.

Decoding is CPU-bound (numpy over each block's bytes, or ``json``), so on two
cores a file of at least :data:`PARALLEL_BYTES` is read in two halves at the
same time: a forked child decodes the lines after the middle while the parent
decodes those before, and sends its columns back through a pipe.

The child's result is only a shortcut of the quick read (see
:mod:`._conversations`). If it fails for any reason (a line the fast ways
doubt, a signal), or if an id may repeat across the halves, the whole file is
read again by the careful reader, in order, so every error is the one a
sequential read reports, at the same line. Only a single-threaded process
forks here (a thread holding a lock would leave it held for ever in the
child): ``--watch`` reloads from a thread and reads sequentially.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["PARALLEL_BYTES", "Half", "split_point"]

#: Smaller files decode in well under a second: not worth a fork.
PARALLEL_BYTES = 64 * 2**20
_SELF_FD = Path("/proc/self/fd")


def split_point(stream: BinaryIO, size: int, max_line: int) -> int | None:
    """The offset of the first line after the middle, or ``None`` to read sequentially."""
    if size < PARALLEL_BYTES or (os.cpu_count() or 1) < 2 or threading.active_count() != 1:
        return None
    if not hasattr(os, "fork") or not _SELF_FD.is_dir():
        return None
    here = stream.tell()  # where the lines begin: after a byte order mark
    stream.seek(size // 2)
    rest = stream.readline(max_line + 1)
    stream.seek(here)
    split = size // 2 + len(rest)
    return split if rest.endswith(b"\n") and split < size else None


class Half:
    """A forked child decoding ``stream`` from ``split`` to its end with ``decode``."""

    def __init__(
        self, stream: BinaryIO, split: int, decode: Callable[[BinaryIO], dict[str, Any]]
    ) -> None:
        read, write = os.pipe()
        self.pid: int | None = os.fork()
        if self.pid == 0:  # the child: never returns to the caller's code
            code = 1
            try:
                os.close(read)
                # Its own open file: a forked descriptor would share the parent's offset.
                with open(_SELF_FD / str(stream.fileno()), "rb") as own:
                    own.seek(split)
                    payload = pickle.dumps(decode(own), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.read = read

    def result(self) -> dict[str, Any] | None:
        """The child's columns, or ``None`` when it failed."""
        try:
            pipe, self.read = os.fdopen(self.read, "rb"), -1
            with pipe:
                payload = pipe.read()
            status = self._reap()
            return pickle.loads(payload) if status == 0 and payload else None
        except (OSError, EOFError, pickle.UnpicklingError):
            return None

    def close(self) -> None:
        """Stop the child if its result is not wanted (the first half failed)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.read >= 0:
            os.close(self.read)
            self.read = -1

    def _reap(self) -> int:
        pid, self.pid = self.pid, None
        if pid is None:
            return -1
        return os.waitpid(pid, 0)[1]
