"""CORS for browser frontends: preflight for X-API-Key, headers on errors too."""

from __future__ import annotations

import asyncio

import pytest
from factories import PARENT_KEY
from server_support import ME, error_of, served
from starlette.middleware.cors import CORSMiddleware

from usagekit.mock.server.cors import ContractCORSMiddleware

ORIGIN = "http://localhost:5173"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "x-api-key, prefer",
}


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


def test_preflight_allows_the_key_and_prefer_headers(mock) -> None:
    response = mock.request("OPTIONS", ME, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "x-api-key" in allowed
    assert "prefer" in allowed
    assert "GET" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    ("key", "params", "status"),
    [(PARENT_KEY, {}, 200), (None, {}, 401), (PARENT_KEY, {"limit": "0"}, 422)],
)
def test_answers_carry_cors_headers_whatever_the_status(mock, key, params, status) -> None:
    response = mock.get(ME, key=key, params=params, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Retry-After" in response.headers["access-control-expose-headers"]


def test_configured_origins_restrict_cors() -> None:
    with served(cors_origins=(ORIGIN,)) as mock:
        allowed = mock.get(ME, key=PARENT_KEY, headers={"Origin": ORIGIN})
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        other = mock.get(ME, key=PARENT_KEY, headers={"Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in other.headers
        refused = mock.request("OPTIONS", ME, headers={**PREFLIGHT, "Origin": "http://evil.test"})
        assert refused.status_code == 403
        assert error_of(refused)["code"] == "forbidden"


@pytest.mark.parametrize("origin", [None, ORIGIN, "http://evil.test"])
@pytest.mark.parametrize(
    "vary",
    [[], [(b"vary", b"Accept")], [(b"vary", b"A"), (b"x-other", b"1"), (b"vary", b"B")]],
)
@pytest.mark.parametrize("origins", [["*"], [ORIGIN]])
def test_answers_carry_the_headers_starlette_gives(origin, vary, origins) -> None:
    # Requests without Origin skip starlette's header objects: the answer must not tell.
    async def app(scope, receive, send) -> None:
        headers = [(b"content-type", b"text/plain"), *vary, (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def answer(middleware: type[CORSMiddleware]) -> list:
        sent = []

        async def send(message) -> None:
            sent.append(message)

        async def receive() -> dict:
            return {"type": "http.request", "body": b""}

        headers = [(b"host", b"x")] + ([(b"origin", origin.encode())] if origin else [])
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        cors = middleware(app, allow_origins=origins, allow_methods=["GET"], expose_headers=["W"])
        await cors(scope, receive, send)
        return [(m.get("status"), list(m.get("headers", [])), m.get("body")) for m in sent]

    assert asyncio.run(answer(ContractCORSMiddleware)) == asyncio.run(answer(CORSMiddleware))
