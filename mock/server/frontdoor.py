"""The front door: a valid request answered in one step, with every layer's effect.

A valid request of the operation -- a front-cache hit, or one never seen that the
direct resolver answers (:mod:`.fastpath`) -- meets a dozen layers on its way in
(CORS, the Guard, the request caps, the workbench's dispatch, the journal and the
coverage ledger, runtime scenarios, ``Prefer`` and chaos, rate limiting), and for
the usual request each of them only passes it on and watches the answer go by: a
coroutine and a wrapped ``send`` per layer, most of the CPU time a repeat costs and
a sixth of a new answer's. :class:`FrontDoor` sits outside them all and answers
such a request itself when it can tell, asking each layer's own rule, that every one
of them would pass it on:

* a GET with a key, without ``Origin`` (CORS would answer for
  a browser) and without ``Prefer`` (:mod:`.scenarios` would apply it);
* a contract app with no ``--latency``, ``--error-rate`` or ``--rate-limit``
  (:attr:`Door.hits` is ``None`` otherwise);
* a free ``--max-requests`` slot, a request line within the caps
  (:func:`.limits.refusal`), a path the workbench does not route itself and no
  runtime scenario in force (:attr:`Door.passes`);
* the path names the operation, and the front cache answers it 200 itself
  (:meth:`.FastPathMiddleware.served`): a repeat from the memo, or a new valid
  request resolved by the core; what connexion is to answer (an error) goes on.

It then does what those layers would have done: the answer's head with ``Vary:
Origin`` (CORS), the in-flight slot held while it is sent, the journal's entry and
the ledger's count (:mod:`.recording`'s order: the journal even when sending fails,
the ledger only after a whole answer), and the Guard's handling of an exception
once the answer started; one before it (computing a new answer) sends the request
on, for the chain to meet it again and answer it the Guard's way. Anything else
takes the whole chain, unchanged; ``tests/test_server_frontdoor.py`` holds both
ways to the same answers and records.

Where nothing is to be awaited, the protocol asks :meth:`FrontDoor.at_once` before
it makes the request's task, and the door's answer leaves from there
(``tests/test_server_at_once.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from usagekit.mock.whole import Later, takes_now, write_now

from .cors import NO_ORIGIN
from .fastpath import FastPathMiddleware
from .limits import ConcurrencyLimitMiddleware, refusal
from .problems import json_head, send_bytes
from .recording import RecordingMiddleware
from .routes import api_key, keep_escaped

#: The Guard's handling of an exception (``GuardMiddleware.failed``).
Failed = Callable[..., Awaitable[None]]

__all__ = ["Door", "FrontDoor"]

logger = logging.getLogger("usagekit.mock.server")


def _always(_scope: Scope) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Door:
    """What the front door asks of the layers between the edges and the front cache."""

    #: The serving contract app's front cache, or ``None`` when a layer of that app
    #: acts on requests without ``Prefer`` (chaos, a rate limit).
    hits: Callable[[], FastPathMiddleware | None]
    #: Whether the layers outside the contract app (the workbench's) pass ``scope`` on.
    passes: Callable[[Scope], bool] = _always
    #: The journal and the ledger, when the app keeps them (the workbench).
    recording: RecordingMiddleware | None = None


class FrontDoor:
    """ASGI middleware outside the edges; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        door: Door,
        failed: Failed,
        limit: ConcurrencyLimitMiddleware,
    ) -> None:
        self.app = app
        self.door = door
        self.failed = failed
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()  # the journal's time includes computing a new answer
        body = None
        if scope["type"] == "http":
            if len(scope["path"]) != len(scope.get("raw_path", b"")):
                keep_escaped(scope)  # first: every layer below routes the path it leaves
            if scope["method"] == "GET":
                body = self._hit(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        limit = self.limit
        limit.in_flight += 1
        try:
            try:
                await send_bytes(send, 200, body, NO_ORIGIN, scope)
            finally:
                self._journal(scope, started)
            self._ledger(scope)
        except Exception as exc:
            # Whatever fails here fails once the answer has started, as behind the Guard.
            await self.failed(scope, send, exc, started=True)
        finally:
            limit.in_flight -= 1

    def at_once(self, cycle: RequestResponseCycle, _later: Later) -> bool:
        """Answer ``cycle``'s request as :meth:`__call__` would, from the protocol, before
        any task is made for it (:class:`~usagekit.mock.whole.WholeAnswers`); ``False``:
        start the task as usual. Only where nothing is to be awaited: an answer the
        protocol writes at once (no access log, a socket that takes writes), a valid GET
        the front cache answers itself -- so a task is never wanted later. The slot of
        ``--max-requests`` is held for no time."""
        scope = cycle.scope
        # uvicorn decodes an ASCII raw_path into path: shorter only if an escape was decoded
        # (two len() calls: a search of the bytes was 1-2% of a repeat's CPU).
        if len(scope["path"]) != len(scope["raw_path"]):
            keep_escaped(scope)  # as __call__ does; again there, to the same path
        if scope["method"] != "GET" or not takes_now(cycle, 200):
            return False
        started = perf_counter()
        body = self._hit(scope)
        if body is None:
            return False
        try:
            try:
                write_now(cycle, 200, json_head(body, NO_ORIGIN), body)
            finally:
                self._journal(scope, started)
            self._ledger(scope)
        except Exception as exc:  # after the answer started: as the Guard does, logged
            logger.debug("error after the answer started: %s", type(exc).__name__)
            if not cycle.response_complete:  # as uvicorn ends a task's answer cut short
                cycle.transport.close()
        return True

    def _journal(self, scope: Scope, started: float) -> None:
        """Journal a 200 the door answered (also one whose writing failed)."""
        recording = self.door.recording
        if recording is not None:
            recording.journal.record_request(scope, 200, perf_counter() - started)

    def _ledger(self, scope: Scope) -> None:
        """Count a 200 the door answered in the coverage ledger, once it is written."""
        recording = self.door.recording
        if recording is not None:
            recording.coverage.record_answer(scope, 200, b"")

    def _hit(self, scope: Scope) -> bytes | None:
        for name, _ in scope["headers"]:
            if name == b"origin" or name == b"prefer":
                return None
        key = api_key(scope)
        fast = self.door.hits()
        if (
            not key
            or fast is None
            or self.limit.in_flight >= self.limit.max_requests
            or refusal(scope) is not None
            or not self.door.passes(scope)
        ):
            return None
        # Last, as it leaves what it found in the scope.
        try:
            return fast.served(scope, key)
        except Exception:  # the chain meets it again and answers it the Guard's way
            return None
