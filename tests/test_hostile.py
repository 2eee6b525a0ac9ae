"""Hostile input: every parameter, header and the path, each answered in the contract's shape.

Requests go straight to the ASGI app as raw bytes (no HTTP client cleans them
up first), as uvicorn would hand them over: any byte in a header, NUL and
control characters, bad UTF-8 in percent escapes, thousands of digits, odd
zones and impossible dates. Each answer must be a status the contract names
for that request -- never 500 -- with a body in its shape: the usage payload
for 200, ``{code, message, detail?, errors?}`` with the status's own code for
the rest, and a 422 naming only the parameter that was hostile.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from factories import PARENT, PARENT_KEY
from server_support import DATASET, NOW

from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.workbench import create_workbench
from usagekit.mock.spec import error_codes

APP = create_app(DATASET, ServerConfig(now=NOW))
ME = "/v1/accounts/me/analytics/usage"
CODES = error_codes()


def call(
    path: bytes,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    method: str = "GET",
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the ASGI app, as uvicorn builds its scope."""
    sent = [(b"host", b"mock.test")] + (
        [(b"x-api-key", PARENT_KEY.encode())] if headers is None else headers
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path.decode("ascii")),
        "raw_path": path,
        "root_path": "",
        "query_string": query,
        "headers": sent,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(APP(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def contract_shaped(status: int, headers: dict[bytes, bytes], body: bytes) -> dict[str, Any]:
    assert status != 500, body
    assert headers[b"content-type"] == b"application/json", headers
    document = json.loads(body)
    if status == 200:
        assert set(document) == {"meta", "data"}
        return document
    assert set(document) <= {"code", "message", "detail", "errors"}, document
    assert document["code"] == CODES[status], (status, document)
    assert isinstance(document["message"], str)
    return document


# -- every query parameter -----------------------------------------------------------------

HOSTILE_VALUES = [
    "",
    " ",
    "%00",
    "a%00b",
    "%01%1F%7F",
    "%0D%0AX-Injected:%201",
    "%FF%FE",
    "%C0%AF",
    "%E2%80%AE",  # right-to-left override
    "%F0%9F%92%A5",
    "9" * 3000,
    "-1",
    "-" + "9" * 400,
    "1e309",
    "NaN",
    "Infinity",
    "0x10",
    "%EF%BC%91%EF%BC%92",  # full-width digits
    "null",
    "NULL",
    "[]",
    "{}",
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3E",
    "'%20OR%201=1",
    "%25",
    "%",
    "%zz",
    "a" * 3000,
    ",",
    "," * 3000,
]
PARAMETERS = ["start", "end", "granularity", "group_by", "tz", "limit"]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
@pytest.mark.parametrize("name", PARAMETERS)
def test_a_hostile_value_of_each_parameter(name: str, value: str) -> None:
    status, headers, body = call(ME.encode(), f"{name}={value}".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert [e["field"] for e in document["errors"]] == [f"query.{name}"]


ODD_ZONES = [
    "Etc/GMT+14",
    "Etc/GMT-14",
    "posixrules",
    "localtime",
    "Factory",
    "EST5EDT",
    "UTC%00",
    "Europe/../UTC",
    "Europe%2F..%2F..%2Fetc%2Fpasswd",
    "europe/vienna",
    "Europe/Vienna%20",
    "America/Argentina/ComodRivadavia",
    "Asia/Kathmandu",
    "%2FUTC",
    "UTC/",
    "+05:00",
    "Z",
    "GMT0",
    "Etc/Unknown",
    "A" * 65,
]


@pytest.mark.parametrize("zone", ODD_ZONES)
def test_odd_zones(zone: str) -> None:
    status, headers, body = call(ME.encode(), f"tz={zone}".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert [e["field"] for e in document["errors"]] == ["query.tz"]


ODD_DATES = [
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "2024-02-30T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-03-01T24:00:00Z",
    "2024-03-01T00:00:60Z",
    "2024-03-31T02:30:00",  # skipped in Vienna
    "2024-10-27T02:30:00",  # repeated in Vienna
    "+002024-03-01T00:00:00Z",
    "2024-03-01T00:00:00.1234567Z",
    "2024-03-01T00:00:00." + "1" * 3000,
    "2024-03-01%2000:00:00Z",
    "2024-03-01T00:00:00+99:99",
    "2024-03-01T00:00:00%2B14:00",
    "2024-03-01T00:00:00-00:00",
    "2024-03-01",
    "20240301T000000Z",
    "%EF%BC%92024-03-01T00:00:00Z",
    "2024-03-01T00:00:00z",
]


@pytest.mark.parametrize("date", ODD_DATES)
@pytest.mark.parametrize("name", ["start", "end"])
def test_odd_dates(name: str, date: str) -> None:
    status, headers, body = call(ME.encode(), f"{name}={date}&tz=Europe/Vienna".encode())
    document = contract_shaped(status, headers, body)
    assert status in (200, 422)
    if status == 422:
        assert {e["field"] for e in document["errors"]} <= {"query.start", "query.end"}


def test_every_parameter_hostile_at_once_is_one_422_naming_each() -> None:
    query = "&".join(f"{name}=%00{'9' * 500}" for name in PARAMETERS)
    status, headers, body = call(ME.encode(), query.encode())
    document = contract_shaped(status, headers, body)
    assert [e["field"] for e in document["errors"]] == [f"query.{n}" for n in PARAMETERS]


@pytest.mark.parametrize(
    "query",
    [
        "&" * 4000,
        "=" * 4000,
        "group_by=agent&" * 200,
        "a=" + "%00" * 1300,
        "pad=" + "x" * 4092,
        "tz=UTC&tz=" + "A" * 3000,
        "limit=" + "0" * 3000 + "1",
    ],
    ids=["ampersands", "equals", "repeats", "nuls", "pad at the cap", "repeated scalar", "zeros"],
)
def test_query_strings_at_the_cap(query: str) -> None:
    status, headers, body = call(ME.encode(), query.encode())
    contract_shaped(status, headers, body)
    assert status in (200, 422)


@pytest.mark.parametrize("size", [4097, 65_000, 1_000_000])
def test_query_strings_past_the_cap_are_400(size: int) -> None:
    status, headers, body = call(ME.encode(), b"group_by=" + b"," * size)
    assert contract_shaped(status, headers, body)["code"] == "bad_request"


# -- headers --------------------------------------------------------------------------------

KEYS = [
    b"",
    b" ",
    b"\x00",
    PARENT_KEY.encode() + b"\x00",
    PARENT_KEY.encode() + b" ",
    b" " + PARENT_KEY.encode(),
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
