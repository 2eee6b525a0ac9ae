"""What the hostile-input tests share: the app, a raw call to it, and the contract's shapes."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote

from factories import PARENT_KEY
from server_support import DATASET, NOW

from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig
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
