"""``GET /_usagekit/requests?limit=N``: the last requests the mock answered.

Each entry: time, method, path, query, status, latency (ms), and which
account the key belongs to (with its demo role) -- never the key itself.
Each worker keeps its last :data:`CAPACITY` entries in memory; with a shared
directory (``--workers N``) it also appends them to its own JSON-lines file
there, which starts afresh (the previous one kept as ``.old``) every
:data:`CAPACITY` lines, so the journal's files are bounded by 2 x CAPACITY
lines a worker and any worker can answer with everyone's requests.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access import KeyIndex
from .admin import json_response
from .routes import API_KEY_HEADER, header

__all__ = ["CAPACITY", "Journal", "JournalMiddleware", "journal_routes"]

#: Entries kept per worker (and lines per journal file).
CAPACITY = 1000
DEFAULT_LIMIT = 50


class Journal:
    """A bounded record of answered requests, optionally shared through files."""

    def __init__(self, directory: str | None = None) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=CAPACITY)
        self.directory = Path(directory) if directory else None
        self._file: IO[str] | None = None
        self._lines = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        if self.directory is None:
            return
        if self._file is None or self._lines >= CAPACITY:
            self._rotate()
        assert self._file is not None
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        self._lines += 1

    def _rotate(self) -> None:
        assert self.directory is not None
        path = self.directory / f"journal-{os.getpid()}.jsonl"
        if self._file is not None:
            self._file.close()
            os.replace(path, path.with_suffix(".old"))
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 -- lives with the worker
        self._lines = 0

    def last(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first."""
        if self.directory is None:
            entries = list(self.entries)
        else:
            entries = []
            for path in sorted(self.directory.glob("journal-*")):
                with open(path, encoding="utf-8") as lines:
                    entries.extend(json.loads(line) for line in lines if line.endswith("\n"))
            entries.sort(key=lambda e: e["time"])
        return entries[::-1][:limit]


class JournalMiddleware:
    """Records every request that reaches the contract's app, with its status and latency."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Journal,
        keys: Callable[[], KeyIndex],
        role: Callable[[str], str | None],
    ) -> None:
        self.app = app
        self.journal = journal
        self.keys = keys
        self.role = role

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            key = header(scope, API_KEY_HEADER)
            grant = self.keys().grant(key) if key else None
            account = grant.account_id if grant else None
            self.journal.add(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope["query_string"].decode("latin-1"),
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "account_id": account,
                    "account": self.role(account) if account else None,
                }
            )


def journal_routes(journal: Journal) -> list[Route]:
    async def requests(request: Request) -> Response:
        text = request.query_params.get("limit", str(DEFAULT_LIMIT))
        if not (
            len(text) <= 4 and text.isascii() and text.isdigit() and 1 <= int(text) <= CAPACITY
        ):
            body = {
                "code": "validation_error",
                "message": "1 invalid parameter",
                "errors": [{"field": "limit", "message": f"must be an integer in [1, {CAPACITY}]"}],
            }
            return json_response(body, status=422)
        return json_response({"requests": journal.last(int(text))})

    return [Route("/requests", requests, methods=["GET"])]
