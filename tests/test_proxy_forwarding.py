"""What the proxy passes on: other paths untouched but for what concerns one connection
only, bodies whatever their framing, no expectation it has met itself; and a 502 in the
contract's shape when the upstream cannot be reached."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from processes import in_thread
from proxy_support import proxy_server, traffic
from servers.running import serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from usagekit.conformance.forwarding import forwarded
from usagekit.conformance.proxy import ValidationProxy


def test_hop_by_hop_headers_those_connection_names_host_and_expect_stay_behind() -> None:
    raw = [
        (b"host", b"proxy.test"),
        (b"connection", b"keep-alive, x-trace"),
        (b"x-trace", b"1"),
        (b"keep-alive", b"timeout=5"),
        (b"te", b"trailers"),
        (b"expect", b"100-continue"),
        (b"content-length", b"5"),
        (b"x-api-key", b"sk-1"),
        (b"accept", b"application/json"),
    ]
    assert forwarded(raw, decodable=False) == [
        (b"x-api-key", b"sk-1"),
        (b"accept", b"application/json"),
    ]


async def _expecting_upstream(seen: list[bytes]) -> asyncio.Server:
    """A server that honours ``Expect: 100-continue`` as RFC 9110 asks (an interim 100
    before it reads the body), and answers with the body it read."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        if re.search(rb"(?im)^expect: *100-continue", head):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        found = re.search(rb"(?im)^content-length: *(\d+)", head)
        body = await reader.readexactly(int(found.group(1)) if found else 0)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_an_expectation_the_proxy_met_is_not_passed_on() -> None:
    """The proxy reads a request's whole body before it forwards it (uvicorn sends the
    client its ``100 Continue``); passed on, the expectation would draw an interim answer
    the upstream connection must refuse."""
    seen: list[bytes] = []

    async def main() -> bytes:
        upstream = await _expecting_upstream(seen)
        port = upstream.sockets[0].getsockname()[1]
        server = proxy_server(ValidationProxy(f"http://127.0.0.1:{port}", traffic()))
        with in_thread(server):
            proxy_port = server.servers[0].sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
            writer.write(
                b"POST /echo HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\n"
                b"Content-Length: 5\r\n\r\n"
            )
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(b"hello")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            body = await asyncio.wait_for(reader.readexactly(5), 10)
            writer.close()
        upstream.close()
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"  # from the proxy, to the client
        assert head.startswith(b"HTTP/1.1 200 ")
        return body

    assert asyncio.run(main()) == b"hello"
    (head,) = seen
    assert b"expect" not in head.lower()


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers.items()),
            "body": body.decode(),
        },
        headers={"connection": "keep-alive", "keep-alive": "timeout=5", "x-upstream": "yes"},
    )


ECHO = Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST", "PUT"])])


def _through(base: str, method: str, url: str, **kwargs: object) -> httpx.Response:
    proxy = ValidationProxy(base, traffic())

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=proxy), base_url="http://proxy.test"
        ) as client:
            response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        await proxy.aclose()
        return response

    return asyncio.run(go())


def test_other_paths_are_forwarded_untouched_but_for_hop_by_hop_headers() -> None:
    with serving(ECHO) as base:
        answer = _through(
            base,
            "POST",
            "/some/where%2Fencoded?b=2&a=1&a=",
            content=b'{"x": 1}',
            headers={
                "X-API-Key": "sk-secret",
                "Connection": "keep-alive, x-hop",
                "X-Hop": "dropped",
                "X-Kept": "kept",
                "TE": "trailers",
            },
        )
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/some/where/encoded"  # as starlette decodes what arrived
    assert seen["query"] == "b=2&a=1&a="
    assert seen["body"] == '{"x": 1}'
    assert seen["headers"]["x-api-key"] == "sk-secret"  # keys pass through
    assert seen["headers"]["x-kept"] == "kept"
    assert "x-hop" not in seen["headers"]
    assert "te" not in seen["headers"]
    assert seen["headers"]["host"] == base.removeprefix("http://")
    assert answer.headers["x-upstream"] == "yes"
    assert "keep-alive" not in answer.headers
    assert "x-usagekit-violations" not in answer.headers


async def _in_parts() -> AsyncIterator[bytes]:
    yield b'{"x"'
    yield b": 1}"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_is_forwarded_whatever_its_method_and_framing(chunked: bool) -> None:
    content = _in_parts() if chunked else b'{"x": 1}'  # transfer-encoding or content-length
    with serving(ECHO) as base:
        answer = _through(base, "GET", "/some/where", content=content)
    assert answer.json()["body"] == '{"x": 1}'


def test_an_unreachable_upstream_is_a_502_in_the_contracts_shape() -> None:
    answer = _through("http://127.0.0.1:9", "GET", "/v1/accounts/me/analytics/usage")
    assert answer.status_code == 502
    body = json.loads(answer.content)
    assert body["code"] == "upstream_unreachable"
    assert set(body) <= {"code", "message", "detail", "errors"}
