"""A test server in a process of its own, as a partner's server runs.

``python -m servers.process --data DIR --port N [--fault NAME ...]`` serves
:class:`~servers.minimal.MinimalServer` over the dataset directory ``DIR``;
:func:`served` starts it for the length of a ``with`` block.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from processes import free_port, running

from servers.minimal import Fault, MinimalServer
from usagekit.mock.datasets.files import load_dataset


@contextmanager
def served(
    data: Path, faults: Iterable[Fault] = (), *, now: int | None = None, slow: float = 0.0
) -> Iterator[str]:
    """The minimal server over ``data`` in a subprocess; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "servers.process", "--data", str(data), "--port", str(port)]
    command += [arg for fault in faults for arg in ("--fault", fault.name)]
    if now is not None:
        command += ["--now", str(now)]
    if slow:
        command += ["--slow", str(slow)]
    # any answer (a 404 at the root) means it listens
    with running(command, port, timeout=30.0) as base:
        yield base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="servers.process")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault", action="append", default=[], choices=[f.name for f in Fault])
    parser.add_argument("--now", type=int, help="pinned now, µs since the epoch")
    parser.add_argument("--slow", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = MinimalServer(
        dataset=load_dataset(args.data),
        faults=frozenset(Fault[name] for name in args.fault),
        now=args.now,
        slow=args.slow,
    )
    uvicorn.run(server.app(), host="127.0.0.1", port=args.port, log_level="error")


if __name__ == "__main__":
    main()
