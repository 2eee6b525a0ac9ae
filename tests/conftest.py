"""Every test, and every process a test starts, keeps dataset caches in one temporary directory.

The columnar cache (``usagekit.mock.datasets.cache``) would otherwise write into
the user's ``~/.cache``; the environment variable reaches the servers the
tests start as subprocesses too.

Nothing in the pytest process may ``exec()``: a server of several workers
replaces its own process by their supervisor (``mock/server/prefork.py``), which
would replace pytest itself if a test ran one in process; there it raises, and
the workers it forked are stopped.

Hypothesis' per-example deadline is off for every test: a deadline is a timed
assertion, which a busy machine fails (speed lives in bench/, never in tests).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

from usagekit.mock.datasets.cache import CACHE_ENV

settings.register_profile("usagekit", deadline=None)
settings.load_profile("usagekit")

_made: list[str] = []
_execv = os.execv


def _refuse_exec(path: str, argv: object) -> None:
    raise RuntimeError(f"{path} would replace the pytest process: start servers in a subprocess")


def pytest_configure(config: pytest.Config) -> None:
    if CACHE_ENV not in os.environ:
        _made.append(tempfile.mkdtemp(prefix="usagekit-test-cache-"))
        os.environ[CACHE_ENV] = _made[-1]
    os.execv = _refuse_exec


def pytest_unconfigure(config: pytest.Config) -> None:
    os.execv = _execv
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
