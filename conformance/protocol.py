"""The proxy's server side: uvicorn's httptools protocol, each answer's head sent with its body.

uvicorn writes an answer's head as soon as the app starts it and its body
when the app sends it: two system calls, two segments for the client to wake
up to. The proxy sends a judged answer's head and its whole body back to back,
so :class:`~usagekit.mock.wire.OneWrite` holds the head until the first part of the body and lets
both leave in one ``writelines`` (an answer without a body -- HEAD, 204, 304 --
has its head flushed when it completes). For a repeated answer the proxy's own
work is a few look-ups, and that second write was a fifth of its CPU.

A GET of the endpoint may be forwarded before any task is made for it: the
protocol offers the app's ``at_once`` (:meth:`.proxy.ValidationProxy.at_once`)
each new request, one a read, with the means to start the task later when it must.

An answer the proxy holds whole (the endpoint's, read to be judged) may skip
ASGI's two messages through the scope's extension :data:`~usagekit.mock.whole.WHOLE`
(:mod:`usagekit.mock.whole`, which the mock's server shares).

Both -- the one write and the extension -- serve a task's answer only: a request
``at_once`` takes is answered with one ``writelines`` on the connection's own
transport (:func:`~usagekit.mock.whole.write_now`), so its cycle is fitted with
them only when a task is made for it after all (``later``). Fitted for every
request, they were a fiftieth of a repeat's instructions.

At shutdown, an answer still streaming is cut rather than waited for (:meth:`shutdown`).

A kept-alive connection is closed ``timeout_keep_alive`` seconds after its last
answer if no byte came since, as uvicorn closes it -- by one timer per
connection that moves its deadline, not one made per answer and cancelled by
the next request (a fiftieth of a repeat's instructions as well).

Bounded as the mock's server is (:class:`usagekit.mock.server.protocol.ContractProtocol`,
its twin; neither may import the other, and what they share is in :mod:`usagekit.mock.wire`
and :mod:`usagekit.mock.bounds`):

* a **request deadline** (:class:`~usagekit.mock.bounds.RequestDeadline`): a connection
  must send a whole request (head and any body) within ``request_timeout`` seconds
  (``--read-timeout``) of its first byte -- or of opening, for the first request --
  else it is closed: a slow client cannot hold one for ever. A wait that is the
  proxy's (reading paused while a pipelined request waits for an earlier answer)
  does not count against the client.
* a **head cap**: a request line plus headers over :data:`~usagekit.mock.bounds.MAX_HEAD_BYTES`
  is answered ``400 bad_request`` in the contract's shape and closed -- also one header
  that never ends, which httptools holds without a callback until it does (a read that
  ends inside a head counts whole, so at most one read more is kept). The twin counts
  each header as httptools hands it over; here a head is counted once, when it ends,
  and only if the reads it came in could hold more than the cap -- nothing per header
  on the per-exchange path.
* malformed HTTP is answered ``400 bad_request`` in the contract's shape too, not
  uvicorn's plain text.
* a ``Host`` its rule refuses (a page's name rebound to loopback) is answered ``400
  bad_request`` in the contract's shape -- its own paths and forwarded ones alike, before
  the app's ``at_once`` sees it (:class:`~usagekit.mock.whole.WholeAnswers`, the twin's too):
  the proxy forwards from loopback with the upstream's own ``Host``, so whatever the
  upstream serves to this machine (a mock's journal, a host only it reaches) would be
  a rebinding page's to read through it.
* a **stall deadline** (:class:`~usagekit.mock.bounds.StallDeadline`): a client that
  stops reading its answer -- a large body, pipelined requests, an endless stream --
  gets ``request_timeout`` seconds to take more once the transport's buffer is full,
  then the connection is dropped; the answer it held is freed and the upstream's
  connection serving it released.
* a **connection cap**: past ``max_connections`` open connections a new one is
  answered ``503 service_unavailable`` with ``Retry-After`` and let go at once.
* a client that leaves before its answer is whole releases the upstream connection
  serving it (:func:`.connection.client_left`): with the cap, the proxy's upstream
  connections in use are as many as its clients at most.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from usagekit.mock.bounds import (
    MAX_HEAD_BYTES,
    RETRY_AFTER_SECONDS,
    RequestDeadline,
    StallDeadline,
    closing_answer,
    refuse,
)
from usagekit.mock.hosts import HostRule
from usagekit.mock.whole import AT_ONCE_PER_READ, WHOLE, Whole, WholeAnswers
from usagekit.mock.wire import error_body

from .connection import client_left

__all__ = ["WHOLE", "ProxyProtocol", "Whole"]


def _bad_request(message: str, detail: str) -> bytes:
    """A whole 400 in the contract's shape that closes the connection."""
    return closing_answer(400, error_body("bad_request", message, detail=detail))


