"""Hostile input beyond the parameters: headers, the path, methods, the admin routes.

Raw requests straight to the ASGI app, each answer in the contract's shape and
never 500, as in ``test_hostile.py``."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest
from factories import PARENT, PARENT_KEY
from hostile_support import ME, call, contract_shaped
from server_support import DATASET, NOW

from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.workbench import create_workbench

# -- headers --------------------------------------------------------------------------------

KEYS = [
    b"",
    b" ",
    b"\x00",
    PARENT_KEY.encode() + b"\x00",
    PARENT_KEY.encode() + b"\x0b",  # a vertical tab is no optional whitespace (RFC 9110 5.6.3)
    b"\xa0" + PARENT_KEY.encode(),
    PARENT_KEY.upper().encode(),
    b"\xff\xfe",
    b"\r\nX-Injected: 1",
    b"k" * 60_000,
    "sk-ключ".encode(),
    b"null",
    b"Bearer " + PARENT_KEY.encode(),
]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_hostile_keys_are_401(key: bytes) -> None:
    status, headers, body = call(ME.encode(), headers=[(b"x-api-key", key)])
    assert status == 401
    contract_shaped(status, headers, body)


@pytest.mark.parametrize("written", [b" %s", b"%s\t", b" \t%s \t"])
def test_whitespace_around_a_key_is_not_part_of_it(written: bytes) -> None:
    # RFC 9110 5.5; over a socket httptools drops the leading part, in process nothing does.
    status, _, body = call(ME.encode(), headers=[(b"x-api-key", written % PARENT_KEY.encode())])
    assert status == 200, body


def test_a_second_key_header_does_not_widen_access() -> None:
    headers = [(b"x-api-key", b"wrong"), (b"x-api-key", PARENT_KEY.encode())]
    status, response_headers, body = call(ME.encode(), headers=headers)
    assert status in (200, 401)
    contract_shaped(status, response_headers, body)


PREFERS = [
    b"code=" + b"9" * 5000,
    b"latency=" + b"9" * 5000,
    b"latency=-1",
    b"latency=1e9",
    b"code=200",
    b"code=418",
    b"code=4%32%39",
    b"\x00",
    b"code=\xff",
    b"," * 60_000,
    b"code=429;" + b";" * 30_000,
    b"latency=" + "\uff11\uff12".encode(),
    b'code="401',
]


@pytest.mark.parametrize("prefer", PREFERS, ids=range(len(PREFERS)))
def test_hostile_prefer_headers(prefer: bytes) -> None:
    headers = [(b"x-api-key", PARENT_KEY.encode()), (b"prefer", prefer)]
    status, response_headers, body = call(ME.encode(), headers=headers)
    contract_shaped(status, response_headers, body)
    assert status in (200, 401, 429)


OTHER_HEADERS = [
    (b"origin", b"\x00"),
    (b"origin", b"http://" + b"a" * 10_000),
    (b"content-length", b"9" * 5000),
    (b"content-length", b"-1"),
    (b"transfer-encoding", b"chunked"),
    (b"accept", b"text/html"),
    (b"accept-encoding", b"gzip;q=" + b"9" * 5000),
    (b"cookie", b"a=" + b"b" * 30_000),
    (b"connection", b"Upgrade"),
    (b"upgrade", b"websocket"),
    (b"x-forwarded-for", b"\r\n"),
    (b"\xff", b"\xff"),
]


@pytest.mark.parametrize(("name", "value"), OTHER_HEADERS, ids=range(len(OTHER_HEADERS)))
def test_other_hostile_headers_change_nothing(name: bytes, value: bytes) -> None:
    headers = [(b"x-api-key", PARENT_KEY.encode()), (name, value)]
    status, response_headers, body = call(ME.encode(), headers=headers)
    contract_shaped(status, response_headers, body)
    assert status == 200


# -- the path and the method ----------------------------------------------------------------

ACCOUNTS = [
    "",
    "..",
    "%2e%2e",
    "me%00",
    "me%0AERROR:%20forged",
    "%FF",
    "a" * 900,
    "%E2%80%AE",
    "ME",
    "me%2F",
    PARENT + "%00",
    PARENT + "x",
    "me%20",
    "%25",
]


@pytest.mark.parametrize("account", ACCOUNTS, ids=range(len(ACCOUNTS)))
def test_hostile_account_ids(account: str) -> None:
    path = f"/v1/accounts/{account}/analytics/usage".encode()
    status, headers, body = call(path)
    contract_shaped(status, headers, body)
    assert status in (403, 404)


PATHS = [
    "/",
    "/v1",
    "/v1/accounts/me/analytics/usage/",
    "/v1/accounts/me/analytics/usage%00",
    "/v1/accounts/me/analytics/../analytics/usage",
    "/V1/accounts/me/analytics/usage",
    "//v1/accounts/me/analytics/usage",
    "/v1/accounts/me/analytics/usage;x=1",
    "/" + "a" * 2000,
    "/%FF%FE",
    "/healthz%0A",
]


@pytest.mark.parametrize("path", PATHS, ids=range(len(PATHS)))
def test_hostile_paths(path: str) -> None:
    status, headers, body = call(quote(path, safe="/%;").encode())
    contract_shaped(status, headers, body)
    assert status in (400, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        *((method, ME) for method in ("POST", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "BREW")),
        *((method, "/healthz") for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS")),
    ],
)
def test_other_methods_are_405_with_allow(method: str, path: str) -> None:
    status, headers, body = call(path.encode(), method=method)
    assert status == 405
    assert headers[b"allow"] == b"GET"
    if method != "HEAD":
        contract_shaped(status, headers, body)


@pytest.mark.parametrize("suffix", ["%0A", "%0D", "%00", "%09", "%7F"])
@pytest.mark.parametrize("path", [ME, "/healthz", "/openapi.json"])
def test_a_control_character_ending_a_path_names_no_endpoint(path: str, suffix: str) -> None:
    status, headers, body = call(f"{path}{suffix}".encode())
    assert status == 404
    contract_shaped(status, headers, body)


# -- the workbench's admin routes -----------------------------------------------------------

BODIES = [
    b'{"code": ' + b"9" * 5000 + b"}",
    b'{"latency_ms": [1, ' + b"9" * 5000 + b"]}",
    b"[" * 50_000,
    b"x" * 100_000,
    b'{"error_rate": 1e999}',
    b"\xff\xfe",
    b'{"code": 429, "key": "' + b"k" * 60_000 + b'"}',
    b'{"rate_limit": 5e-324}',  # was taken: then a 500 (an infinite Retry-After) per request
    b'{"rate_limit": 1e-300}',  # was taken: then a Retry-After of 301 digits
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_hostile_scenario_bodies_are_422(body: bytes) -> None:
    app = create_workbench(DATASET, ServerConfig(now=NOW))

    async def put() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
            return await client.put("/_usagekit/scenario", content=body)

    response = asyncio.run(put())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
