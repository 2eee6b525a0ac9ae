"""Several workers that share one dataset: built once, then forked.

uvicorn's ``workers=N`` starts each worker with the ``spawn`` start method
(``uvicorn._subprocess``): a new interpreter that imports everything and
loads the dataset again, so N workers hold N copies. Here the parent builds
the app -- dataset, scopes, spec, connexion's tables -- binds the socket,
freezes the heap out of the collector's sight and forks the workers, which
serve from that one copy, shared page by page until written (numpy's column
buffers never are). A ``--data`` dataset's columns and scopes are file
mappings of the columnar cache (:mod:`usagekit.mock.datasets.cache`), and so is
each rollup a worker builds later: the other worker maps the same file, and
the page cache holds one copy for all (a first load's columns are written
there before the fork; see ``run._build``). The parent only supervises: a worker that dies is forked
again from the same state, and SIGINT/SIGTERM stop every worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import types

import uvicorn

__all__ = ["Prefork"]

logger = logging.getLogger("uvicorn.error")

#: Seconds a worker has to finish its answers once asked to stop.
STOP_GRACE = 10.0


class Prefork:
    """Forks ``workers`` uvicorn servers over one bound socket and keeps them running."""

    def __init__(
        self,
        config: uvicorn.Config,
        sock: socket.socket,
        workers: int,
        server: type[uvicorn.Server] = uvicorn.Server,
    ) -> None:
        self.config = config
        self.server = server
        self.socket = sock
        self.workers = workers
        self.children: set[int] = set()
        self.should_exit = threading.Event()

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM; blocks."""
        for name in ("SIGINT", "SIGTERM"):
            signal.signal(getattr(signal, name), self._stop)
        logger.info("Started parent process [%d]", os.getpid())
        try:
            for _ in range(self.workers):
                self._fork()
            while not self.should_exit.wait(0.2):
                self._reap(restart=True)
        finally:
            self._stop_all()

    def _fork(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                for name in ("SIGINT", "SIGTERM"):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
                self.server(self.config).run(sockets=[self.socket])
            except BaseException:  # whatever happens, never return to the parent's code
                logger.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        self.children.add(pid)

    def _reap(self, *, restart: bool) -> None:
        for pid in list(self.children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.children.discard(pid)
                if restart and not self.should_exit.is_set():
                    logger.warning("worker %d exited (%d); starting another", pid, status)
                    self._fork()

    def _stop(self, signum: int, _frame: types.FrameType | None) -> None:
        self.should_exit.set()

    def _stop_all(self) -> None:
        for pid in self.children:
            os.kill(pid, signal.SIGTERM)
        deadline = threading.Event()
        for _ in range(int(STOP_GRACE / 0.1)):
            self._reap(restart=False)
            if not self.children:
                return
            deadline.wait(0.1)
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.children.clear()