_TOO_LARGE = _bad_request(
    "The request head is too large.", f"At most {MAX_HEAD_BYTES} bytes are read."
)
_UNREADABLE = _bad_request("The request could not be read.", "Malformed HTTP/1.1.")
_BUSY = closing_answer(  # the mock's answer past its cap too
    503,
    error_body(
        "service_unavailable",
        "The service is temporarily unavailable.",
        detail=f"Too many connections; retry after {RETRY_AFTER_SECONDS} second.",
    ),
    [("Retry-After", str(RETRY_AFTER_SECONDS))],
)


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the head is past :data:`MAX_HEAD_BYTES`."""


class ProxyProtocol(RequestDeadline, StallDeadline, WholeAnswers, HttpToolsProtocol):
    """uvicorn's protocol, with each request's answer written through a
    :class:`~usagekit.mock.wire.OneWrite`, a whole answer writable at once through the
    scope's :data:`WHOLE` extension, and the app's ``at_once`` offered each new request
    (all three :class:`~usagekit.mock.whole.WholeAnswers`'); the first two are fitted
    when the request's task is made, not for a request taken at once."""

    _idle_since: float | None = None  # loop time of the last answer, with no byte since
    # The last request given a task: uvicorn's cycle is the last one read, which may be
    # waiting behind it (see connection_lost).
    _serving: RequestResponseCycle | None = None

    def __init__(
        self,
        *args: Any,
        request_timeout: float = 5.0,
        max_connections: int = 1000,
        hosts: HostRule | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.hosts = hosts
        self._in_head = True
        # Bytes of the reads since the last head ended, each of which ended inside a head
        # (-1: a head ended in this read), as the twin counts them; and the bytes of the
        # read that ended the last head, if a head is under way after it: the head under
        # way may have begun in it.
        self._unended = 0
        self._carried = 0
        # The reads of the head under way could hold more than the cap: count it exactly.
        self._large = False
        self._over = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            refuse(self, transport, _BUSY, linger=None)  # let go at once: few sockets held
            return
        self._arm_deadline()

    def data_received(self, data: bytes) -> None:
        # Per read: what is per exchange is inlined (no frame of its own).
        size = len(data)
        if self._in_head:
            if self._due is None:  # a request begins: its deadline (_arm_deadline)
                self._due = due = self.loop.time() + self.request_timeout
                if self._deadline is None:
                    self._deadline = self.loop.call_at(due, self._expire_deadline)
            if self._unended + self._carried + size > MAX_HEAD_BYTES:
                self._large = True
        elif size > MAX_HEAD_BYTES:  # a body's read, which the next head may end
            self._large = True
        self._at_once = AT_ONCE_PER_READ  # WholeAnswers.data_received's, without its frame
        HttpToolsProtocol.data_received(self, data)
        if not self._in_head:
            return
        unended = self._unended
        if unended < 0:  # a head ended in this read, and the next may have begun in it
            self._unended, self._carried = 0, size
        elif unended + size > MAX_HEAD_BYTES:
            # httptools holds a header till it ends: a read that ends inside a head counts.
            self._refuse(_TOO_LARGE)
        else:
            self._unended = unended + size

    def on_headers_complete(self) -> None:
        if self._large:
            self._large = False
            if len(self.url) + sum([len(k) + len(v) + 4 for k, v in self.headers]) > (
                MAX_HEAD_BYTES
            ):
                self._over = True
                raise _HeadTooLarge  # uvicorn's parser error: send_400_response
        self._in_head = False
        self._unended = -1
        # uvicorn's, without OneWriteAnswers' fitting of every new cycle: _task fits it.
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        self._due = None
        self._in_head = True
        HttpToolsProtocol.on_message_complete(self)

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this for any parser error; the cap's own says more.
        self._refuse(_TOO_LARGE if self._over else _UNREADABLE)

    def _refuse(self, response: bytes) -> None:
        self._cancel_deadline()
        if self.cycle is not None:
            self.cycle.disconnected = True  # an answer under way writes nothing more
        refuse(self, self.transport, response, linger=self.request_timeout)

    # -- the request deadline (RequestDeadline) ------------------------------------------

    def _waiting(self) -> bool:
        return self.flow.read_paused  # the proxy's wait (a pipelined answer), not the client's

    def _task(self, cycle: RequestResponseCycle, app: Any) -> None:
        self._serving = cycle
        self.answering(cycle)
        super()._task(cycle, app)

    def shutdown(self) -> None:
        """uvicorn's graceful end of the connection, but an answer still streaming (another
        path's: the endpoint's are written whole) ends now, as its connection does: a
        stream -- an event stream, say -- may never end by itself, and uvicorn waited for
        it before the proxy could exit and write its reports. (The app's task then closes
        the upstream's connection: it sees the client leave.)"""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.close()
            return
        super().shutdown()

    # -- the keep-alive timer: uvicorn's, one per connection ------------------------------

    def _unset_keepalive_if_required(self) -> None:
        # Bytes came (or the connection ends): not idle. An armed timer is left to fire and
        # find the connection busy; connection_lost cancels it.
        self._idle_since = None

    def on_response_complete(self) -> None:
        """uvicorn's, with the keep-alive deadline moved rather than a timer made."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self._arm(self._idle_since + self.timeout_keep_alive)

    def _arm(self, deadline: float) -> None:
        self.timeout_keep_alive_task = self.loop.call_at(deadline, self._keep_alive_due)

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return  # busy since: the end of its answer arms the timer again
        deadline = self._idle_since + self.timeout_keep_alive
        if self.loop.time() < deadline:  # answered again since: the deadline moved
            self._arm(deadline)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self._cancel_stall()
        # The request under way is uvicorn's cycle, or, while later ones wait behind it
        # (pipelined), the last given a task: one taken at once (no task) writes nothing
        # until its answer is whole, so neither a stall nor a reset can end the connection
        # meanwhile, and reading waits for it. Each, unanswered, lets its upstream go.
        for cycle in (self.cycle, self._serving):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True  # uvicorn marks its cycle only
                client_left(cycle.scope)
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
