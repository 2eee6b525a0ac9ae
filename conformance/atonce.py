"""A judged GET forwarded from the proxy's protocol, without a task (:class:`AtOnce`).

uvicorn makes a task per request, and the proxy's app awaits its way through
a coroutine per step; for a repeated answer those were a twelfth of the proxy's
CPU. :class:`.protocol.ProxyProtocol` offers each new request to the app's
``at_once`` first: a GET of the endpoint is sent on a kept-alive upstream
connection there and then, and answered from that connection's callback when
its answer is whole (:meth:`.connection.Connection.then`) -- with the functions
the task uses (``Flight.of``, ``_verdict``, ``_record``), so both ways give the
same bytes, verdicts and HAR entries (``tests/test_proxy_at_once.py``). What the
callback cannot finish goes on by a task (``later``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from usagekit.mock.whole import Later, takes_now, write_now
from usagekit.mock.wire import error_body

from .admin import reply
from .connection import SERVING, WHOLE, Abandoned, Connection
from .flight import Flight
from .forwarding import MAX_JUDGED, has_body
from .upstream import Answer, UpstreamError, UpstreamTimeout, UpstreamUnreadable

__all__ = ["MAX_JUDGED", "AtOnce", "refusal"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
logger = logging.getLogger("usagekit.proxy")


class AtOnce:
    """The :class:`~.proxy.ValidationProxy`'s answers without a task (a mixin of it; ``self``
    is the proxy, whose ``_client``, ``_verdict``, ``_record`` and ``_answer`` it uses)."""

    def at_once(self: Any, cycle: RequestResponseCycle, later: Later) -> bool:
        """Forward ``cycle``'s request from the protocol, before any task is made for it,
        and answer it from the upstream connection's callback when its answer is whole;
        ``False``: start the task as usual. Only a GET of the endpoint without a body, on
        a kept-alive connection to the upstream, to a client whose socket takes writes.
        Whatever else comes -- a connection the upstream had closed, a timeout, an
        answer :func:`write_now` does not take, a socket full by then -- goes on by
        ``later(cycle, app)``, a task running ``app``, with the same functions as
        :meth:`_forward` (for a repeat the task and its coroutines were a twelfth of the
        proxy's CPU)."""
        scope = cycle.scope
        if (
            scope["method"] != "GET"
            or not takes_now(cycle, 200)
            or not self.traffic.covers("GET", scope["path"])
            or has_body(scope["headers"])
        ):
            return False
        connection = self._client.idle()
        if connection is None:
            return False  # the task connects
        try:
            flight = Flight.of(scope, self.upstream, judged=True)
            connection.send(
                self._client.request(b"GET", flight.target, flight.sent, b""), MAX_JUDGED
            )
        except Exception:  # the task tries again: a new connection, or uvicorn's 500
            connection.close()
            return False
        scope[SERVING] = connection  # connection.serving's, whose check a live client skips
        connection.owner = scope
        connection.then(WHOLE, MAX_JUDGED, partial(self._arrived, flight, connection, cycle, later))
        return True

    def _arrived(
        self: Any,
        flight: Flight,
        connection: Connection,
        cycle: RequestResponseCycle,
        later: Later,
    ) -> None:
        if not connection.head_done:  # it failed or closed before the head
            connection.close()
            failure = connection.failure
            if isinstance(failure, Abandoned):
                return  # its client left: nobody to answer
            if isinstance(failure, UpstreamTimeout | UpstreamUnreadable):  # as _forward's
                later(cycle, partial(_replying, *refusal(failure)))
            else:  # as _forward: a kept-alive connection the upstream closed, then a new one
                later(cycle, self)
            return
        answer = Answer(self._client, connection, False)  # no keyword: no dict per call
        if connection.failure is not None:  # as the task's read raises it: a timeout, bad HTTP
            answer.release()
            if isinstance(connection.failure, Abandoned):
                return
            later(cycle, partial(_replying, *refusal(connection.failure)))
            return
        if connection.buffered > MAX_JUDGED or not takes_now(cycle, answer.status):
            later(cycle, partial(_answering, self, flight, answer))
            return
        try:
            raw = answer.read_now(MAX_JUDGED)
            # UpstreamUnreadable: a body that inflates past what is judged (forwarding.decoded)
            status, headers, body = self._verdict(flight, answer, raw)
        except UpstreamError as exc:  # cut short by the connection's end: as the task's read
            answer.release()
            later(cycle, partial(_replying, *refusal(exc)))
            return
        except Exception as exc:  # as uvicorn ends a task that raised
            answer.release()
            later(cycle, partial(_raising, exc))
            return
        try:
            write_now(cycle, status, headers, body)
            if self.recorder is not None:
                self._record(flight, answer, raw)
        except Exception as exc:  # as uvicorn ends a task that raised
            if not cycle.response_started:
                later(cycle, partial(_raising, exc))
            else:
                logger.exception("error after the answer started", exc_info=exc)
                cycle.transport.close()
        finally:
            answer.release()


def refusal(failure: UpstreamError) -> tuple[int, bytes]:
    """The proxy's own answer when the upstream's broke off after its head."""
    if isinstance(failure, UpstreamTimeout):
        return 504, error_body("upstream_timeout", str(failure))
    return 502, error_body("upstream_unreadable", str(failure))


async def _replying(status: int, body: bytes, _scope: Scope, _receive: Receive, send: Send) -> None:
    await reply(send, status, body)


async def _answering(
    proxy: Any, flight: Flight, answer: Answer, _scope: Scope, _r: Receive, send: Send
) -> None:
    await proxy._answer(flight, answer, send, judged=True)


async def _raising(exc: Exception, _scope: Scope, _receive: Receive, _send: Send) -> None:
    raise exc
