"""A requested delay that ends when its client goes.

``Prefer: latency=``, ``--latency`` and a runtime scenario's ``latency_ms``
hold a request for up to a minute, and its ``--max-requests`` slot with it. A
client that hangs up meanwhile waits for nothing: the delay ends then and
nothing is answered -- else a client that opened as many connections as there
are slots and closed them at once kept every other client answered 503 for
that minute, at no cost to itself.

The server says a client went by ``http.disconnect`` from ``receive``; to hear
it the delay reads the request's messages, so it hands on a ``receive`` that
gives what it read. The operation is a GET: its body, which nothing reads, is
dropped as it comes (never kept, whatever its size).
"""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive

__all__ = ["pause"]

#: What is handed on in place of the request's messages read while waiting.
_READ = {"type": "http.request", "body": b"", "more_body": False}


async def pause(seconds: float, receive: Receive) -> Receive | None:
    """Wait ``seconds``: the ``receive`` to go on with, or ``None`` once the client is gone."""
    loop = asyncio.get_running_loop()
    due = loop.time() + seconds
    held = _Held(receive)
    watch = asyncio.ensure_future(held.until_gone())
    try:
        await asyncio.wait((watch,), timeout=seconds)
    finally:
        if not watch.done():
            watch.cancel()
            await asyncio.wait((watch,))  # its receive() let go before anyone else calls it
    if not watch.cancelled() and watch.exception() is None and watch.result():
        return None
    left = due - loop.time()
    if left > 0:  # receive() stopped telling (it failed, or broke ASGI's order): wait it out
        await asyncio.sleep(left)
    return held.receive


class _Held:
    """The request's messages read while waiting for ``http.disconnect``."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._read = False

    async def until_gone(self) -> bool:
        """``True`` once the client is gone; ``False`` when ``receive`` says anything but
        that after the whole body, which ASGI does not allow (it would spin here)."""
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return True
            if self._read:
                return False
            if not message.get("more_body", False):
                self._read = True

    async def receive(self) -> Message:
        if self._read:
            self._read = False
            return dict(_READ)
        return await self._receive()
