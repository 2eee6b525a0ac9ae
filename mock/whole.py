"""A whole answer written at once on uvicorn's httptools protocol: the mock's server and the proxy.

An answer held whole -- the mock's, computed or remembered before it is sent;
the proxy's, read from the upstream to be judged -- may skip ASGI's two
messages: the scope's extension :data:`WHOLE` writes status line, headers and
body at once and completes uvicorn's cycle as its ``send`` would (flow control,
``Connection: close``, the next request on a kept-alive connection). uvicorn's
``send`` checks every header with two regular expressions and builds the head
from a copy of the list; for a repeated answer that was a quarter of the
proxy's CPU. Whatever the hook does not handle the same way -- a started
answer, HEAD, 1xx/204/304, an access log, a header a regular expression
refuses, a ``send`` some middleware wrapped -- it declines, and the caller
sends through ASGI.

Each request meets the server's ``Host`` rule here first (:mod:`.hosts`, against
DNS rebinding): one its rule refuses is answered ``400`` by :func:`.hosts.refused`,
and neither the app nor its ``at_once`` sees it.

Neither server may import the other (ARCHITECTURE.md); this module is theirs
alike, beside :mod:`.wire` (which the standard library alone serves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)

from .hosts import HostRule, refused
from .wire import OneWriteAnswers

__all__ = [
    "AT_ONCE_PER_READ",
    "WHOLE",
    "Later",
    "Whole",
    "WholeAnswers",
    "send_whole",
    "takes_now",
    "takes_whole",
    "write_now",
    "write_whole",
]

#: The scope's extension (ASGI ``scope["extensions"]``) that writes a whole answer.
WHOLE = "usagekit.whole"
#: ``await whole(send, status, headers, body[, checked])``: whether it wrote the answer (else
#: send it by ASGI). It takes the app's ``send`` rather than close over the request's cycle:
#: a scope that held its cycle would be a reference cycle per request, left to the garbage
#: collector, and cost more than the hook saves. (``checked``: see :func:`write_whole`.)
Whole = Callable[..., Awaitable[bool]]


#: Requests an app may take at once (``at_once``) in one read's callback: a client sends
#: one request a read, and the rest of a pipelined burst takes its turns with the other
#: connections' requests, by tasks, instead of holding the worker for all of them.
AT_ONCE_PER_READ = 1
#: ``app.at_once(cycle, later)``: whether the app took ``cycle``'s request before any task
#: is made for it -- answered it, or will, from a callback -- else the task is made as
#: usual. ``later(cycle, app)`` makes the request's task, running ``app``, for what the
#: taker cannot finish by itself after all.
Later = Callable[[RequestResponseCycle, Any], None]


class WholeAnswers(OneWriteAnswers):
    """A mixin for uvicorn's httptools protocol (list it before the protocol class): each
    request's answer is written through a :class:`~.wire.OneWrite`, a whole answer can be
    written at once through the scope's :data:`WHOLE` extension, and an app with an
    ``at_once`` is offered each new request before its task is made (at most
    :data:`AT_ONCE_PER_READ` a read) -- unless its ``Host`` is one :attr:`hosts` refuses
    (DNS rebinding, :mod:`.hosts`): then :func:`~.hosts.refused` answers it, on every
    path, before the app or its ``at_once`` sees it."""

    _at_once = AT_ONCE_PER_READ
    #: The names the server answers for; ``None``: any (set by the protocol).
    hosts: HostRule | None = None
    #: What a refused ``Host``'s answer carries besides (the CORS of the other refusals).
    host_refusal_headers: tuple[tuple[bytes, bytes], ...] = ()

    def data_received(self, data: bytes) -> None:
        self._at_once = AT_ONCE_PER_READ
        super().data_received(data)  # type: ignore[misc]

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # uvicorn's one place that makes a request's task: an app that takes the request
        # at once (the mock's front door, the proxy's forwarding) saves the task, the
        # coroutines of its layers and the ASGI messages a repeat costs.
        hosts = self.hosts
        if hosts is not None:
            # Here, not in a mixin's frame of its own (2% of a repeat's instructions). The
            # first Host only: the one a browser sends (a page cannot add another), and the
            # one starlette reads; clients send it first, so the loop is short.
            for name, value in cycle.scope["headers"]:
                if name == b"host":
                    if value not in hosts.kept and not hosts.allows(value):
                        app = refused(value, self.host_refusal_headers)
                    break
        at_once = getattr(app, "at_once", None)
        if at_once is not None and self._at_once and at_once(cycle, self._task):
            self._at_once -= 1
            return
        self._task(cycle, app)

    def _task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """uvicorn's making of the request's task (the ``later`` of a taker)."""
        super()._start_asgi_task(cycle, app)  # type: ignore[misc]

    def answering(self, cycle: RequestResponseCycle) -> None:
        super().answering(cycle)
        cycle.scope.setdefault("extensions", {})[WHOLE] = write_whole


async def send_whole(
    scope: MutableMapping[str, Any],
    send: Callable[[dict[str, Any]], Awaitable[None]],
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    checked: bool = False,
) -> None:
    """Answer with ``status``, ``headers`` and ``body``: at once through the scope's
    :data:`WHOLE` hook where the protocol offers it and it takes the answer, else by
    ASGI's start and body messages. ``headers`` and ``checked`` as :func:`write_whole`
    reads them."""
    whole = scope.get("extensions", {}).get(WHOLE)
    if whole is None or not await whole(send, status, headers, body, checked):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def write_whole(
    send: object,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    checked: bool = False,
) -> bool:
    """RequestResponseCycle.send of a start and a last body message, as one write.
    ``headers``' names are lower-case, with ``content-length`` (``len(body)``) and no
    hop-by-hop header (``forwarding.kept``): what uvicorn's send reads of them.
    ``checked``: the caller knows that no header is one uvicorn's send refuses -- the
    proxy's come from llhttp, which refuses each of them itself
    (``tests/test_proxy_protocol.py``) -- and the check is not made again: over an
    upstream's headers it was a fortieth of the proxy's CPU per repeat."""
    cycle = getattr(send, "__self__", None)  # a middleware's own send: declined
    if not isinstance(cycle, RequestResponseCycle) or not takes_whole(cycle, status):
        return False
    if not checked:
        every = cycle.default_headers + headers
        if HEADER_RE.search(b"".join([k for k, _ in every])) or HEADER_VALUE_RE.search(
            b"".join([v for _, v in every])
        ):
            return False  # uvicorn's send refuses it, as it should
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    write_now(cycle, status, headers, body)
    return True


def takes_whole(cycle: RequestResponseCycle, status: int) -> bool:
    """Whether :func:`write_now` may write an answer of ``cycle`` with ``status`` as
    uvicorn's send would: a final status with a body, not started, and no access log
    line to write. (Headers that uvicorn's send would refuse are the caller's to
    decline: :func:`write_whole` checks what it is given.)"""
    return not (
        cycle.response_started
        or cycle.access_log
        or cycle.scope["method"] == "HEAD"
        or status < 200
        or status in (204, 304)
    )


def takes_now(cycle: RequestResponseCycle, status: int) -> bool:
    """Whether :func:`write_now` may write an answer of ``cycle`` with ``status`` now, with
    nothing to await: :func:`takes_whole`, on a socket whose writes are not paused."""
    return not cycle.flow.write_paused and takes_whole(cycle, status)


def write_now(
    cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Write an answer :func:`takes_whole` took, and complete ``cycle`` as uvicorn's
    send would; the transport buffers what the socket does not take at once."""
    if cycle.disconnected:
        return  # as send: nobody to answer
    if cycle.default_headers:
        headers = cycle.default_headers + headers
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    head = [STATUS_LINE[status]]
    for name, value in headers:  # one join of the parts: a %-format per header took longer
        head += (name, b": ", value, b"\r\n")
    if not cycle.keep_alive:
        head.append(b"connection: close\r\n")
    head.append(b"\r\n")
    cycle.transport.writelines((b"".join(head), body))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
