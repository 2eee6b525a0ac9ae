"""What ``usagekit proxy`` passes on of an upstream's broken or bodiless answers.

A real proxy process in front of a raw asyncio upstream (a thread of this
process) that answers by the request's ``mode`` and notes each request it
reads. An answer the upstream began and broke -- a head cut by a reset, a head
that is not HTTP -- is the upstream's, named ``upstream_unreadable`` and never
sent again to hide it; only a kept-alive connection it closed before any byte
of an answer is tried again (RFC 9112 9.3.1), as the kit's own client does. A
304's and a 204's Content-Length is not invented, and does not break the answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from proxy_support import proxy_process
from servers.threaded import in_thread

pytestmark = pytest.mark.slow

USAGE = "/v1/accounts/me/analytics/usage"
ANSWER = b'{"code":"unauthorized","message":"No key."}'
WHOLE = b"HTTP/1.1 401 X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(ANSWER),
    ANSWER,
)
#: The modes of the requests the upstream read, in order.
seen: list[str] = []


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    served = 0
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            mode = request.split(b"mode=", 1)[1].split(b" ", 1)[0].decode()
            seen.append(mode)
            served += 1
            if mode == "whole" or (mode.startswith("second_") and served == 1):
                writer.write(WHOLE)
            elif mode.endswith("mid_head"):  # part of a head, then a reset
                writer.write(b"HTTP/1.1 401 X\r\ncontent-type: appl")
                await writer.drain()
                await asyncio.sleep(0.1)
                _reset(writer)
                return
            elif mode.endswith("garbled"):
                writer.write(b"HTTP/1.1 4x1 X\r\ncontent-length: 0\r\n\r\n")
            elif mode == "closed":  # a kept-alive connection closed as the request came
                writer.close()
                return
            elif mode in ("not_modified", "no_content"):
                status = b"304 Not Modified" if mode == "not_modified" else b"204 No Content"
                writer.write(b'HTTP/1.1 %s\r\netag: "v1"\r\ncontent-length: 1234\r\n\r\n' % status)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def proxied() -> Iterator[Callable[..., list[httpx.Response]]]:
    """``ask(path, *modes)``: the modes in turn over one kept-alive client connection
    through a real proxy (so over one kept-alive upstream connection, as long as it lasts)."""
    seen.clear()
    with in_thread(_handle) as upstream, proxy_process(upstream) as (base, process):

        def ask(path: str, *modes: str, **headers: str) -> list[httpx.Response]:
            with httpx.Client(base_url=base, timeout=30) as client:
                return [client.get(path, params={"mode": mode}, headers=headers) for mode in modes]

        yield ask
        assert process.poll() is None, "the proxy died"
        process.kill()
        _, log = process.communicate(timeout=15)
    assert "Traceback" not in log, log  # uvicorn's log of an answer it could not end


def _code(answer: httpx.Response) -> tuple[int, str, str]:
    body = json.loads(answer.content)
    return answer.status_code, body["code"], body["message"]


@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "streamed"])
@pytest.mark.parametrize("warm", [False, True], ids=["new-connection", "kept-alive"])
def test_a_head_cut_by_a_reset_is_unreadable_not_unreachable(path: str, warm: bool) -> None:
    modes = ["whole"] * warm + ["mid_head"]
    with proxied() as ask:
        *_, answer = ask(path, *modes)
    status, code, message = _code(answer)
    assert (status, code) == (502, "upstream_unreadable"), message
    assert "in the middle of its answer's head" in message
    assert seen == modes  # not sent again


@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "streamed"])
@pytest.mark.parametrize("broken", ["second_garbled", "second_mid_head"])
def test_an_answer_broken_on_a_kept_alive_connection_is_not_hidden_by_a_second_try(
    path: str, broken: str
) -> None:
    # The upstream breaks the second answer on a connection, and answers a new one well:
    # a retry hid the broken answer from the client and the judge, and sent a GET twice.
    with proxied() as ask:
        first, answer = ask(path, "whole", broken)
    assert first.status_code == 401
    status, code, _ = _code(answer)
    assert (status, code) == (502, "upstream_unreadable")
    assert seen == ["whole", broken]


@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "streamed"])
def test_a_kept_alive_connection_closed_before_any_answer_is_tried_again(path: str) -> None:
    with proxied() as ask:
        answers = ask(path, "whole", "closed")
    # Closed again on the new connection: then the upstream is unreachable, as before.
    assert answers[0].status_code == 401
    assert _code(answers[1])[:2] == (502, "upstream_unreachable")
    assert seen == ["whole", "closed", "closed"]


@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "streamed"])
@pytest.mark.parametrize("mode", ["not_modified", "no_content"])
def test_a_bodiless_answer_gets_no_invented_content_length(path: str, mode: str) -> None:
    # A 304's Content-Length is the 200's it stands for (RFC 9110 8.6); the proxy rewrote
    # it to 0 on the endpoint, and on another path uvicorn refused to end the answer.
    with proxied() as ask:
        answers = ask(path, mode, mode, "whole", **{"If-None-Match": '"v1"'})
    assert [a.status_code for a in answers] == [304 if mode == "not_modified" else 204] * 2 + [401]
    for answer in answers[:2]:
        assert answer.headers.get("content-length") in (None, "1234"), answer.headers
        assert answer.headers.get("etag") == '"v1"'
    assert answers[2].content == ANSWER  # the connection stayed usable
