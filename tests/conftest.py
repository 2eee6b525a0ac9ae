"""Every test, and every process a test starts, keeps dataset caches in one temporary directory.

The columnar cache (``usagekit.mock.datasets.cache``) would otherwise write into
the user's ``~/.cache``; the environment variable reaches the servers the
tests start as subprocesses too.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from usagekit.mock.datasets.cache import CACHE_ENV

_made: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if CACHE_ENV not in os.environ:
        _made.append(tempfile.mkdtemp(prefix="usagekit-test-cache-"))
        os.environ[CACHE_ENV] = _made[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
