"""Staging directories named by the process writing them, and the sweep of abandoned ones.

Exports and cache items are written into a staging directory and renamed into
place, so a reader never sees half a file. A writer killed before the rename
(SIGKILL, a power cut) leaves its staging directory behind; since its name
carries the writer's pid, the next writer in the same place removes those
whose process no longer runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["make", "sweep"]


def make(folder: Path, prefix: str) -> Path:
    """A new staging directory in ``folder``, named ``<prefix><pid>-<random>``."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=folder))


def sweep(folder: Path, prefix: str) -> None:
    """Remove the staging directories in ``folder`` whose writer no longer runs."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        pid = name[len(prefix) :].split("-", 1)[0] if name.startswith(prefix) else ""
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder / name, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True
