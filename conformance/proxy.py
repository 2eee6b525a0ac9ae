"""The validation proxy: an ASGI app that forwards every request and judges the endpoint's answers.

Between a real client and a real backend::

    client ─► ValidationProxy ─► upstream
                 │  the endpoint's answers ─► Traffic.judge ─► headers, tally, reports
                 └─ --record ─► HarWriter

Every request goes to the upstream as it came (hop-by-hop headers dropped,
``Host`` the upstream's, keys passed through and never logged); every answer
comes back as the upstream sent it, byte for byte, with two headers added to
the endpoint's answers: ``X-Usagekit-Violations: N`` and, when N > 0,
``X-Usagekit-Rules``. The endpoint's answers are read whole before they are
passed on (the headers depend on the verdict); every other answer streams.
With ``strict`` a violating answer is replaced by a 502 in the contract's error
shape, ``code: upstream_violation``, with one ``errors[]`` item per rule.

The proxy answers two paths itself: ``GET /_usagekit/violations`` (the running
tally) and ``GET /_usagekit/coverage`` (the coverage ledger), to loopback
clients or the holders of ``admin_token`` (:mod:`.admin`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from usagekit.mock.whole import send_whole
from usagekit.mock.wire import error_body

from .admin import OWN_PATHS, VIOLATIONS_PATH, Gate, reply
from .atonce import MAX_JUDGED, AtOnce, refusal
from .flight import Flight
from .forwarding import has_body, kept, request_body
from .har import NOT_MODIFIED, HarWriter, conditional
from .traffic import Traffic, Violation
from .upstream import (
    Abandoned,
    Answer,
    Headers,
    Upstream,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreadable,
)

__all__ = ["ValidationProxy"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

VIOLATIONS = b"x-usagekit-violations"
RULES = b"x-usagekit-rules"
JSON = b"application/json"
#: A streamed answer is recorded up to this many bytes.
MAX_RECORDED = 1 << 20
#: Heads whose headers as passed on are kept (see _verdict).
KEPT_HEADS = 256
#: Answers without content, whose Content-Length the proxy does not pass on: a 204 has
#: none (RFC 9110 8.6), and a 304's is that of the 200 it stands for, which uvicorn's send
#: holds to the empty body it has (RuntimeError "shorter than Content-Length": the answer
#: is never ended and the connection is lost); "0" would say the client's copy is empty.
#: Omitting it is always right.
WITHOUT_LENGTH = frozenset({204, 304})


class ValidationProxy(AtOnce):
    """Forwards to ``upstream`` and judges the endpoint's answers with ``traffic``."""

    def __init__(
        self,
        upstream: str,
        traffic: Traffic,
        *,
        strict: bool = False,
        recorder: HarWriter | None = None,
        timeout: float = 30.0,
        admin_token: str | None = None,
        max_connections: int = 1000,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.traffic = traffic
        self.strict = strict
        self.recorder = recorder
        # As many being opened as clients may be connected: one a client, at most.
        self._client = Upstream(self.upstream, timeout=timeout, max_connecting=max_connections)
        self._gate = Gate(admin_token)
        # By the id of a head's headers read before (one tuple for all its answers,
        # framing.Framing.parse): that tuple, and its headers as passed on.
        self._kept: dict[int, tuple[object, tuple[tuple[bytes, bytes], ...]]] = {}
        self._own_app: Callable[[Scope, Receive, Send], Awaitable[None]] = self._answer_own

    def trust_forwarded(self, trusted_hosts: list[str] | str) -> None:
        """Let the gate read the client as ``X-Forwarded-For`` names it when a trusted host
        sent it (uvicorn's ``proxy_headers``). The proxy's server runs without uvicorn's
        middleware, which cost every forwarded request a few percent of the proxy's CPU
        for a rewrite of the client only the gate reads; its own paths go through it."""
        self._own_app = ProxyHeadersMiddleware(self._answer_own, trusted_hosts=trusted_hosts)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] in OWN_PATHS:
            await self._own_app(scope, receive, send)
            return
        await self._forward(scope, receive, send)

    async def _answer_own(self, scope: Scope, _receive: Receive, send: Send) -> None:
        refusal = self._gate.refusal(scope)
        if refusal is not None:
            await reply(send, *refusal)
            return
        await reply(send, 200, json.dumps(self._own(scope["path"]), indent=2).encode())

    def _own(self, path: str) -> Any:
        if path == VIOLATIONS_PATH:
            return self.traffic.violations()
        return self.traffic.ledger.to_dict()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- forwarding --------------------------------------------------------------------

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        judged = self.traffic.covers(scope["method"], scope["path"])
        flight = Flight.of(scope, self.upstream, judged=judged)
        body = await request_body(receive) if has_body(scope["headers"]) else b""
        if body is None:
            await reply(send, 413, error_body("payload_too_large", "The request body is too large"))
            return
        try:
            answer = await self._client.send(
                scope["method"],
                flight.target,
                flight.sent,
                body,
                whole=MAX_JUDGED if judged else 0,
                owner=scope,
            )
        except UpstreamTimeout as exc:
            await reply(send, 504, error_body("upstream_timeout", str(exc)))
            return
        except UpstreamUnreadable as exc:  # reached: its answer's head is what is broken
            await reply(send, 502, error_body("upstream_unreadable", str(exc)))
            return
        except UpstreamError as exc:
            await reply(send, 502, error_body("upstream_unreachable", str(exc)))
            return
        await self._answer(flight, answer, send, judged=judged)

    async def _answer(
        self,
        flight: Flight,
        answer: Answer,
        send: Send,
        *,
        judged: bool,
    ) -> None:
        try:
            if judged:
                await self._judged(flight, answer, send)
            else:
                await self._streamed(flight, answer, send)
        finally:
            answer.release()

    async def _judged(self, flight: Flight, answer: Answer, send: Send) -> None:
        try:
            raw = await answer.read(MAX_JUDGED)
            # UpstreamUnreadable: a body that inflates past what is judged (forwarding.decoded)
            status, headers, body = self._verdict(flight, answer, raw)
        except UpstreamError as exc:
            await reply(send, *refusal(exc))
            return
        # protocol.ProxyProtocol's; headers llhttp read, or the proxy's own: none that
        # uvicorn's send refuses (mock.whole.write_whole)
        await send_whole(flight.scope, send, status, headers, body, checked=True)
        self._record(flight, answer, raw)

    def _verdict(
        self, flight: Flight, answer: Answer, raw: bytes | bytearray
    ) -> tuple[int, Headers, bytes | bytearray]:
        """The judged answer as the client gets it: status, headers, body."""
        if answer.status == 304 and conditional(k.decode("latin-1") for k, _ in flight.sent):
            curl = flight.exchange(answer, raw, self.upstream).curl()
            self.traffic.not_judged(NOT_MODIFIED, curl)  # the client's copy is the answer
            violations: list[Violation] = []
        else:
            violations = self.traffic.judge_answer(
                flight.judged_as(answer), raw, lambda: flight.exchange(answer, raw, self.upstream)
            )
        status, body = answer.status, raw
        # A repeat's head was read before: its headers as passed on were sifted once (kept()
        # per answer was a twentieth of a repeat's instructions), and are copied here.
        memo = self._kept.get(id(answer.headers))
        if memo is not None and memo[0] is answer.headers:
            headers = list(memo[1])
        else:
            headers = kept(answer.headers, answer.names, without=b"content-length")
            if type(answer.headers) is tuple:  # the memo holds it: its id stays its own
                if len(self._kept) >= KEPT_HEADS:
                    self._kept.clear()
                self._kept[id(answer.headers)] = (answer.headers, tuple(headers))
        if violations and self.strict:
            status, headers, body = 502, [(b"content-type", JSON)], _strict_body(violations)
        if status not in WITHOUT_LENGTH:
            headers.append((b"content-length", b"%d" % len(body)))
        headers.append((VIOLATIONS, b"%d" % len(violations)))
        if violations:
            headers.append((RULES, ", ".join(dict.fromkeys(v.rule for v in violations)).encode()))
        return status, headers, body

    def _record(self, flight: Flight, answer: Answer, raw: bytes | bytearray) -> None:
        if self.recorder is not None:
            self.recorder.add(flight.recorded(answer, raw))

    async def _streamed(self, flight: Flight, answer: Answer, send: Send) -> None:
        without = b"content-length" if answer.status in WITHOUT_LENGTH else b""
        headers = kept(answer.headers, answer.names, without=without)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        parts: list[bytes] = []
        size = 0
        # A client that leaves mid-answer (an event stream's, a download's) ends the upstream
        # connection too (the protocol's connection_lost: connection.client_left), else the
        # proxy reads on for nobody, an endless stream for ever: chunks() raises Abandoned.
        try:
            async for chunk in answer.chunks():
                if self.recorder is not None and size < MAX_RECORDED:
                    parts.append(chunk)
                    size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Abandoned:
            return  # the client left, and the connection with it: nobody to tell
        # UpstreamError, cut short: the client's connection is to end without the body's end
        # (uvicorn closes it), never with a last chunk that would make the answer look whole.
        await send({"type": "http.response.body", "body": b""})
        if self.recorder is not None:
            self.recorder.add(flight.recorded(answer, b"".join(parts)[:MAX_RECORDED]))


def _strict_body(violations: list[Violation]) -> bytes:
    rules = list(dict.fromkeys(v.rule for v in violations))
    return error_body(
        "upstream_violation",
        f"The upstream's answer breaks {len(rules)} rule(s) of the contract: {', '.join(rules)}",
        errors=[(v.rule, v.reason) for v in violations],
    )
