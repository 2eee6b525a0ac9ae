"""A server in a subprocess for the length of a ``with`` block, on a free port of 127.0.0.1.

:func:`running` starts the command with the tests' directory on ``PYTHONPATH``,
waits until :func:`wait_answering` sees the server answer, and stops it after;
``server_support`` and ``servers.process`` start their servers through it.
:func:`in_thread` serves a ``uvicorn.Server`` from a thread of the test's process
instead, for a test that patches what the server runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

TESTS = Path(__file__).resolve().parent

Ready = Callable[[httpx.Response], bool]


def free_port() -> int:
    with socket.socket() as sock:  # the server binds it a moment later
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def in_thread(server: uvicorn.Server) -> Iterator[None]:
    """``server`` running in a daemon thread of this process until the block ends."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(5)


@contextmanager
def running(
    command: Sequence[str],
    port: int,
    *,
    path: str = "",
    ready: Ready = lambda _: True,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Runs ``command`` (a server on ``port``) until the block ends; yields its base URL.

    It is up once ``GET {base}{path}`` gets an answer that ``ready`` accepts;
    ``env`` adds to the subprocess' environment."""
    pythonpath = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        list(command), env={**os.environ, **(env or {}), "PYTHONPATH": pythonpath}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{base}{path}", process, ready=ready, timeout=timeout)
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminates ``process``, and kills it if it has not exited 10 s later."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_answering(
    url: str, process: subprocess.Popen[bytes], *, ready: Ready, timeout: float
) -> None:
    """Returns once ``GET url`` gets an answer that ``ready`` accepts; raises if the
    process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if ready(httpx.get(url, timeout=1)):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer as expected in {timeout} s")
