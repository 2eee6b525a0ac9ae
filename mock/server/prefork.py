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
there before the fork; see ``run._build``).

Once they are forked the parent has nothing left to do but wait for them, and
every page it keeps -- and the original of each page a worker writes -- would
be charged to the server for nothing. So it ``exec()``s the small supervisor
of :mod:`.supervisor` in its own place (the same pid: the workers stay its
children), which replaces a worker that dies by a new one (:mod:`.worker`)
and stops them all on SIGINT/SIGTERM. An ``exec`` replaces the whole process:
:func:`os.execv` failing (as the tests' ``conftest`` makes it in the pytest
process) stops the workers just forked and raises.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import NoReturn

import uvicorn

from . import supervisor

__all__ = ["Prefork"]

logger = logging.getLogger("uvicorn.error")

#: How the supervisor starts a worker afresh; it adds the listening socket's descriptor.
WORKER = [sys.executable, "-m", "usagekit.mock.server.worker"]


class Prefork:
    """Forks ``workers`` uvicorn servers over one bound socket, then becomes their supervisor.

    ``control_dir``: a directory the supervisor removes when it stops (the
    builder's ``finally`` does not run once it has ``exec()``ed)."""

    def __init__(
        self,
        config: uvicorn.Config,
        sock: socket.socket,
        workers: int,
        server: Callable[[uvicorn.Config], uvicorn.Server] = uvicorn.Server,
        *,
        control_dir: str | None = None,
    ) -> None:
        self.config = config
        self.server = server
        self.socket = sock
        self.workers = workers
        self.control_dir = control_dir

    def run(self) -> NoReturn:
        """Fork the workers and ``exec()`` the supervisor; returns only by raising."""
        # Blocked until the supervisor waits for them: a signal sent meanwhile stays pending.
        before = signal.pthread_sigmask(signal.SIG_BLOCK, supervisor.WATCHED)
        logger.info("Started parent process [%d]", os.getpid())
        children: list[int] = []
        try:
            for _ in range(self.workers):  # each noted as soon as forked, to stop on failure
                children.append(self._fork())  # noqa: PERF401
            fd = self.socket.fileno()
            os.set_inheritable(fd, True)  # for the supervisor, and the workers it starts
            level = logger.getEffectiveLevel()
            argv = supervisor.command(children, level, self.control_dir, [*WORKER, str(fd)])
            sys.stdout.flush()
            sys.stderr.flush()
            os.execv(argv[0], argv)
        except BaseException:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
            raise

    def _fork(self) -> int:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                for name in ("SIGINT", "SIGTERM"):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, supervisor.WATCHED)
                self.server(self.config).run(sockets=[self.socket])
            except BaseException:  # whatever happens, never return to the parent's code
                logger.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        return pid
