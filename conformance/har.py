"""HTTP Archive (HAR 1.2) files: written one exchange at a time, read from anywhere.

:class:`HarWriter` keeps the file a complete HAR document after every entry:
it writes the entry and the closing ``]}}`` behind it, and the next entry
starts where that tail began. A process killed at any moment leaves every
finished exchange readable; only the one being written can be lost. Secrets
never reach the disk: ``X-API-Key``, the other credential headers and the
cookies, sent or set by the answer (a session token), are written as ``[redacted]``.

An answer the proxy recorded only the first bytes of (a streamed one, past
:data:`~.proxy.MAX_RECORDED`) is marked cut, the HAR 1.2 way: ``content.comment``
says so, the custom field ``content._truncated`` is ``true``, ``bodySize`` is
the bytes the answer had. A body recorded as it came though its Content-Encoding names
a coding (not that coding, or ``br``) says so in ``content.comment`` and says why in
``content._undecoded``: HAR's ``text`` is otherwise the decoded body. :mod:`.harfile`
reads HARs, this writer's and any other.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from usagekit.mock.wire import field_value

__all__ = [
    "NOT_MODIFIED",
    "REDACTED",
    "TRUNCATED",
    "UNDECODED",
    "HarWriter",
    "Recorded",
    "conditional",
    "query_params",
]

REDACTED = "[redacted]"
#: Headers written as REDACTED, of the request or of the answer.
SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)
Headers = tuple[tuple[str, str], ...]
#: The custom field (HAR 1.2: a leading underscore) of ``content`` that marks a cut body.
TRUNCATED = "_truncated"
#: The custom field of ``content`` that says why a body is as it came though its
#: Content-Encoding names a coding (not that coding, or one the proxy does not decode):
#: HAR 1.2's ``text`` is the decoded body, and this one is not.
UNDECODED = "_undecoded"
#: Why a 304 to a conditional request is not judged (proxy and replay alike).
NOT_MODIFIED = "304 Not Modified to a conditional request: the answer is the client's cached copy"
#: The request headers that make a GET conditional on the client's cached copy (RFC 9110
#: 13.1.2, 13.1.3): only such a request may be answered 304 (15.4.5).
_CONDITIONAL = frozenset({"if-none-match", "if-modified-since"})


def conditional(names: Iterable[str]) -> bool:
    """Whether a request with headers ``names`` asked to be answered 304 if its copy is fresh.

    A 304 to it has no body for the rules to judge, and is right whenever the client's
    copy was (which the kit cannot know); a 304 to any other request is judged, and wrong.
    """
    return any(name.lower() in _CONDITIONAL for name in names)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """One exchange as a HAR entry holds it (request headers as sent, secrets redacted)."""

    started: float  # seconds since the epoch
    method: str
    url: str
    request_headers: Headers
    status: int
    reason: str
    response_headers: Headers
    content: bytes  # decoded body
    elapsed: float  # seconds
    http_version: str = "HTTP/1.1"
    #: The bytes the answer's body had when ``content`` holds only its first ones
    #: (the recorder's limit); ``None``: ``content`` is the whole body.
    cut_from: int | None = None
    #: Why ``content`` is the body as it came, not decoded (``codings.undone``); "": decoded.
    undecoded: str = ""
    #: Why this answer cannot be judged (a body the HAR does not hold whole, say); "": it can.
    unjudged: str = ""

    @property
    def params(self) -> tuple[tuple[str, str], ...]:
        return query_params(urlsplit(self.url).query)

    def header(self, name: str) -> str | None:
        """The first request header called ``name`` (any case)."""
        name = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == name), None)

    def values(self, name: str) -> list[str]:
        """Every request header called ``name`` (any case), in order."""
        name = name.lower()
        return [v for k, v in self.request_headers if k.lower() == name]


def query_params(query: str) -> tuple[tuple[str, str], ...]:
    """A recorded URL's query as the kit's exchanges hold it: every pair, blank values too."""
    if "%" in query or "+" in query:
        return tuple(parse_qsl(query, keep_blank_values=True))
    # Nothing to decode: parse_qsl's own split, without its per-pair unquoting (most of
    # the cost of a proxied request's exchange; tests/test_har.py holds the two alike).
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((name, value))
    return tuple(pairs)


class HarWriter:
    """Appends entries to a HAR file that stays valid after each one."""

    _TAIL = b"\n]}}\n"

    def __init__(self, path: Path, creator: str, version: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = path.open("wb")
        head = {"version": "1.2", "creator": {"name": creator, "version": version}, "pages": []}
        opening = json.dumps({"log": head})[:-2] + ', "entries": ['
        self._file.write(opening.encode())
        self._end = self._file.tell()
        self._file.write(self._TAIL)
        self._file.flush()

    def add(self, recorded: Recorded) -> None:
        line = json.dumps(_entry(recorded), ensure_ascii=False).encode()
        with self._lock:
            if self._file.closed:
                return
            self._file.seek(self._end)
            self._file.write((b",\n" if self._count else b"\n") + line)
            self._end = self._file.tell()
            self._file.write(self._TAIL)
            self._file.flush()
            self._count += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _entry(r: Recorded) -> dict[str, Any]:
    split = urlsplit(r.url)
    text, encoding = _text(r.content)
    mime = next((v for k, v in r.response_headers if k.lower() == "content-type"), "")
    content: dict[str, Any] = {"size": len(r.content), "mimeType": mime, "text": text}
    if encoding:
        content["encoding"] = encoding
    if r.cut_from is not None:
        content["comment"] = (
            f"cut at the recorder's limit: the first {len(r.content)} bytes of a body "
            f"of {r.cut_from} bytes as sent"
        )
        content[TRUNCATED] = True
    if r.undecoded:
        said = f"the body as it came, not decoded: {r.undecoded}"
        content["comment"] = f"{content['comment']}; {said}" if "comment" in content else said
        content[UNDECODED] = r.undecoded
    millis = round(r.elapsed * 1000, 3)
    return {
        "startedDateTime": datetime.fromtimestamp(r.started, UTC).isoformat(
            timespec="milliseconds"
        ),
        "time": millis,
        "request": {
            "method": r.method,
            "url": r.url,
            "httpVersion": r.http_version,
            "cookies": [],
            "headers": _pairs(_redact(r.request_headers)),
            "queryString": _pairs(parse_qsl(split.query, keep_blank_values=True)),
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": r.status,
            "statusText": r.reason,
            "httpVersion": r.http_version,
            "cookies": [],
            "headers": _pairs(_redact(r.response_headers)),
            "content": content,
            "redirectURL": next((v for k, v in r.response_headers if k.lower() == "location"), ""),
            "headersSize": -1,
            "bodySize": len(r.content) if r.cut_from is None else r.cut_from,
        },
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
    }


def _redact(headers: Headers) -> Headers:
    # An empty value is no secret, and replay judges it as sent: a key missing its value.
    return tuple(
        (k, REDACTED if k.lower() in SECRET_HEADERS and field_value(v) else v) for k, v in headers
    )


def _pairs(items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in items]


def _text(content: bytes) -> tuple[str, str | None]:
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(content).decode("ascii"), "base64"
