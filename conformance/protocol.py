"""The proxy's server side: uvicorn's httptools protocol, each answer's head sent with its body.

uvicorn writes an answer's head as soon as the app starts it and its body
when the app sends it: two system calls, two segments for the client to wake
up to. The proxy sends a judged answer's head and its whole body back to back,
so :class:`~usagekit.mock.wire.OneWrite` holds the head until the first part of the body and lets
both leave in one ``writelines`` (an answer without a body -- HEAD, 204, 304 --
has its head flushed when it completes). For a repeated answer the proxy's own
work is a few look-ups, and that second write was a fifth of its CPU.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from usagekit.mock.wire import OneWriteAnswers

__all__ = ["ProxyProtocol"]


class ProxyProtocol(OneWriteAnswers, HttpToolsProtocol):
    """uvicorn's protocol, with each request's answer written through a :class:`OneWrite`."""
