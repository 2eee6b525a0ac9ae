"""The front cache: a repeated request skips connexion's parsing and validation.

Most of a request's time in connexion goes to routing, security, parameter
parsing and validation, all of which give the same result for the same
request line and key. :class:`FastPathMiddleware` remembers, for each
request answered 200 (key digest, path, and the parameters the contract names:
see :func:`request_key`; and the query string as written, so that a repeat is
not parsed again), the :class:`UsageQuery` it resolved to, and answers a
repeat straight from the :class:`ResponseMemo`, in whose byte budget all live.

What it keeps of every behaviour:

* auth: only 200s are remembered, under the digest of the key that earned
  them, so a hit needs that same key (the dataset, and so every grant, never
  changes while the server runs); anything else goes through connexion;
* rate limiting, ``Prefer`` scenarios, chaos and CORS live in middlewares
  *outside* this one, so they see hits and misses alike;
* time: an answer whose ``end`` defaulted to the wall clock is remembered for
  that second only (see :class:`Resolved`);
* a request not seen before but valid and authorised is resolved by
  :class:`DirectResolver` (one validation pass, by the core) and answered here;
  every other goes through connexion, which names its errors;
* HEAD on the operation's path is 405 like every method but GET (starlette
  would otherwise serve it as a GET).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from usagekit.mock.core.query import UsageQuery

from .access import digest
from .config import Clock
from .direct import DirectResolver
from .memo import FrontCache, FrontEntry, ResponseMemo, request_of, sent_parameters
from .problems import method_not_allowed, send_bytes, send_problem
from .routes import KEY_DIGEST, SENT, api_key, is_operation, query_lists
from .validation import RESOLVED, Resolved

__all__ = ["DECLINED", "FastPathMiddleware"]

#: In the scope's extensions: the request connexion is to answer, and its front-cache keys.
DECLINED = "usagekit.declined"


class FastPathMiddleware:
    """ASGI middleware in front of connexion; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        front: FrontCache,
        memo: ResponseMemo,
        clock: Clock,
        direct: DirectResolver | None = None,
        answer: Callable[[UsageQuery], bytes] | None = None,
    ) -> None:
        self.app = app
        self.front = front
        self.memo = memo
        self.clock = clock
        self.direct = direct
        self.answer = answer

    def served(self, scope: Scope, key: bytes) -> bytes | None:
        """The body of the 200 this middleware answers itself to a GET with ``key``, or
        ``None`` when connexion is to answer (or the path is not the operation's).

        A repeat as written costs one lookup; anything else is parsed once, here, and the
        parsed parameters serve the front key and the direct resolver alike. What validation
        would have left for the middlewares outside (the ledger, the journal) is left in the
        scope, and on ``None`` what connexion's 200 is remembered under (:data:`DECLINED`),
        so that the front door (:mod:`.frontdoor`) and :meth:`__call__` share one decision.
        """
        key_digest = digest(key)
        path, query_string = scope["path"], scope["query_string"]
        raw = (key_digest, path, query_string)
        second = self.clock.second()
        entry = self.front.get_raw(raw, second)
        written = request = None
        if entry is None:
            if not is_operation(scope):  # the front door asks of any path
                return None
            written = query_lists(query_string)
            request = request_of(key_digest, path, written)
            entry = self.front.get(request, second, raw)
        if entry is not None:
            body = self.memo.get(entry.query)
            if body is not None:
                _leave(scope, key_digest, entry)
                return body
        extensions = scope.setdefault("extensions", {})
        extensions[KEY_DIGEST] = key_digest
        if written is None or request is None:  # found as written; its body was evicted
            written = query_lists(query_string)
            request = request_of(key_digest, path, written)
        sent = extensions[SENT] = sent_parameters(request)
        # A miss. A valid request is resolved once, by the core, and answered here.
        direct = self.direct
        resolved = None if direct is None else direct.resolve(scope, key, written, key_digest)
        if resolved is None or self.answer is None:
            extensions[DECLINED] = (request, raw)
            return None
        extensions[RESOLVED] = resolved
        body = self.answer(resolved.query)
        self.front.put(request, _entry(resolved, sent), raw)
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_operation(scope):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET":
            if method == "HEAD":
                await send_problem(send, method_not_allowed(method))
            else:
                await self.app(scope, receive, send)
            return
        key = api_key(scope)
        if not key:
            await self.app(scope, receive, send)
            return
        declined = scope.get("extensions", {}).get(DECLINED)  # the front door asked already
        if declined is None:
            body = self.served(scope, key)
            if body is not None:
                await send_bytes(send, 200, body)
                return
            declined = scope["extensions"][DECLINED]

        # Connexion answers, and validation leaves what it resolved in the scope.
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        resolved = scope["extensions"].get(RESOLVED)
        if status == 200 and isinstance(resolved, Resolved):
            request, raw = declined
            self.front.put(request, _entry(resolved, scope["extensions"][SENT]), raw)


def _leave(scope: Scope, key_digest: bytes, entry: FrontEntry) -> None:
    """What validation would have left for the middlewares outside, on a hit."""
    extensions = scope.setdefault("extensions", {})
    extensions[KEY_DIGEST] = key_digest
    extensions[SENT] = entry.sent
    extensions[RESOLVED] = entry.resolved


def _entry(resolved: Resolved, sent: frozenset[str]) -> FrontEntry:
    return FrontEntry(resolved.query, resolved.second, sent, resolved)
