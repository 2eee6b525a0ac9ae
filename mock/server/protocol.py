"""uvicorn's HTTP protocol with bounded reads and the contract's answers below the app.

uvicorn answers what never reaches the app in plain text (``400 Invalid HTTP
request received.``), reads a request head without a size cap, and gives a
connection that has not finished its request all the time it wants (its only
timer is the keep-alive one, armed after an answer). :class:`ContractProtocol`
is its httptools protocol with:

* a **request deadline**: a connection must send a whole request (head and any
  body) within ``request_timeout`` seconds of its first byte -- or of opening,
  for the first request -- else it is closed; half-sent requests cannot pile up;
* a **stall deadline** (:class:`~usagekit.mock.bounds.StallDeadline`, the proxy's too):
  a client that stops reading its answer, once the buffers are full, gets
  ``request_timeout`` seconds to take more, then the connection is dropped (the
  answer's task ends, its in-flight slot frees);
* a **head cap**: a request line plus headers over :data:`MAX_HEAD_BYTES` is
  answered ``400 bad_request`` and closed, before more of it is kept -- also one
  header that never ends, which httptools holds without a callback until it does
  (a read that ends inside a head counts whole, so at most one read more is kept);
* a **connection cap**: past ``max_connections`` open connections (per worker),
  a new one is answered ``503 service_unavailable`` with ``Retry-After`` and
  closed;
* with ``--workers N``, a new connection that finds this worker busier than a
  sibling goes to the sibling before a byte is read (:mod:`.balance`);
* malformed HTTP answered ``400 bad_request`` in the contract's shape, and a method
  the parser does not know as the contract answers any other (:mod:`.methods`);
* a ``Host`` its rule refuses (a page's name rebound to loopback) answered ``400
  bad_request`` in the contract's shape, on every path, before the app or its front
  door sees the request (:class:`~usagekit.mock.whole.WholeAnswers`, the proxy's too);
* an ``Upgrade:`` the server does not speak (websockets are off) is ignored, as
  RFC 9110 allows: the request is answered as plain HTTP, quietly;
* an answer's head leaves with its body in one write, and the front door's
  answers skip ASGI's two messages (:mod:`usagekit.mock.whole`, the proxy's too);
* an app that can answer a request at once (the front door's ``at_once``) is asked
  before the request's task is made, and a request it answers gets none -- one a
  read: the rest of a pipelined burst takes turns with other connections, by tasks
  (:class:`~usagekit.mock.whole.WholeAnswers`, the proxy's too).

uvicorn builds one protocol per connection from ``config.http``; the knobs come
in through :func:`functools.partial` (which pickles, for ``--workers N``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from usagekit.mock.bounds import (
    MAX_HEAD_BYTES,
    RETRY_AFTER_SECONDS,
    RequestDeadline,
    StallDeadline,
    closing_answer,
    refuse,
)
from usagekit.mock.hosts import HostRule
from usagekit.mock.whole import WholeAnswers

from .balance import Balance
from .heap import IdleRelease
from .methods import unknown_method
from .problems import Problem, bad_request, service_unavailable

__all__ = ["MAX_HEAD_BYTES", "RETRY_AFTER_SECONDS", "ContractProtocol"]

logger = logging.getLogger("usagekit.mock.server")


class HeadTooLarge(Exception):
    """Raised from a parser callback: the head is past :data:`MAX_HEAD_BYTES`."""


def raw_response(problem: Problem, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """``problem`` as a whole HTTP/1.1 response that closes the connection."""
    return closing_answer(problem.status, problem.body(), (*problem.headers, *headers))


def _too_large() -> Problem:
    return bad_request(
        "The request head is too large.", f"At most {MAX_HEAD_BYTES} bytes are read."
    )


def _malformed() -> Problem:
    return bad_request("The request could not be read.", "Malformed HTTP/1.1.")


class ContractProtocol(RequestDeadline, StallDeadline, WholeAnswers, HttpToolsProtocol):
    """See the module docstring."""

    def __init__(
        self,
        *args: Any,
        request_timeout: float = 5.0,
        max_connections: int = 1000,
        idle: IdleRelease | None = None,
        balance: Balance | None = None,
        refusal_headers: tuple[tuple[str, str], ...] = (),
        hosts: HostRule | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        #: Added to every answer written here, below the app (the CORS layer's ``*``).
        self.refusal_headers = refusal_headers
        self.hosts = hosts
        self.host_refusal_headers = tuple((k.encode(), v.encode()) for k, v in refusal_headers)
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.idle = idle
        self.balance = balance
        self.taken_from: int | None = None  # the sibling that passed it here: kept here
        self.passed_on = False
        self._in_head = True
        self._head_bytes = 0
        self._unknown_method = False  # the parser refused the method: answered once it returns
        # Bytes of the reads since the last head ended, each of which ended inside a head
        # (-1: a head ended in this read; its tail is not counted, so never over-counted).
        self._unended = 0

    # -- connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        balance = self.balance
        if balance is not None and self.taken_from is None and balance.pass_on(transport):
            self.passed_on = True  # uvicorn never knew it
            return
        super().connection_made(transport)
        if balance is not None:
            balance.opened(len(self.connections), self.taken_from)
        if len(self.connections) > self.max_connections:
            self._refuse(
                service_unavailable(
                    f"Too many connections; retry after {RETRY_AFTER_SECONDS} second.",
                    RETRY_AFTER_SECONDS,
                ),
                linger=False,  # past the cap a socket is let go at once, so few are held
            )
            return
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.passed_on:
            return
        self._cancel_deadline()
        self._cancel_stall()
        super().connection_lost(exc)
        if self.balance is not None:
            self.balance.opened(len(self.connections))
        if self.idle is not None:
            self.idle.closed(self.loop, self.connections)

    def _stalled(self) -> None:
        # StallDeadline's: a client that stops reading would hold its answer -- and a
        # --max-requests slot -- for ever; one that takes nothing for request_timeout goes.
        logger.debug("closed a connection that took no answer in time")
        super()._stalled()

    def data_received(self, data: bytes) -> None:
        if self._in_head and self._due is None:
            self._arm_deadline()
        super().data_received(data)
        if self._in_head:
            if self._unknown_method:
                self._refuse(unknown_method(data) or _malformed())
                return
            # httptools gives a header to on_header only when it ends, and holds its name
            # and value till then; a read that ends inside a head is counted here instead.
            unended = self._unended
            self._unended = unended = 0 if unended < 0 else unended + len(data)
            if unended > MAX_HEAD_BYTES:
                self._refuse(_too_large())

    # -- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._unended = -1
        super().on_headers_complete()  # WholeAnswers wraps the new answer's writes

    def on_message_complete(self) -> None:
        self._due = None
        self._in_head = True
        super().on_message_complete()

    # -- answers below the app -----------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this for any parser error; a callback's own error says more.
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(_too_large())
        elif isinstance(sys.exc_info()[1], httptools.HttpParserInvalidMethodError):
            self._unknown_method = True  # data_received, which holds the bytes, answers it
        else:
            self._refuse(_malformed())

    def _unsupported_upgrade_warning(self) -> None:
        # Anyone can send Upgrade; the request is answered as plain HTTP, without a log line.
        logger.debug("ignored an Upgrade header")

    # -- helpers -------------------------------------------------------------------------

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge

    def _refuse(self, problem: Problem, *, linger: bool = True) -> None:
        # Lingers, as wire.refuse says why: a connection still counted against
        # max_connections meanwhile.
        self._cancel_deadline()
        if self.cycle is not None:
            self.cycle.disconnected = True  # an answer under way writes nothing more
        refuse(
            self,
            self.transport,
            raw_response(problem, self.refusal_headers),
            linger=self.request_timeout if linger else None,
        )

    def _lapsed(self) -> None:
        logger.debug("closed a connection that sent no whole request in time")
        super()._lapsed()
