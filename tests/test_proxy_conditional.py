"""A 304 Not Modified through the proxy: the client's cached copy is the answer to a
conditional request, and no rule can judge a body that is not there; a 304 to a request
that did not ask for one is the upstream's fault, and judged as any status is.

A browser revalidates a dashboard's query with ``If-None-Match`` once an upstream sends
an ``ETag``: judging its 304 as "expected 200" would be a false alarm on a correct
upstream, with a curl (which sends no validator) that gets a 200.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from factories import PARENT_KEY
from processes import in_thread
from proxy_support import DATASET, NOW, USAGE, proxy_server, traffic
from servers.minimal import MinimalServer
from servers.running import serving

from usagekit.conformance.har import NOT_MODIFIED
from usagekit.conformance.proxy import ValidationProxy
from usagekit.conformance.traffic import Traffic

ETAG = b'"v1"'
#: A header that makes the upstream below answer 304 whatever the request asked.
ALWAYS_304 = "x-test-always-304"


def _revalidating(app: Any) -> Any:
    """``app`` with an ``ETag`` on every answer, and a 304 to a request whose
    ``If-None-Match`` names it (or that carries ALWAYS_304)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or ())
        if scope["type"] == "http" and (
            headers.get(b"if-none-match") == ETAG or ALWAYS_304.encode() in headers
        ):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", ETAG)]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"etag", ETAG)]}
            await send(message)

        await app(scope, receive, tagged)

    return wrapped


def _ask(judge: Traffic, asked: list[dict[str, str]]) -> list[httpx.Response]:
    """One request per header set in ``asked``, over one kept-alive connection to a served
    proxy (the first by the app's task, the rest at once), for the demo key's dashboard."""
    upstream = _revalidating(MinimalServer(dataset=DATASET, now=NOW).app())
    with serving(upstream) as base:
        server = proxy_server(ValidationProxy(base, judge, timeout=5))

        async def go(port: int) -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                return [
                    await client.get(
                        USAGE.format("me"),
                        params={"granularity": "day", "start": "2024-03-01T00:00:00Z"},
                        headers={"X-API-Key": PARENT_KEY, **headers},
                    )
                    for headers in asked
                ]

        with in_thread(server):
            return asyncio.run(go(server.servers[0].sockets[0].getsockname()[1]))


@pytest.mark.parametrize("first", [True, False], ids=["by-the-task", "at-once"])
def test_a_304_to_a_conditional_request_is_not_judged_and_says_why(first: bool) -> None:
    judge = traffic()
    asked = [{}] * (not first) + [{"If-None-Match": ETAG.decode()}] * 2
    answers = _ask(judge, asked)
    assert [a.status_code for a in answers] == [200] * (not first) + [304, 304]
    for answer in answers:
        assert answer.headers["x-usagekit-violations"] == "0"
        assert answer.headers["etag"] == ETAG.decode()
    tally = judge.violations()
    assert tally["violations"] == []
    ((unjudged),) = tally["not_judged"]
    assert (unjudged["why"], unjudged["count"]) == (NOT_MODIFIED, 2)
    assert unjudged["curl"].startswith("curl ")
    ((why, count, _),) = judge.summary().not_judged
    assert (why, count) == (NOT_MODIFIED, 2)


@pytest.mark.parametrize("first", [True, False], ids=["by-the-task", "at-once"])
def test_a_304_to_a_request_that_asked_for_none_is_judged(first: bool) -> None:
    judge = traffic()
    asked = [{}] * (not first) + [{ALWAYS_304: "1"}]
    answers = _ask(judge, asked)
    assert answers[-1].status_code == 304
    assert answers[-1].headers["x-usagekit-violations"] != "0"
    assert "status_matches_reference" in answers[-1].headers["x-usagekit-rules"]
    assert judge.violations()["not_judged"] == []
