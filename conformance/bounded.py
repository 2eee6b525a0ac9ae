"""Schemathesis' generated requests, held to the kit's bounds as the kit's own are.

schemathesis sends its cases with ``requests``, which reads an answer whole, its
``request-timeout`` bounding each read: a body that never ends took the kit's
memory, one that drips a byte at a time its time. For the length of a run, a
``before_call`` hook gives each case's request a ``response`` hook (requests'
own, called once the head is read, with the body not yet read) that reads the
body itself: at most :data:`~usagekit.conformance.client.MAX_ANSWER` bytes,
inflated (urllib3 inflates at most what is asked), and no longer than what is
left of ``--timeout`` after the head. Past the size it raises
:class:`AnswerTooLarge`; past the time, requests' ``ReadTimeout`` -- each a
finding of :mod:`~usagekit.conformance.recording` with its curl.

A 429 is waited out here too, as the kit's client does (its ``Retry-After``, at
most :data:`~usagekit.conformance.client.MAX_WAIT`, at most ``--retries``
times): schemathesis' own ``rate-limit: auto`` waits up to 60 s three times
per case, its fixed limits, so that a server answering every request with
``429 Retry-After: 3600`` stretched a run to hours.

Not bounded here: the head (requests reads it with each read within
``--timeout``), and schemathesis' probes of the server's root before the cases,
which send no case and take no hook.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import requests
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, hook
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from .client import MAX_ANSWER, retry_after
from .config import KitConfig

__all__ = ["AnswerTooLarge", "bounded"]

_CHUNK = 64 << 10


class AnswerTooLarge(requests.RequestException):
    """An answer went on past :data:`MAX_ANSWER`: the kit read no more of it."""


@contextlib.contextmanager
def bounded(kit: KitConfig) -> Iterator[None]:
    """Schemathesis' cases read within the bounds while the block runs (over the network:
    an in-process app's transport is the app's own)."""
    if kit.app is not None:
        yield
        return
    read = _resending(kit.retries, _reader(kit.timeout))

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        kwargs["hooks"] = {"response": [read]}

    hook("before_call")(before_call)
    try:
        yield
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)


def _reader(timeout: float) -> Callable[..., requests.Response]:
    def read(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        deadline = time.monotonic() + timeout - response.elapsed.total_seconds()
        try:
            content = _body(response, deadline, timeout)
        except BaseException:
            response.close()  # the rest is never read: its connection goes
            raise
        # What requests' own read leaves (schemathesis reads response.content next).
        response._content = content
        response._content_consumed = True
        return response

    return read


def _resending(
    retries: int, read: Callable[..., requests.Response]
) -> Callable[..., requests.Response]:
    """``read``, and a 429 sent again after its ``Retry-After`` (capped), ``retries`` times."""

    def resend(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        for _ in range(retries):
            read(response, *args, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(retry_after(response.headers.get("retry-after")))
            started = time.perf_counter()
            # The session's adapter, with the session's settings: no response hook of its own.
            response = response.connection.send(response.request, **kwargs)
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return read(response, *args, **kwargs)

    return resend


def _body(response: requests.Response, deadline: float, timeout: float) -> bytes:
    """The body, inflated, read a socket read at a time until its end, the cap or the deadline;
    urllib3's errors as requests raises them."""
    request = response.request
    chunks, size = [], 0
    try:
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > MAX_ANSWER:
                chunks.clear()  # not kept alive by the traceback schemathesis keeps
                message = f"the answer is larger than {MAX_ANSWER >> 20} MiB: the kit read no more"
                raise AnswerTooLarge(message, request=request)
            if time.monotonic() > deadline:  # worded as urllib3 does: schemathesis reads it
                chunks.clear()
                late = ReadTimeoutError(
                    None, request.url, f"Read timed out. (read timeout={timeout:g})"
                )
                raise requests.ReadTimeout(late, request=request)
            chunks.append(chunk)
    except (ReadTimeoutError, ProtocolError, DecodeError) as exc:
        chunks.clear()
        raise _as_requests_raises(exc, request) from exc
    return b"".join(chunks)


def _as_requests_raises(exc: Exception, request: Any) -> requests.RequestException:
    if isinstance(exc, ReadTimeoutError):
        return requests.ReadTimeout(exc, request=request)
    if isinstance(exc, DecodeError):
        return requests.exceptions.ContentDecodingError(exc, request=request)
    return requests.exceptions.ChunkedEncodingError(exc, request=request)
