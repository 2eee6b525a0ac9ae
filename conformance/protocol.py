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

    def on_headers_complete(self) -> None:
        # uvicorn's, without OneWriteAnswers' fitting of every new cycle: _task fits it.
        HttpToolsProtocol.on_headers_complete(self)

    def _task(self, cycle: RequestResponseCycle, app: Any) -> None:
        self.answering(cycle)
        super()._task(cycle, app)
