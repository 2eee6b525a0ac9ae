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
tally) and ``GET /_usagekit/coverage`` (the coverage ledger).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .har import HarWriter, Recorded
from .traffic import Traffic, Violation
from .upstream import Answer, Headers, Upstream, UpstreamError, UpstreamTimeout

__all__ = ["ValidationProxy"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: Codings the judge reads a compressed answer through (httpx's decoders).
DECODABLE = frozenset({b"gzip", b"deflate", b"identity"})
VIOLATIONS_PATH = "/_usagekit/violations"
COVERAGE_PATH = "/_usagekit/coverage"
OWN_PATHS = frozenset({VIOLATIONS_PATH, COVERAGE_PATH})
VIOLATIONS = b"x-usagekit-violations"
RULES = b"x-usagekit-rules"
JSON = b"application/json"
#: A streamed answer is recorded up to this many bytes.
MAX_RECORDED = 1 << 20
#: An answer of the endpoint is read whole to be judged, up to this size (the largest
#: the contract allows is 500 buckets of every group: well under it).
MAX_JUDGED = 32 << 20
#: A request body beyond this is refused with a 413 (the contract's operation has none).
MAX_BODY = 1 << 20


class ValidationProxy:
    """Forwards to ``upstream`` and judges the endpoint's answers with ``traffic``."""

    def __init__(
        self,
        upstream: str,
        traffic: Traffic,
        *,
        strict: bool = False,
        recorder: HarWriter | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.traffic = traffic
        self.strict = strict
        self.recorder = recorder
        self._client = Upstream(self.upstream, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] in OWN_PATHS:
            body = json.dumps(self._own(scope["path"]), indent=2).encode()
            await _reply(send, 200, body)
            return
        await self._forward(scope, receive, send)

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
        flight = _Flight(scope=scope, started=time.time(), clock=time.perf_counter())
        judged = self.traffic.covers(scope["method"], scope["path"])
        headers = _forwarded(scope["headers"], decodable=judged)
        body = await _body(receive)
        if body is None:
            await _reply(send, 413, _error("payload_too_large", "The request body is too large"))
            return
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        flight.url = self.upstream + target.decode("latin-1")
        flight.sent = headers
        try:
            answer = await self._client.send(scope["method"], target, headers, body)
        except UpstreamTimeout as exc:
            await _reply(send, 504, _error("upstream_timeout", str(exc)))
            return
        except UpstreamError as exc:
            await _reply(send, 502, _error("upstream_unreachable", str(exc)))
            return
        try:
            if judged:
                await self._judged(flight, answer, send)
            else:
                await self._streamed(flight, answer, send)
        finally:
            answer.release()

    async def _judged(self, flight: _Flight, answer: Answer, send: Send) -> None:
        try:
            raw = await answer.read(MAX_JUDGED)
        except UpstreamError as exc:
            await _reply(send, 502, _error("upstream_unreadable", str(exc)))
            return
        recorded = flight.recorded(answer, raw)
        violations = self.traffic.judge(recorded, base_url=self.upstream)
        status, headers, body = answer.status, _kept(answer.headers), raw
        if violations and self.strict:
            status, headers, body = 502, [(b"content-type", JSON)], _strict_body(violations)
        marks = [(VIOLATIONS, str(len(violations)).encode())]
        if violations:
            marks.append((RULES, ", ".join(dict.fromkeys(v.rule for v in violations)).encode()))
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        headers += [(b"content-length", str(len(body)).encode()), *marks]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.recorder is not None:
            self.recorder.add(recorded)

    async def _streamed(self, flight: _Flight, answer: Answer, send: Send) -> None:
        headers = _kept(answer.headers)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        kept: list[bytes] = []
        size = 0
        async for chunk in answer.chunks():
            if self.recorder is not None and size < MAX_RECORDED:
                kept.append(chunk)
                size += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        if self.recorder is not None:
            self.recorder.add(flight.recorded(answer, b"".join(kept)[:MAX_RECORDED]))


@dataclass(slots=True, kw_only=True)
class _Flight:
    """One request on its way: what the HAR entry and the judge need of it."""

    scope: Scope
    started: float  # wall clock, for the HAR
    clock: float  # perf_counter, for the elapsed time
    url: str = ""
    sent: Headers = field(default_factory=list)

    def recorded(self, answer: Answer, raw: bytes) -> Recorded:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers]
        encoding = answer.header(b"content-encoding")
        return Recorded(
            started=self.started,
            method=self.scope["method"],
            url=self.url,
            request_headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.sent),
            status=answer.status,
            reason=answer.reason,
            response_headers=tuple(headers),
            content=_decoded(raw, encoding.decode("latin-1")) if encoding and raw else raw,
            elapsed=time.perf_counter() - self.clock,
            http_version=f"HTTP/{self.scope.get('http_version', '1.1')}",
        )


def _forwarded(raw: Headers, *, decodable: bool) -> Headers:
    """The client's headers minus hop-by-hop ones (and those ``Connection`` names) and Host.

    For the endpoint, ``Accept-Encoding`` keeps only the codings the judge can
    read, so that a compressed answer is judged and never misread.
    """
    named = {
        token.strip().lower()
        for k, v in raw
        if k.lower() == b"connection"
        for token in v.split(b",")
    }
    drop = HOP_BY_HOP | named | {b"host", b"content-length"}
    kept = [(k, v) for k, v in raw if k.lower() not in drop]
    if decodable:
        kept = [(k, _decodable(v)) if k.lower() == b"accept-encoding" else (k, v) for k, v in kept]
    return kept


def _decodable(accepted: bytes) -> bytes:
    codings = [c for c in accepted.split(b",") if c.split(b";")[0].strip().lower() in DECODABLE]
    return b",".join(codings).strip() or b"identity"


def _kept(headers: Headers) -> Headers:
    named = {
        token.strip().lower()
        for k, v in headers
        if k.lower() == b"connection"
        for token in v.split(b",")
    }
    drop = HOP_BY_HOP | named
    return [(k.lower(), v) for k, v in headers if k.lower() not in drop]


async def _body(receive: Receive) -> bytes | None:
    """The request's body, whole; ``None`` past :data:`MAX_BODY`."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _decoded(raw: bytes, encoding: str) -> bytes:
    try:
        return httpx.Response(200, headers={"content-encoding": encoding}, content=raw).content
    except httpx.DecodingError:
        return raw


def _error(code: str, message: str, errors: list[dict[str, str]] | None = None) -> bytes:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json.dumps(body).encode()


def _strict_body(violations: list[Violation]) -> bytes:
    rules = list(dict.fromkeys(v.rule for v in violations))
    return _error(
        "upstream_violation",
        f"The upstream's answer breaks {len(rules)} rule(s) of the contract: {', '.join(rules)}",
        [{"field": v.rule, "message": v.reason} for v in violations],
    )


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
