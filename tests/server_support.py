"""Shared helpers of the mock server's tests: a small dataset, an in-process client, a socket.

``Served`` drives the ASGI app in process through httpx's ASGI transport on
one event loop per test; ``uvicorn_server`` starts ``usagekit.mock.server.run``
in a subprocess on a free port (one or several workers) with the dataset of
:func:`dataset` -- its import string is the config's ``dataset_factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import factories as f
import httpx
from factories import CHILD, OTHER
from processes import free_port, running, wait_answering

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig, parse_instant

NOW_TEXT = "2024-04-02T00:00:00Z"
NOW = parse_instant(NOW_TEXT)
PATH = "/v1/accounts/{}/analytics/usage"
ME = PATH.format("me")
TESTS = Path(__file__).parent


def dataset() -> Dataset:
    """Conversations of PARENT, CHILD and OTHER around Vienna's spring-forward night."""
    c = f.conversation
    return f.dataset(
        [
            c("2024-03-01T08:00:00Z", 60),
            c("2024-03-01T09:30:00Z", 120, agent="agent-b", type="web"),
            c("2024-03-01T23:30:00Z", 30, agent=None),  # 2024-03-02 00:30 in Vienna
            c("2024-03-02T10:00:00Z", 45, status="failed"),
            c("2024-03-15T12:00:00Z", 300, account=CHILD, agent="agent-c", type="test"),
            c("2024-03-31T00:30:00Z", 90, agent="agent-b"),  # 01:30 CET
            c("2024-03-31T01:30:00Z", 75, agent="agent-b"),  # 03:30 CEST
            c("2024-03-31T22:00:00Z", 10, account=CHILD, agent="agent-c"),
            c("2024-03-20T10:00:00Z", 500, account=OTHER, agent=None, type="unknown"),
        ]
    )


DATASET = dataset()

#: The file :func:`counted_dataset` appends the loading process's id to.
LOADS_ENV = "USAGEKIT_TEST_LOADS"


def counted_dataset() -> Dataset:
    """:func:`dataset`, noting each load (by process id) in the file ``$USAGEKIT_TEST_LOADS``."""
    with open(os.environ[LOADS_ENV], "a", encoding="utf-8") as loads:
        loads.write(f"{os.getpid()}\n")
    return dataset()


class Served:
    """An app in process, on one event loop: ``served.get(url, key=...)``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://mock.test"
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["X-API-Key"] = key
        return self._runner.run(self._client.request(method, url, headers=sent, params=params))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@contextlib.contextmanager
def served(data: Dataset | None = None, **config: Any) -> Iterator[Served]:
    config.setdefault("now", NOW)
    client = Served(create_app(DATASET if data is None else data, ServerConfig(**config)))
    try:
        yield client
    finally:
        client.close()


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error body, after checking the contract's shape and content type."""
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert set(body) <= {"code", "message", "detail", "errors"}, body
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    return body


def fields_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    body = error_of(response)
    assert body["code"] == "validation_error"
    return [e["field"] for e in body["errors"]]


# -- over a real socket ----------------------------------------------------------------


SERVE = (
    "import sys\n"
    "from usagekit.mock.server.config import ServerConfig\n"
    "from usagekit.mock.server.run import serve\n"
    "serve(ServerConfig.from_env(sys.argv[1]))\n"
)


@contextlib.contextmanager
def uvicorn_server(env: dict[str, str] | None = None, **config: Any) -> Iterator[str]:
    """``serve(ServerConfig(...))`` in a subprocess over :func:`dataset`; yields its base URL.

    ``env`` adds to the subprocess' environment."""
    port = free_port()
    settings = ServerConfig(
        **{
            "port": port,
            "dataset_factory": "server_support:dataset",
            "access_log": False,
            "log_level": "warning",
            **config,
        }
    )
    command = [sys.executable, "-c", SERVE, settings.to_env()]
    with running(command, port, path="/healthz", ready=_healthy, timeout=20.0, env=env) as base:
        yield base


def _healthy(response: httpx.Response) -> bool:
    return response.status_code == 200


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    wait_answering(f"{base}/healthz", process, ready=_healthy, timeout=timeout)
