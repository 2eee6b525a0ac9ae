"""The frontend tools of tests/test_frontends.py: installed from tests/node's lock file, run.

:mod:`node_tools` installs the pinned Prism, openapi-typescript and TypeScript
with ``npm ci`` (once per lock file). Without Node.js the tests are skipped,
and say why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from node_tools import install, missing
from processes import stop
from server_support import free_port


def tools() -> Path:
    """The ``node_modules/.bin`` directory of the pinned tools, installed if need be."""
    absent = missing()
    if absent:
        reason = "not on PATH: Prism and openapi-typescript need Node.js"
        pytest.skip(f"{' and '.join(absent)} {reason}")
    return install()


@contextlib.contextmanager
def process(command: list[str], ready: str, timeout: float = 60.0) -> Iterator[str]:
    """``command`` listening on a free port (``{port}`` in it); yields its base URL.

    Ready once ``GET ready`` answers at all; its output goes to a temporary
    file, shown if it never gets ready.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [part.format(port=port) for part in command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            _wait(base + ready, child, timeout, log)
            yield base
        finally:
            stop(child)


def _wait(url: str, child: subprocess.Popen[bytes], timeout: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    log.seek(0)
    output = log.read().decode(errors="replace")
    raise RuntimeError(f"{url} did not answer (exit status {child.poll()}):\n{output}")


def usagekit() -> str:
    """The ``usagekit`` command of the running interpreter's environment."""
    beside = Path(sys.executable).with_name("usagekit")
    return str(beside) if beside.exists() else shutil.which("usagekit") or "usagekit"
