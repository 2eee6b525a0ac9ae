"""``GET /_usagekit/requests?limit=N``: the last requests the mock answered.

Each entry: time, method, path, query, status, latency (ms), and which
account the key belongs to (with its demo role) -- never the key itself.

Recording is cheap, because it happens on every request: a tuple of what the
request already holds (the query string's bytes, the key's SHA-256 digest the
front cache computed, the latency in seconds) goes into a bounded deque, and
everything people read (the text, the ISO time, the account, its role) is
worked out when the journal is written or read. With a shared directory
(``--workers N``) each worker also writes its entries to its own JSON-lines
file there, in batches at most :data:`FLUSH_SECONDS` old (a line per entry, the
parts a repeat shares encoded once: :func:`line_of`; of a batch longer than
:data:`CAPACITY`, only the newest entries, as no reader shows more); a file
starts afresh (the previous one kept as ``.old``) every :data:`CAPACITY` lines, so the
journal's files hold at most 2 x CAPACITY lines a worker, and any worker
answers with everyone's requests.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import time as wall
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from .access import Grant, digest
from .admin import json_response
from .problems import ShapedRoute
from .routes import KEY_DIGEST, api_key

__all__ = ["CAPACITY", "FLUSH_SECONDS", "Journal", "entry_of", "journal_routes", "line_of"]

#: Entries kept per worker (and lines per journal file).
CAPACITY = 1000
DEFAULT_LIMIT = 50
#: The oldest an entry gets in a worker's buffer before it reaches the shared file.
FLUSH_SECONDS = 0.2

#: (time (s), method, path, query, status, latency (ms), key digest hex or None)
Entry = tuple[float, str, str, str, int, float, str | None]
#: What a request leaves: (time (s), method, path, query string, status, latency (s),
#: key digest or None); turned into an :data:`Entry` only when written or read.
Record = tuple[float, str, str, bytes, int, float, bytes | None]


def entry_of(record: Record) -> Entry:
    at, method, path, query, status, seconds, key_digest = record
    shown_digest = key_digest.hex() if key_digest is not None else None
    return (
        at,
        method,
        path,
        query.decode("latin-1"),
        status,
        round(seconds * 1000, 2),
        shown_digest,
    )


_encode = json.JSONEncoder(separators=(",", ":")).encode


def line_of(record: Record) -> str:
    """``record``'s line in a journal file: its :data:`Entry` as compact JSON.

    Written for every request a worker answers, so the parts a repeat shares (method,
    path, query; the key's digest) are encoded once, and the numbers as ``json`` would.
    """
    at, method, path, query, status, seconds, key_digest = record
    return (
        f"[{at!r},{_request_json(method, path, query)},{status},"
        f"{round(seconds * 1000, 2)!r},{_digest_json(key_digest)}]\n"
    )


@functools.lru_cache(maxsize=1024)
def _request_json(method: str, path: str, query: bytes) -> str:
    return f"{_encode(method)},{_encode(path)},{_encode(query.decode('latin-1'))}"


@functools.lru_cache(maxsize=1024)
def _digest_json(key_digest: bytes | None) -> str:
    return _encode(key_digest.hex() if key_digest is not None else None)


class Journal:
    """A bounded record of answered requests, optionally shared through files."""

    def __init__(self, directory: str | None = None) -> None:
        self.records: deque[Record] = deque(maxlen=CAPACITY)
        self.directory = Path(directory) if directory else None
        self._file: IO[str] | None = None
        self._lines = 0
        self._pending: list[Record] = []

    def record_request(self, scope: Scope, status: int, seconds: float) -> None:
        """Record the request of ``scope``, answered ``status`` (0: none) in ``seconds``."""
        key_digest = scope.get("extensions", {}).get(KEY_DIGEST)
        if key_digest is None:
            key = api_key(scope)
            key_digest = digest(key) if key else None
        record = (wall(), scope["method"], scope["path"], scope["query_string"], status, seconds)
        self.add((*record, key_digest))

    def add(self, record: Record) -> None:
        self.records.append(record)
        if self.directory is None:
            return
        if not self._pending:
            # The first record of a batch schedules the batch's write.
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
        self._pending.append(record)

    def flush(self) -> None:
        """Write the buffered entries to this worker's file."""
        # A reader shows at most CAPACITY entries, newest first: of a batch longer than
        # that, the older ones would only be rotated away unread.
        pending, self._pending = self._pending[-CAPACITY:], []
        for record in pending:
            if self._file is None or self._lines >= CAPACITY:
                self._rotate()
            assert self._file is not None
            self._file.write(line_of(record))
            self._lines += 1
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Write what is buffered and close this worker's file."""
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rotate(self) -> None:
        assert self.directory is not None
        path = self.directory / f"journal-{os.getpid()}.jsonl"
        if self._file is not None:
            self._file.close()
            os.replace(path, path.with_suffix(".old"))
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 -- lives with the worker
        self._lines = 0

    def last(self, limit: int) -> list[Entry]:
        """The newest ``limit`` entries, newest first."""
        if self.directory is None:
            entries = [entry_of(record) for record in self.records]
        else:
            self.flush()
            entries = []
            for path in sorted(self.directory.glob("journal-*")):
                with open(path, encoding="utf-8") as lines:
                    entries.extend(tuple(json.loads(line)) for line in lines if line.endswith("\n"))
            entries.sort(key=lambda e: e[0])
        return entries[::-1][:limit]


def journal_routes(
    journal: Journal,
    grant: Callable[[bytes], Grant | None],
    role: Callable[[str], str | None],
) -> list[Route]:
    """``GET /requests``; ``grant`` finds a key's grant by digest, ``role`` an account's."""

    def shown(entry: Entry) -> dict[str, Any]:
        at, method, path, query, status, latency, key_digest = entry
        found = grant(bytes.fromhex(key_digest)) if key_digest else None
        account = found.account_id if found else None
        return {
            "time": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "latency_ms": latency,
            "account_id": account,
            "account": role(account) if account else None,
        }

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
        return json_response({"requests": [shown(e) for e in journal.last(int(text))]})

    return [ShapedRoute("/requests", requests, methods=["GET"])]
