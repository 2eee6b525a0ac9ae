"""``--rate-limit N/s``: a token bucket per API key.

Each known key has a bucket of ``N`` tokens that refills at ``N`` per second;
a request takes one, and a request that finds less than one is answered 429
``rate_limit_exceeded`` with ``Retry-After`` (whole seconds, rounded up) until
a token is back. Only requests of the operation with a *known* key count: a
missing or unknown key still gets its 401, and the table of buckets is bounded
by the dataset's keys.

With ``--workers N`` every worker keeps its own buckets and enforces ``rate /
N`` (the kernel spreads connections over the workers), so the whole server
allows about the configured rate; a single keep-alive connection stays on one
worker and so sees ``rate / N``.

:class:`TokenBucket` is pure (the clock is an argument), so its arithmetic is
tested without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from .access import KeyIndex
from .problems import error_body, send_bytes
from .routes import api_key, is_operation

__all__ = ["RateLimitMiddleware", "RateLimiter", "TokenBucket", "send_too_many"]


@dataclass(slots=True, kw_only=True)
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second, starting full."""

    rate: float
    capacity: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def take(self, now: float) -> float:
        """Take one token at time ``now`` (s): 0 if granted, else the seconds until one is."""
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key digest, all with the same rate and burst."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        # A burst of one second's worth, and at least one request.
        self.capacity = max(1.0, rate)
        self.clock = clock
        self._buckets: dict[bytes, TokenBucket] = {}

    def take(self, key_digest: bytes) -> float:
        """0 when the request may go on, else the seconds to wait."""
        now = self.clock()
        bucket = self._buckets.get(key_digest)
        if bucket is None:
            bucket = TokenBucket(rate=self.rate, capacity=self.capacity, updated=now)
            self._buckets[key_digest] = bucket
        return bucket.take(now)


class RateLimitMiddleware:
    """ASGI middleware: 429 with ``Retry-After`` for a key over its rate."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, keys: KeyIndex, shown_rate: float
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.keys = keys
        self.shown = f"{shown_rate:g}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_operation(scope) and scope["method"] == "GET":
            key = api_key(scope)
            if key:
                grant = self.keys.grant(key)
                wait = self.limiter.take(grant.digest) if grant is not None else 0.0
                if wait > 0:
                    await self._reject(send, wait)
                    return
        await self.app(scope, receive, send)

    async def _reject(self, send: Send, wait: float) -> None:
        await send_too_many(send, self.shown, wait)


async def send_too_many(
    send: Send, shown_rate: str, wait: float, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """The 429 of a key over ``shown_rate`` requests/s, ``Retry-After`` in whole seconds."""
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    body = error_body(
        "rate_limit_exceeded",
        f"Rate limit of {shown_rate} requests per second exceeded.",
        detail=f"Retry after {seconds} {unit}.",
    )
    await send_bytes(send, 429, body, [*extra, (b"retry-after", str(seconds).encode())])
