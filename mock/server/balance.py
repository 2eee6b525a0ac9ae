"""Connections spread evenly over the workers of ``--workers N``.

Every worker accepts from the one listening socket, and the kernel wakes them
all: whichever runs first takes every connection waiting. A burst -- a load
generator's 32 connections, a dashboard's tabs opening at once -- can land 30
on one worker and 2 on the other (measured with ``ss`` on this 2-core machine
while it was busy), and a keep-alive connection stays where it landed: one
worker queues sixteen answers behind each request while the other idles.

So a worker that accepts a connection while it holds more than its least busy
sibling passes it on before reading a byte, as Node's cluster module hands
connections to its workers: the socket's descriptor goes to that sibling
(``SCM_RIGHTS`` over a Unix sequenced-packet connection between the two; a
datagram socket queues only ``net.unix.max_dgram_qlen`` messages, 10 by
default, too few for a burst), which serves it as if it had accepted it
(``loop.connect_accepted_socket``). Nothing was read, so nothing is lost, and
the client sees one connection. A connection is passed at most once.

What each worker holds is on the :class:`~.board.Board` in shared memory. A
worker's slot there is the first of ``\\0usagekit-board-INODE-SLOT`` (abstract
Unix addresses) it can listen on: a replacement worker takes the one its dead
predecessor left. A sibling that has not renewed its heartbeat for
:data:`~.board.STALE` seconds (stuck in a long answer, stopped) is passed
nothing, and whatever fails -- a sibling gone, its queue full -- the worker
keeps the connection. One worker (``--workers 1``) has no board.
"""

from __future__ import annotations

import array
import asyncio
import os
import socket
import struct
import time
from collections.abc import Callable

from .board import BEAT, Board

__all__ = ["Balance"]


class Balance:
    """One worker's part: passes a connection on (:meth:`pass_on`), takes in those
    passed to it (:meth:`start`). Made before the fork, started in each worker."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.slot: int | None = None
        self.listening: socket.socket | None = None
        #: A connected socket to each sibling passed to so far, by its slot.
        self.peers: dict[int, socket.socket] = {}
        self.readers: list[socket.socket] = []
        self.beating: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], object]) -> None:
        """Claims a slot and takes in, with ``protocol`` (the server's factory), what
        siblings pass; a worker that finds no slot free simply keeps what it accepts."""
        for slot in range(self.board.workers):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                sock.bind(self.board.address(slot))
            except OSError:
                sock.close()
                continue
            self.board.claim(slot)
            sock.listen(self.board.workers)
            sock.setblocking(False)
            self.slot, self.listening = slot, sock
            loop.add_reader(sock.fileno(), self._accept, loop, protocol)
            self._beat(loop)
            return

    def pass_on(self, transport: asyncio.BaseTransport) -> bool:
        """True if ``transport``'s connection went to a less busy sibling (then
        ``transport`` is aborted: this worker is done with it)."""
        slot, board = self.slot, self.board
        if slot is None:
            return False
        now = time.monotonic_ns()
        live = (
            (board.load(t), t) for t in range(board.workers) if t != slot and board.alive(t, now)
        )
        least, to = min(live, default=(None, None))
        sock = transport.get_extra_info("socket")
        if to is None or board.load(slot) <= least or sock is None:
            return False
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))]
        try:
            self._peer(to).sendmsg([_SLOT.pack(slot)], rights)
        except OSError:  # gone, or full: kept here, and a new connection to it next time
            self.peers.pop(to).close()
            return False
        board.passed(slot, to)
        transport.abort()  # the sibling holds the socket now: closing ours sends nothing
        return True

    def opened(self, connections: int, taken_from: int | None = None) -> None:
        """This worker now holds ``connections`` open ones, the last one passed here by
        ``taken_from`` if given: both counts at once, so that no sibling reads it as
        both on its way and open, or as neither."""
        if self.slot is not None:
            self.board.opened(self.slot, connections)
            if taken_from is not None:
                self.board.taken(self.slot, taken_from)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Takes nothing more in (a worker shutting down): a sibling keeps what it accepts."""
        if self.beating is not None:
            self.beating.cancel()
            self.beating = None
        for sock in [self.listening, *self.readers, *self.peers.values()]:
            if sock is not None:
                loop.remove_reader(sock.fileno())
                sock.close()
        self.slot, self.listening, self.readers, self.peers = None, None, [], {}

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.slot is not None:
            self.board.beat(self.slot)
            self.beating = loop.call_later(BEAT, self._beat, loop)

    def _peer(self, slot: int) -> socket.socket:
        peer = self.peers.get(slot)
        if peer is None:
            peer = self.peers[slot] = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            peer.setblocking(False)
            peer.connect(self.board.address(slot))  # may raise: the caller keeps the connection
        return peer

    def _accept(self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], object]) -> None:
        try:
            sock, _ = self.listening.accept()  # type: ignore[union-attr]
        except OSError:
            return
        # An abstract address is open to every process on the host: only a sibling --
        # another child of this worker's parent -- may pass connections here.
        pid, _, _ = _SIBLING.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if _parent(pid) != os.getppid():
            sock.close()
            return
        sock.setblocking(False)
        self.readers.append(sock)
        loop.add_reader(sock.fileno(), self._take, loop, protocol, sock)

    def _take(
        self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], object], sock: socket.socket
    ) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, _SLOT.size, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:  # the sibling is gone
                loop.remove_reader(sock.fileno())
                self.readers.remove(sock)
                sock.close()
                return
            (sender,) = _SLOT.unpack(data) if len(data) == _SLOT.size else (None,)
            if sender is None or sender >= self.board.workers or len(fds) != 1:
                for fd in fds:  # never from a sibling
                    os.close(fd)
                continue
            try:
                conn = socket.socket(fileno=fds[0])
            except OSError:  # not a socket
                os.close(fds[0])
                continue
            loop.create_task(self._serve(loop, protocol, conn, sender))

    async def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol: Callable[[], object],
        sock: socket.socket,
        sender: int,
    ) -> None:
        """Serves a connection ``sender`` passed here as if accepted here; the protocol
        counts it as taken in when it counts it as open (:meth:`opened`)."""

        def made() -> asyncio.BaseProtocol:
            made = protocol()
            made.taken_from = sender  # type: ignore[attr-defined]
            return made  # type: ignore[return-value]

        try:
            await loop.connect_accepted_socket(made, sock)
        except OSError:  # the client left meanwhile: no longer on its way
            sock.close()
            if self.slot is not None:
                self.board.taken(self.slot, sender)


#: A message's one datum: the sender's slot (its file descriptor rides along).
_SLOT = struct.Struct("<H")
#: ``SO_PEERCRED``: the pid, uid and gid of the process at the other end.
_SIBLING = struct.Struct("3i")


def _parent(pid: int) -> int | None:
    """``pid``'s parent, if ``pid`` still runs."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
