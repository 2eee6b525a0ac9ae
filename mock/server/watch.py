"""``--watch``: reload ``--data DIR`` when its files change, keeping the old data on error.

A daemon thread in each worker polls the directory's files (name, size,
mtime) every :data:`POLL_SECONDS`; once a change has held still for one
more poll (an editor's save is not read half-written), it loads the
directory and hands the dataset to ``on_load``, which swaps it in at once.
A file that does not load leaves the old data serving: the error (with its
file and line, from :class:`DatasetError`) is logged and kept in
:attr:`Watcher.state` for ``GET /_usagekit/status``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import UsagekitError
from usagekit.mock.datasets import files

__all__ = ["POLL_SECONDS", "Signature", "WatchState", "Watcher", "signature"]

logger = logging.getLogger("usagekit.mock.server")

POLL_SECONDS = 0.5

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchState:
    """What the watcher has done: for ``/_usagekit/status``."""

    directory: str
    reloads: int = 0
    last_reload: str | None = None
    #: The last load's error (file:line: field message), ``None`` once a load succeeds.
    error: str | None = None
    error_at: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "reloads": self.reloads,
            "last_reload": self.last_reload,
            "error": self.error,
            "error_at": self.error_at,
        }


def signature(directory: Path) -> Signature:
    """The directory's files as (name, size, mtime): what a change changes."""
    entries = []
    with os.scandir(directory) as scan:
        for entry in scan:
            if entry.is_file() and not entry.name.endswith(".partial"):
                stat = entry.stat()
                entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


class Watcher:
    """Polls ``directory`` and calls ``on_load(dataset)`` after each good change."""

    def __init__(
        self,
        directory: str,
        on_load: Callable[[Dataset], None],
        *,
        seen: Signature | None = None,
    ) -> None:
        """``seen``: the files' signature when the served data was read (default: now)."""
        self.directory = Path(directory)
        self.on_load = on_load
        self.state = WatchState(directory=str(directory))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usagekit-watch", daemon=True)
        self._seen = signature(self.directory) if seen is None else seen

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        pending: Signature | None = None
        while not self._stop.wait(POLL_SECONDS):
            try:
                now = signature(self.directory)
            except OSError as exc:
                self._failed(f"{self.directory}: {exc.strerror}")
                continue
            if now == self._seen:
                pending = None
            elif now != pending:
                pending = now  # changed since the last poll: wait for it to hold still
            else:
                self._seen, pending = now, None
                self.check()

    def check(self) -> None:
        """Load the directory now; swap on success, keep the old data on failure."""
        try:
            dataset = files.load_dataset(self.directory)
        except UsagekitError as exc:
            self._failed(str(exc))
            return
        except OSError as exc:
            self._failed(f"{exc.filename}: {exc.strerror}")
            return
        self.on_load(dataset)
        self.state = replace(
            self.state,
            reloads=self.state.reloads + 1,
            last_reload=_now(),
            error=None,
            error_at=None,
        )
        logger.info(
            "--watch: reloaded %s (%d conversations)", self.directory, len(dataset.conversations)
        )

    def _failed(self, message: str) -> None:
        self.state = replace(self.state, error=message, error_at=_now())
        logger.error("--watch: kept the old data; %s", message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
