"""One request on its way through the proxy: what its HAR entry and its judge need of it.

Both ways the proxy serves a request build one -- the ASGI app's task
(:meth:`.proxy.ValidationProxy._forward`) and the protocol's answer without a
task (:meth:`.proxy.ValidationProxy.at_once`) -- and read it the same way.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .codings import Undone, sent_accept_encoding
from .exchange import Exchange, KeyRole
from .forwarding import decoded, forwarded
from .har import Recorded
from .observed import exchange_at, key_sent
from .upstream import Answer, Headers

__all__ = ["Flight", "content"]

Scope = MutableMapping[str, Any]


@dataclass(slots=True)
class Flight:
    """One request on its way: what the HAR entry and the judge need of it."""

    scope: Scope
    started: float  # wall clock, for the HAR
    clock: float  # perf_counter, for the elapsed time
    target: bytes  # path and query as the client wrote them
    url: str
    sent: Headers
    #: TRAFFIC: sent an X-API-Key; INVALID: sent one without a value; NONE: sent none.
    key: KeyRole

    @classmethod
    def of(cls, scope: Scope, upstream: str, *, judged: bool) -> Flight:
        """A request as it goes to ``upstream`` (``judged``: one of the endpoint's)."""
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        sent = forwarded(scope["headers"], decodable=judged)
        keys: tuple[bytes, ...] = ()
        for name, value in sent:  # names lower-case; a loop, not a comprehension's frame
            if name == b"x-api-key":
                keys += (value,)
        key = key_sent(*keys)
        # In the fields' order: a class called with keywords gets them as a dict, per request.
        url = upstream + target.decode("latin-1")
        return cls(scope, time.time(), time.perf_counter(), target, url, sent, key)

    def judged_as(self, answer: Answer) -> tuple[object, ...]:
        """What the rules read of the exchange besides the body (see ``Traffic.judge``)."""
        headers, names = answer.headers, answer.names  # Answer.header's, without its frames
        return (
            self.scope["method"],
            self.target,
            self.key,
            answer.status,
            headers[names.index(b"content-type")][1] if b"content-type" in names else None,
            # the body is judged decoded, and its coding against the codings the request took
            (headers[names.index(b"content-encoding")][1], sent_accept_encoding(self.sent))
            if b"content-encoding" in names
            else None,
        )

    def exchange(self, answer: Answer, raw: bytes | bytearray, base_url: str) -> Exchange:
        """The exchange the rules judge: ``exchange_of(self.recorded(...), base_url)``
        without building the HAR entry, which only ``--record`` needs."""
        body = content(answer, raw)
        return exchange_at(
            self.scope["method"],
            self.url,
            key=self.key,
            sent_headers=self.sent,  # filtered only if a finding's curl is printed
            status=answer.status,
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in answer.headers},
            content=body.body,
            elapsed=time.perf_counter() - self.clock,
            base_url=base_url,
            undecoded=body.undecoded,
        )

    def recorded(self, answer: Answer, raw: bytes | bytearray) -> Recorded:
        """The HAR entry's exchange: ``raw`` is the body, or its first bytes when the answer
        was streamed (:attr:`Answer.received` says how many it had)."""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers]
        # Every header the upstream got, its Host too: an entry without any is one whose
        # headers the recorder did not keep (a browser's cache), and is not judged again.
        sent = [("host", urlsplit(self.url).netloc.rpartition("@")[2])]
        sent += [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.sent]
        body = content(answer, raw)
        return Recorded(
            started=self.started,
            method=self.scope["method"],
            url=self.url,
            request_headers=tuple(sent),
            status=answer.status,
            reason=answer.reason,
            response_headers=tuple(headers),
            content=body.body,
            elapsed=time.perf_counter() - self.clock,
            http_version=f"HTTP/{self.scope.get('http_version', '1.1')}",
            cut_from=answer.received if answer.received > len(raw) else None,
            undecoded=body.undecoded,
        )


def content(answer: Answer, raw: bytes | bytearray) -> Undone:
    """The body as the judge and the HAR read it: decoded when the upstream compressed it."""
    encoding = answer.header(b"content-encoding")
    raw = bytes(raw)  # the buffer it was read into, for a new answer only (else itself)
    return decoded(raw, encoding.decode("latin-1")) if encoding and raw else Undone(raw)
