"""The frontend tools of tests/test_frontends.py: installed from tests/node's lock file, run.

``npm ci`` installs the pinned Prism, openapi-typescript and TypeScript into
``tests/node/node_modules`` (ignored by git) once per lock file; a file lock
keeps parallel test processes from installing twice. Without Node.js the
tests are skipped, and say why.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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
from server_support import free_port

NODE = Path(__file__).parent / "node"
MODULES = NODE / "node_modules"
STAMP = MODULES / ".usagekit-lock-sha256"


def tools() -> Path:
    """The ``node_modules/.bin`` directory of the pinned tools, installed if need be."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if missing:
        reason = "not on PATH: Prism and openapi-typescript need Node.js"
        pytest.skip(f"{' and '.join(missing)} {reason}")
    digest = hashlib.sha256((NODE / "package-lock.json").read_bytes()).hexdigest()
    with open(NODE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STAMP.is_file() and STAMP.read_text() == digest):
            # --ignore-scripts: no install step of these packages is needed (one only
            # reports telemetry); the lock file pins every package and its hash.
            command = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
            done = subprocess.run(
                [*command, "--prefer-offline"], cwd=NODE, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
            STAMP.write_text(digest)
    return MODULES / ".bin"


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
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


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
