"""Applications for ``usagekit check --app``: the mock, the independent server, and WSGI.

``mock_app`` is a zero-argument factory over the mock's own ``create_app``;
``minimal`` and ``minimal_utc_labels`` are module-level ASGI apps of the
independent server (correct, and with one fault); ``minimal_wsgi`` is the
correct one behind a small ASGI-to-WSGI bridge, so that the WSGI road is
taken by a real implementation of the contract.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from servers.minimal import Fault, MinimalServer

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.synthetic import generate
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig

HOUR = 3600 * US


@functools.cache
def dataset() -> Dataset:
    return generate(now=int(time.time()) * US // HOUR * HOUR, size=20_000)


def mock_app() -> Any:
    return create_app(dataset(), ServerConfig(access_log=False))


minimal = MinimalServer(dataset=dataset()).app()
minimal_utc_labels = MinimalServer(dataset=dataset(), faults=frozenset({Fault.UTC_LABELS})).app()


def wsgi(app: Any) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """An ASGI app as a WSGI app: one event loop per request (enough for a plain app)."""

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = [
            (key[5:].replace("_", "-").lower().encode("latin-1"), value.encode("latin-1"))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": environ["REQUEST_METHOD"],
            "scheme": environ["wsgi.url_scheme"],
            "path": environ["PATH_INFO"],
            "raw_path": environ["PATH_INFO"].encode("latin-1"),
            "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"])),
            "client": ("127.0.0.1", 0),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        start_response(
            f"{start['status']} -",
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]],
        )
        return [b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")]

    return call


minimal_wsgi = wsgi(minimal)
