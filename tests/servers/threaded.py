"""A raw asyncio server in a thread of the test's own process, for a ``with`` block.

For a peer that must misbehave below HTTP (end a connection, reset it, answer with
codes no framework writes) and that the test inspects afterwards (what it saw).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

__all__ = ["in_thread"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def in_thread(handle: Handler) -> Iterator[str]:
    """``handle`` serving each connection on a free loopback port; yields the base URL.
    At the block's end ``asyncio.run`` cancels the handlers still running (each closes
    its writer) and the server closes."""
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Future[None], int]]
    started = queue.Queue()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        stop = asyncio.get_running_loop().create_future()
        started.put((asyncio.get_running_loop(), stop, server.sockets[0].getsockname()[1]))
        async with server:
            await stop

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    loop, stop, port = started.get(timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
