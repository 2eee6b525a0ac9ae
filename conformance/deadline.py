"""One deadline for a whole exchange of the kit's client, head and body included.

httpx's timeouts bound each read, not an exchange: a server that sends a byte
every few seconds (of its head or of its body) held the kit for ever. A
:class:`Deadline` learns each socket the client opens from httpcore's
``trace`` extension, and when an exchange outlives its seconds shuts every one
of them down, which ends whatever read waits there. The kit sends one request at
a time, so the only other sockets are idle ones: httpcore sees them closed and
opens a new connection the next time.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Deadline", "after"]

#: httpcore's trace events that hand over a connection's new network stream.
_OPENED = frozenset(
    {
        "connection.connect_tcp.complete",
        "connection.connect_unix_socket.complete",
        "connection.start_tls.complete",
    }
)


class Deadline:
    """``seconds`` for each exchange run under :meth:`running`; ``passed`` once one outlived it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False
        #: Whether the exchange under way opened a connection (else it went on a kept one).
        self.opened = False
        self._sockets: list[socket.socket] = []

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` callback: keeps each socket as its connection opens it."""
        if event in _OPENED:
            self.opened = True
            sock = info["return_value"].get_extra_info("socket")
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            if sock is not None:
                self._sockets.append(sock)

    def running(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        """One exchange: past ``seconds`` (else the deadline's own), its sockets are shut down
        and ``passed`` is set."""
        self.passed = self.opened = False
        return after(self.seconds if seconds is None else seconds, self._shut)

    def _shut(self) -> None:
        self.passed = True
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def after(seconds: float, call: Callable[[], None]) -> Iterator[None]:
    """``call`` (from a timer's thread) once ``seconds`` have passed, if the block still runs."""
    timer = threading.Timer(seconds, call)
    timer.daemon = True  # a timer left running must not keep the process alive
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
