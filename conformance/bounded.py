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

schemathesis' two probes of the server's root before the cases (a NUL in a
header, control characters in the path: what it learns there only shapes its
own generation) send no case and take no hook, and read their answers whole:
an endless body took the kit's memory. Their sessions come from
``schemathesis.engine.context.make_session``, which the block wraps so that
each session it makes carries the same reader as a session hook (a case's own
``response`` hook replaces it, as requests merges hooks). A probe's answer past
the cap or the time is a failed or skipped probe, no finding: schemathesis asks
the root, which the contract does not describe.

The run's :class:`~usagekit.conformance.budget.Budget` bounds it all: no case
starts once it is spent, a read gets at most what is left of it, a 429's wait
ends with it. What it cuts ends schemathesis' run as an interrupt
(:class:`BudgetSpent`), never a finding.

Not bounded by ``--timeout`` here: the head (requests reads it with each read
within ``--timeout``, or what is left of the budget if less). The budget bounds
it all the same: every connection schemathesis' sessions open is kept
(:class:`_Opened`, through urllib3's own per-manager pool classes), and shut
when the budget ends, which ends a read that waits there (a head dripping a byte
at a time held a case, and the run, past the budget).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import requests
from schemathesis.engine import context as engine_context
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, hook
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.poolmanager import pool_classes_by_scheme

from .budget import Budget, OutOfTime
from .client import MAX_ANSWER, retry_after
from .config import KitConfig

__all__ = ["AnswerTooLarge", "BudgetSpent", "bounded"]

_CHUNK = 64 << 10


class AnswerTooLarge(requests.RequestException):
    """An answer went on past :data:`MAX_ANSWER`: the kit read no more of it."""


class BudgetSpent(KeyboardInterrupt):
    """The run's time budget ended a case: schemathesis stops as on an interrupt (its own
    time limit is one too), and records no verdict of the case."""


@contextlib.contextmanager
def bounded(kit: KitConfig, budget: Budget | None = None) -> Iterator[None]:
    """Schemathesis' cases and probes read within the bounds while the block runs (over the
    network: an in-process app's transport is the app's own)."""
    if kit.app is not None:
        yield
        return
    budget = budget or Budget()
    read = _reader(kit.timeout, budget)
    resend = _resending(kit.retries, read, budget)

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        if budget.spent:
            raise BudgetSpent  # no case starts
        kwargs["hooks"] = {"response": [resend]}
        if budget.bounded:
            kwargs["timeout"] = budget.within(kit.timeout)

    def after_network_error(context: Any, case: Any, request: Any) -> None:
        if budget.spent:  # a read the budget cut short: no finding of the server's
            raise BudgetSpent

    hook("before_call")(before_call)
    hook("after_network_error")(after_network_error)
    made = engine_context.make_session
    opened = _Opened()

    def make_session(config: Any, *, operation: Any = None) -> requests.Session:
        session = made(config, operation=operation)
        session.hooks["response"].append(read)  # the probes' only bound
        for adapter in session.adapters.values():
            manager = getattr(adapter, "poolmanager", None)
            if manager is not None:  # urllib3 lets a manager choose its own pool classes
                manager.pool_classes_by_scheme = opened.pools
        return session

    engine_context.make_session = make_session
    try:
        with budget.at_end(opened.shut):
            yield
    finally:
        engine_context.make_session = made
        GLOBAL_HOOK_DISPATCHER.unregister(after_network_error)
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)


class _Opened:
    """The sockets of the connections schemathesis' sessions open, to shut at the budget's end."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.pools = {name: self._keeping(pool) for name, pool in pool_classes_by_scheme.items()}

    def _keeping(self, pool: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
        """``pool``, whose connections hand over their socket as they connect."""
        opened = self

        class Connection(pool.ConnectionCls):  # type: ignore[name-defined,misc]
            def connect(self) -> None:
                super().connect()
                opened.keep(self.sock)

        return type(pool.__name__, (pool,), {"ConnectionCls": Connection})

    def keep(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            if sock is not None:
                self._sockets.append(sock)

    def shut(self) -> None:
        """Every kept socket shut down: a read waiting on one ends at once."""
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _reader(timeout: float, budget: Budget) -> Callable[..., requests.Response]:
    def read(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        left = timeout - response.elapsed.total_seconds()
        cut = budget.left() < left  # the budget, not --timeout, bounds this read
        deadline = time.monotonic() + min(left, budget.left())
        try:
            content = _body(response, deadline, timeout, cut)
        except BaseException:
            response.close()  # the rest is never read: its connection goes
            raise
        # What requests' own read leaves (schemathesis reads response.content next).
        response._content = content
        response._content_consumed = True
        return response

    return read


def _resending(
    retries: int, read: Callable[..., requests.Response], budget: Budget
) -> Callable[..., requests.Response]:
    """``read``, and a 429 sent again after its ``Retry-After`` (capped, and within the
    budget), ``retries`` times."""

    def resend(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        for _ in range(retries):
            read(response, *args, **kwargs)
            if response.status_code != 429:
                return response
            try:
                budget.wait(retry_after(response.headers.get("retry-after")))
            except OutOfTime:
                raise BudgetSpent from None
            started = time.perf_counter()
            # The session's adapter, with the session's settings: no response hook of its own.
            response = response.connection.send(response.request, **kwargs)
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return read(response, *args, **kwargs)

    return resend


def _body(response: requests.Response, deadline: float, timeout: float, cut: bool) -> bytes:
    """The body, inflated, read a socket read at a time until its end, the cap or the deadline
    (the budget's, when ``cut``: :class:`BudgetSpent`); urllib3's errors as requests raises
    them."""
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
                if cut:
                    raise BudgetSpent
                late = ReadTimeoutError(
                    None, request.url, f"Read timed out. (read timeout={timeout:g})"
                )
                raise requests.ReadTimeout(late, request=request)
            chunks.append(chunk)
    except (ReadTimeoutError, ProtocolError, DecodeError) as exc:
        chunks.clear()
        if cut and time.monotonic() > deadline:
            raise BudgetSpent from None
        raise _as_requests_raises(exc, request) from exc
    return b"".join(chunks)


def _as_requests_raises(exc: Exception, request: Any) -> requests.RequestException:
    if isinstance(exc, ReadTimeoutError):
        return requests.ReadTimeout(exc, request=request)
    if isinstance(exc, DecodeError):
        return requests.exceptions.ContentDecodingError(exc, request=request)
    return requests.exceptions.ChunkedEncodingError(exc, request=request)
