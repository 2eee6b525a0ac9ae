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
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx

from .har import HarWriter, Recorded
from .traffic import Traffic, Violation

__all__ = ["ValidationProxy"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
VIOLATIONS_PATH = "/_usagekit/violations"
COVERAGE_PATH = "/_usagekit/coverage"
OWN_PATHS = frozenset({VIOLATIONS_PATH, COVERAGE_PATH})
VIOLATIONS = "x-usagekit-violations"
RULES = "x-usagekit-rules"
#: A streamed answer is recorded up to this many bytes.
MAX_RECORDED = 1 << 20


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]
    body: bytes


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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.traffic = traffic
        self.strict = strict
        self.recorder = recorder
        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            # The proxy passes every header as the client sent it; httpx adds none.
            headers={},
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

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
        started = time.time()
        clock = time.perf_counter()
        headers = _forwarded(scope["headers"])
        query = scope.get("query_string", b"")
        path = scope.get("raw_path") or scope["path"].encode()
        url = self.upstream.copy_with(raw_path=self.upstream.raw_path.rstrip(b"/") + path)
        if query:
            url = url.copy_with(query=query)
        request = self._client.build_request(
            scope["method"], url, headers=headers, content=_body(receive, headers)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            await _reply(send, 504, _error("upstream_timeout", f"{url} did not answer in time"))
            return
        except httpx.HTTPError as exc:
            await _reply(send, 502, _error("upstream_unreachable", f"{url}: {exc}"))
            return
        try:
            if self.traffic.covers(scope["method"], scope["path"]):
                await self._judged(scope, response, headers, started, clock, send)
            else:
                await self._streamed(scope, response, headers, started, clock, send)
        finally:
            await response.aclose()

    async def _judged(
        self,
        scope: Scope,
        response: httpx.Response,
        sent: list[tuple[str, str]],
        started: float,
        clock: float,
        send: Send,
    ) -> None:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        elapsed = time.perf_counter() - clock
        recorded = _recorded(
            scope, str(response.request.url), sent, response, raw, started, elapsed
        )
        violations = self.traffic.judge(recorded, base_url=str(self.upstream))
        answer = _Answer(response.status_code, response.reason_phrase, _kept(response), raw)
        if violations and self.strict:
            answer = _Answer(502, "Bad Gateway", [], _strict_body(violations))
        marks = [(VIOLATIONS.encode(), str(len(violations)).encode())]
        if violations:
            names = ", ".join(dict.fromkeys(v.rule for v in violations))
            marks.append((RULES.encode(), names.encode()))
        length = [(b"content-length", str(len(answer.body)).encode())]
        kept = [(k, v) for k, v in answer.headers if k != b"content-length"]
        if answer.status == 502:
            kept = [(b"content-type", b"application/json")]
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": kept + length + marks,
            }
        )
        await send({"type": "http.response.body", "body": answer.body})
        if self.recorder is not None:
            self.recorder.add(recorded)

    async def _streamed(
        self,
        scope: Scope,
        response: httpx.Response,
        sent: list[tuple[str, str]],
        started: float,
        clock: float,
        send: Send,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": _kept(response),
            }
        )
        kept: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            if self.recorder is not None and size < MAX_RECORDED:
                kept.append(chunk)
                size += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        if self.recorder is not None:
            elapsed = time.perf_counter() - clock
            raw = b"".join(kept)[:MAX_RECORDED]
            url = str(response.request.url)
            self.recorder.add(_recorded(scope, url, sent, response, raw, started, elapsed))


def _forwarded(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones (and those ``Connection`` names) and Host."""
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    named = {
        token.strip().lower() for k, v in headers if k == "connection" for token in v.split(",")
    }
    drop = HOP_BY_HOP | named | {"host"}
    return [(k, v) for k, v in headers if k not in drop]


def _kept(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    named = {
        token.strip().lower().encode()
        for token in response.headers.get_list("connection", split_commas=True)
    }
    drop = {h.encode() for h in HOP_BY_HOP} | named
    return [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in drop]


def _body(receive: Receive, headers: list[tuple[str, str]]) -> AsyncIterator[bytes] | bytes:
    names = {k for k, _ in headers}
    if "content-length" not in names and "transfer-encoding" not in names:
        return b""

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return

    return chunks()


def _recorded(
    scope: Scope,
    url: str,
    sent: list[tuple[str, str]],
    response: httpx.Response,
    raw: bytes,
    started: float,
    elapsed: float,
) -> Recorded:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    encoded = response.headers.get("content-encoding")
    content = raw
    if encoded and raw:
        try:
            content = httpx.Response(
                200, headers={"content-encoding": encoded}, content=raw
            ).content
        except httpx.DecodingError:
            content = raw
    return Recorded(
        started=started,
        method=scope["method"],
        url=url,
        request_headers=tuple(sent),
        status=response.status_code,
        reason=response.reason_phrase,
        response_headers=tuple(headers),
        content=content,
        elapsed=elapsed,
        http_version=f"HTTP/{scope.get('http_version', '1.1')}",
    )


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
