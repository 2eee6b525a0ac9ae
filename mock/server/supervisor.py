"""The parent of forked workers, once they serve: a bare interpreter in the builder's stead.

The process that built the app and forked the workers from it
(:mod:`.prefork`) would otherwise stay on as their supervisor, holding every
page it had -- the interpreter, connexion, the dataset's bookkeeping, and the
original of each page a worker has written since the fork -- only to wait for
its children. It ``exec()``s this file instead, run by the same Python with no
site and no environment (``-I -S``): the pid stays, so the workers stay its
children, and nothing of the builder's memory is left. The standard library's
``os``, ``sys`` and ``time`` are all it uses (``_signal`` rather than
``signal``, whose enum wrappers would add ~0.8 MiB to its ~3.5 MiB of PSS),
so it must not import the package it belongs to.

It waits for signals instead of polling: SIGINT, SIGTERM and SIGCHLD come in
blocked (the builder blocked them before forking, and the mask survives
``exec``), so none is lost between the fork and the first wait. A worker that
dies is replaced by a new process (``WORKER``: ``python -m
usagekit.mock.server.worker FD``) that builds its own app from the config the
builder left in the environment -- the same pinned anchor, so the same bytes
-- and serves the inherited listening socket; a ``--data`` dataset is a file
mapping of the columnar cache there too. SIGINT or SIGTERM stops every worker
(SIGTERM, then SIGKILL after ``STOP_GRACE`` seconds), removes the control
directory the builder made, and exits 0.

A replacement that exits within ``START_WINDOW`` seconds has not started (a
worker builds its app in ~2 s); after ``FAILED_STARTS`` of those in a row the
supervisor stops the server the same way and exits 1, as gunicorn halts on a
worker's boot error: whatever broke the start (the dataset's file changed or
gone, the environment) breaks every later one, and a server that silently serves
with fewer workers forever, or with none, hides it from whoever runs it.
"""

from __future__ import annotations

import _signal as signal
import os
import sys
import time

__all__ = ["STOP_GRACE", "WATCHED", "command", "main"]

#: Seconds a worker has to finish its answers once asked to stop.
STOP_GRACE = 10.0
#: Seconds between two restarts: a worker that cannot start is not restarted in a busy loop.
RESTART_PAUSE = 1.0
#: A replacement that exits this soon after its start did not start; this many in a row
#: stop the server.
START_WINDOW, FAILED_STARTS = 10.0, 5
#: The signals the supervisor waits for, blocked from before the fork until it exits.
STOPS = frozenset({signal.SIGINT, signal.SIGTERM})
WATCHED = STOPS | {signal.SIGCHLD}
#: ``logging.WARNING``, and its colour in uvicorn's log (``uvicorn.logging.ColourizedFormatter``).
WARNING, YELLOW = 30, 33
#: Where the supervisor's arguments end and a new worker's command begins.
SEPARATOR = "--"


def command(
    workers: list[int], log_level: int, control_dir: str | None, worker: list[str]
) -> list[str]:
    """The command line that turns the builder into the supervisor of ``workers``
    (their pids), which starts ``worker`` (a command line) for each that dies."""
    pids = ",".join(str(pid) for pid in workers)
    head = [sys.executable, "-I", "-S", __file__, str(log_level), control_dir or "", pids]
    return [*head, SEPARATOR, *worker]


def main(argv: list[str]) -> int:
    """Supervise until SIGINT or SIGTERM (exit status 0), or until workers have failed to
    start ``FAILED_STARTS`` times in a row (1)."""
    log_level, control_dir, pids, separator, *worker = argv
    if separator != SEPARATOR or not worker:
        raise SystemExit(f"usage: {__file__} LEVEL DIR PIDS -- WORKER...")
    supervisor = Supervisor(worker, int(log_level), {int(pid) for pid in pids.split(",")})
    try:
        halted = supervisor.run()
    finally:
        supervisor.stop_all()
        if control_dir:
            remove_tree(control_dir)
    return 1 if halted else 0


class Supervisor:
    """Restarts the workers that die until a stop signal comes."""

    def __init__(self, worker: list[str], log_level: int, children: set[int]) -> None:
        self.worker = worker
        self.log_level = log_level
        self.children = children
        self.restarted = 0.0  # time.monotonic() of the last restart
        self.started: dict[int, float] = {}  # each replacement's time.monotonic() at its start
        self.failed = 0  # replacements in a row that exited within START_WINDOW

    def run(self) -> bool:
        """Restarts workers until a stop signal (False) or too many failed starts (True)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)  # already, unless run by hand
        while True:
            for pid, status in self.reap():
                if self.failed_start(pid):
                    self.warn(
                        f"worker {pid} exited ({status}): {self.failed} replacements in a "
                        f"row did not start; stopping the server"
                    )
                    return True
                self.warn(f"worker {pid} exited ({status}); starting another")
                if not self.pause():
                    return False
                pid = self.start()
                self.children.add(pid)
                self.started[pid] = time.monotonic()
            if signal.sigwaitinfo(WATCHED).si_signo in STOPS:
                return False

    def failed_start(self, pid: int) -> bool:
        """Counts ``pid``'s exit (just reaped) against the start; True at ``FAILED_STARTS``."""
        started = self.started.pop(pid, None)
        if started is None:  # forked by the builder: it served
            return False
        self.failed = self.failed + 1 if time.monotonic() - started < START_WINDOW else 0
        return self.failed >= FAILED_STARTS

    def reap(self) -> list[tuple[int, int]]:
        """The workers that have exited, with their wait status; forgotten."""
        done = []
        for pid in list(self.children):
            found, status = os.waitpid(pid, os.WNOHANG)
            if found:
                self.children.discard(pid)
                done.append((pid, status))
        return done

    def pause(self) -> bool:
        """Waits out ``RESTART_PAUSE`` since the last restart; False if told to stop meanwhile."""
        left = self.restarted + RESTART_PAUSE - time.monotonic()
        if left > 0 and signal.sigtimedwait(STOPS, left) is not None:
            return False
        self.restarted = time.monotonic()
        return True

    def start(self) -> int:
        """A new worker: it inherits the listening socket, stdout, stderr and the environment."""
        return os.posix_spawn(self.worker[0], self.worker, os.environ, setsigmask=())

    def stop_all(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still there ``STOP_GRACE`` s later."""
        for pid in self.children:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.children and (left := deadline - time.monotonic()) > 0:
            signal.sigtimedwait({signal.SIGCHLD}, left)
            self.reap()
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.children.clear()

    def warn(self, message: str) -> None:
        """A warning on stderr as uvicorn's default formatter writes it (importing
        ``logging`` would add ~2.5 MiB to the supervisor's ~3.5)."""
        if self.log_level > WARNING:
            return
        level = f"\033[{YELLOW}mWARNING\033[0m" if sys.stdout.isatty() else "WARNING"
        sys.stderr.write(f"{level}:  {message}\n")
        sys.stderr.flush()


def remove_tree(top: str) -> None:
    """``shutil.rmtree(top, ignore_errors=True)`` without importing shutil (and its imports)."""
    for root, dirs, files in os.walk(top, topdown=False):
        for name in [*files, *dirs]:
            _remove(os.path.join(root, name))
    _remove(top)


def _remove(path: str) -> bool:
    """Removes a file, a symbolic link or an empty directory; False if it cannot."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
