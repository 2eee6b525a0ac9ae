"""What the mock answers at the edges of the HTTP parser, asked of a real ``usagekit mock``
over raw sockets, as a client writes them.

* ``X-API-Key`` with optional whitespace around its value (RFC 9110, 5.5: the field
  value excludes it) is the key: uvicorn's parser (httptools) drops only the leading
  whitespace, and the key with a trailing space was a 401. The kit judges such a key as a
  key (whose, it cannot know): a server that strips it (200) and one that keeps it (401)
  both pass, through the proxy or in a replay.
* A method httptools does not know (``FOO``, ``get``: methods are case-sensitive) was
  refused by the parser before the path was read: ``400 bad_request``. The contract says
  "any method other than GET: 405 with Allow: GET" on the endpoint, and a path that does
  not name it is 404, whatever the method: so they are answered, in the contract's shape,
  as a method the parser knows (``PROPFIND``) is. The connection is closed after, as after
  any request the parser could not read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from connection_support import answer, connect, raw_request, read_all, read_one
from processes import free_port, running
from proxy_support import NOW_TEXT, proxy_process

from usagekit.conformance.config import KitConfig
from usagekit.conformance.har import Recorded
from usagekit.conformance.traffic import Traffic
from usagekit.mock.datasets.synthetic import DEMO_API_KEY

USAGEKIT = str(Path(sys.executable).with_name("usagekit"))
ME = "/v1/accounts/me/analytics/usage"


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    port = free_port()
    command = [USAGEKIT, "mock", "--port", str(port), "--now", NOW_TEXT, "--no-access-log"]
    with running(command, port, path="/healthz", timeout=30) as base:
        yield base


def head(method: str, target: str, *lines: str) -> bytes:
    """A request head as a client writes it, with ``Connection: close``."""
    fields = "".join(f"{line}\r\n" for line in ("Host: localhost", *lines, "Connection: close"))
    return f"{method} {target} HTTP/1.1\r\n{fields}\r\n".encode("latin-1")


@pytest.mark.parametrize(
    "written",
    [f"{DEMO_API_KEY} ", f"{DEMO_API_KEY}\t", f"  {DEMO_API_KEY}  ", f"\t{DEMO_API_KEY} \t"],
    ids=["space after", "tab after", "spaces around", "tabs and spaces"],
)
def test_whitespace_around_the_key_is_not_part_of_it(mock: str, written: str) -> None:
    status, _, body = raw_request(mock, head("GET", ME, f"X-API-Key:{written}"))
    assert status == 200, body
    assert body["meta"]["account_id"]


def test_a_key_of_whitespace_only_is_no_key(mock: str) -> None:
    status, _, body = raw_request(mock, head("GET", ME, "X-API-Key: \t "))
    assert (status, body["code"]) == (401, "unauthorized")
    assert body["detail"] == "No X-API-Key header was sent."


def test_the_proxy_judges_the_mock_that_strips_it_right(mock: str) -> None:
    with proxy_process(mock) as (proxy, _):
        status, headers, _ = raw_request(proxy, head("GET", ME, f"X-API-Key: {DEMO_API_KEY} "))
    assert status == 200
    assert headers["x-usagekit-violations"] == "0", headers.get("x-usagekit-rules")


def test_a_server_that_keeps_the_whitespace_is_not_flagged_either() -> None:
    judge = Traffic(KitConfig(base_url="http://upstream.test", api_key="", account_id=""))
    refused = Recorded(
        started=0.0, method="GET", url=f"http://upstream.test{ME}",
        request_headers=(("X-API-Key", f"{DEMO_API_KEY} "),), status=401, reason="",
        response_headers=(("content-type", "application/json"),), elapsed=0.001,
        content=b'{"code": "unauthorized", "message": "A valid API key is required."}',
    )  # fmt: skip
    assert judge.judge(refused) == []


@pytest.mark.parametrize("method", ["FOO", "get", "X-CUSTOM", "PROPFIND", "DELETE"])
def test_any_method_but_get_on_the_endpoint_is_the_contracts_405(mock: str, method: str) -> None:
    status, headers, body = raw_request(
        mock, head(method, ME + "?tz=UTC", f"X-API-Key: {DEMO_API_KEY}")
    )
    assert (status, body["code"], headers["allow"]) == (405, "method_not_allowed", "GET")
    assert body["message"] == f"{method} is not allowed here; use GET."


@pytest.mark.parametrize("method", ["FOO", "PROPFIND"])
def test_any_method_on_a_path_the_contract_does_not_name_is_404(mock: str, method: str) -> None:
    status, _, body = raw_request(
        mock, head(method, "/v1/nothing%20here", f"X-API-Key: {DEMO_API_KEY}")
    )
    assert (status, body) == (
        404,
        {"code": "not_found", "message": "No endpoint at /v1/nothing here."},
    )


def test_an_unknown_method_on_a_kept_connection_is_answered_as_itself(mock: str) -> None:
    with connect(mock) as sock:
        sock.sendall(head("GET", "/healthz").replace(b"Connection: close\r\n", b""))
        assert read_one(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"\r\n" + head("FOO", ME))  # an empty line first, which RFC 9112 2.2 allows
        status, headers, body = answer(read_all(sock))
    assert (status, body["code"], headers["allow"]) == (405, "method_not_allowed", "GET")


def test_a_request_line_that_is_not_http_is_still_400(mock: str) -> None:
    status, _, body = raw_request(mock, b"F@O / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert (status, body["code"]) == (400, "bad_request")
