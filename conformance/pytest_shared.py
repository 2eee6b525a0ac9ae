"""The pytest plugin's one kit run, shared by the workers of pytest-xdist.

Under ``pytest -n N`` every worker is a process of its own that collects every
item, and each used to run the whole kit against the server for the items it
got: N runs, N times the traffic (a rate-limited staging server answers 429s),
and items of one rule judged by different runs. Now the first worker that needs
a verdict runs the kit under a file lock and writes what the items need to a
file of the run's own (its ``testrunuid``); the others wait on the lock and read
it. Without xdist, or where the workers share no temporary directory (remote
``--tx``), each process runs the kit itself, as before.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["ItemVerdict", "KitRun", "forget", "once_per_run"]


@dataclass(frozen=True, slots=True)
class ItemVerdict:
    """What one rule's item needs of the run: its status, and the kit's words."""

    status: str
    failed: bool
    skipped: str | None
    text: str  # the findings and their curls, when it failed


@dataclass(frozen=True, slots=True)
class KitRun:
    """The shared run: every rule's verdict, or why the run itself failed."""

    verdicts: Mapping[str, ItemVerdict] = field(default_factory=dict)
    error: str | None = None
    ended: str | None = None  # what the time budget ended, in the kit's words

    def to_json(self) -> str:
        verdicts = {name: asdict(verdict) for name, verdict in self.verdicts.items()}
        return json.dumps({"error": self.error, "verdicts": verdicts, "ended": self.ended})

    @classmethod
    def from_json(cls, text: str) -> KitRun:
        read = json.loads(text)
        verdicts = {name: ItemVerdict(**fields) for name, fields in read["verdicts"].items()}
        return cls(verdicts=verdicts, error=read["error"], ended=read.get("ended"))


#: A run of the kit: what it found, and the exception of a kit that crashed (to be
#: raised once, by the worker that ran it, for its traceback).
Judge = Callable[[], tuple[KitRun, BaseException | None]]


def _folder(uid: str) -> Path:
    return Path(tempfile.gettempdir()) / f"usagekit-pytest-{uid}"


def once_per_run(uid: str | None, judge: Judge) -> tuple[KitRun, BaseException | None]:
    """``judge()``'s run, made by the first caller of the test run ``uid``, read by the others."""
    if uid is None:
        return judge()
    folder = _folder(uid)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        held = folder.lstat()
    except OSError:
        return judge()
    # A folder another user made (or a link planted) under a shared /tmp is not ours to trust.
    if not stat.S_ISDIR(held.st_mode) or held.st_uid != os.getuid():
        return judge()
    done = folder / "run.json"
    with open(folder / "lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if done.exists():
            return KitRun.from_json(done.read_text(encoding="utf-8")), None
        run, crash = judge()
        part = folder / "run.json.part"
        part.write_text(run.to_json(), encoding="utf-8")
        part.replace(done)  # a reader never sees half of it
        return run, crash


def forget(uid: str) -> None:
    """Remove the run ``uid``'s shared file (the controller, once its workers are done)."""
    shutil.rmtree(_folder(uid), ignore_errors=True)
