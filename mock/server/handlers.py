"""The operation's handler: a resolved query in, the aggregator's bytes out.

By the time connexion calls :meth:`UsageEndpoint.get_usage_analytics`, the
security handler has checked the key and resolved the account, and the
parameter validator has turned the request into a :class:`UsageQuery` (it is
in connexion's request context, which connexion passes as the
``usage_query`` argument). The handler adds no semantics: it asks the
:class:`ResponseMemo` for the encoded body; on a miss the reference
aggregator (:class:`usagekit.mock.core.aggregate.Aggregator`) computes it
and :meth:`UsageResult.to_json` encodes it.

The aggregation runs on the event loop: it is CPU-bound numpy work that a
thread would not speed up under the GIL, and every repeat is a memo hit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from usagekit.mock.core.query import UsageQuery
from usagekit.mock.core.response import UsageResult

from .memo import BODY_ENTRY_BYTES, ResponseMemo
from .problems import JSON, method_not_allowed

__all__ = ["HEALTHZ_METHODS", "UsageEndpoint", "healthz"]

_HEALTHY = b'{"status":"ok"}'


class UsageEndpoint:
    """The ``get_usage_analytics`` operation over one aggregator and its memo."""

    def __init__(self, aggregator: Callable[[UsageQuery], UsageResult], memo: ResponseMemo) -> None:
        self.aggregator = aggregator
        self.memo = memo

    def body(self, query: UsageQuery) -> bytes:
        """The encoded answer to ``query``, computed once per distinct query."""
        body = self.memo.get(query)
        if body is None:
            body = self.aggregator(query).to_json()
            self.memo.put(query, body, len(body) + BODY_ENTRY_BYTES)
        return body

    async def get_usage_analytics(self, account_id: str, usage_query: UsageQuery) -> Response:
        # account_id is the path's text (maybe "me"); usage_query holds the real id.
        return Response(self.body(usage_query), media_type=JSON)


#: Every method /healthz is routed for: GET answers, the others are 405 (not 404).
HEALTHZ_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def healthz(request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        problem = method_not_allowed(request.method)
        return Response(
            problem.body(), status_code=405, headers=dict(problem.headers), media_type=JSON
        )
    return Response(_HEALTHY, media_type=JSON)
