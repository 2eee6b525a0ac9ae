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
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from usagekit.mock.whole import WHOLE, Whole, WholeAnswers

__all__ = ["WHOLE", "ProxyProtocol", "Whole"]


class ProxyProtocol(WholeAnswers, HttpToolsProtocol):
    """uvicorn's protocol, with each request's answer written through a
    :class:`~usagekit.mock.wire.OneWrite`, a whole answer writable at once through the
    scope's :data:`WHOLE` extension, and the app's ``at_once`` offered each new request
    (all three :class:`~usagekit.mock.whole.WholeAnswers`'); the first two are fitted
    when the request's task is made, not for a request taken at once."""

    _idle_since: float | None = None  # loop time of the last answer, with no byte since

    def on_headers_complete(self) -> None:
        # uvicorn's, without OneWriteAnswers' fitting of every new cycle: _task fits it.
        HttpToolsProtocol.on_headers_complete(self)

    def _task(self, cycle: RequestResponseCycle, app: Any) -> None:
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
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
