"""One HAR entry as a :class:`Recorded`, and why its answer cannot be judged, if it cannot.

What tools write differs: a body may be left out (Playwright's ``omit`` and
``attach``, a browser that evicted it, HTTP Toolkit past its limit), cut short
(Firefox keeps 1 MiB of a body; ``content.size`` says how long it was), or
base64; a request that failed has status 0, one cut short Chrome's ``_error``; a
browser writes its own redirects (``307 Internal Redirect``), the 304s of its
cache and what the page's service worker answered.
None of those is the server's answer, and judging it would be a false alarm:
``Recorded.unjudged`` says why it is not judged.

A redirect the server itself sent (a 3xx with ``Location``) is its answer, and
judged as ``check`` judges it (the kit's client follows no redirect). Some tools
write a request's URL as its path alone, with a ``Host`` header or HTTP/2's
``:authority`` and ``:scheme``: the URL is rebuilt from them (:func:`_absolute`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from datetime import datetime
from typing import Any

from .har import NOT_MODIFIED, TRUNCATED, UNDECODED, Headers, Recorded, conditional

__all__ = ["headers_of", "recorded_of"]

#: Why an entry's answer is not judged (a short, fixed list: reports count each).
NO_ANSWER = "no answer: the request failed or was cancelled in the client (status 0)"
CLIENT_ERROR = "the client reports the answer did not arrive whole (_error)"
SERVICE_WORKER = "answered by the page's service worker, not by the server"
BROWSER_REDIRECT = "the browser's own redirect (Internal Redirect), not the server's answer"
NOT_ABSOLUTE = "the URL is not absolute: the request cannot be sent again"
NO_AUTHORITY = (
    "the URL is a path alone, and the entry has no Host or :authority header to say where "
    "it was sent"
)
NO_SCHEME = (
    "the URL is a path alone, and neither :scheme nor the Host's port says whether it was "
    "sent by http or https"
)
QUERY_UNCLEAR = "the URL has no query but queryString has parameters: what was sent is unclear"
NO_REQUEST_HEADERS = "the request's headers are not in the HAR: whether it sent a key is unknown"
NOT_CAPTURED = "the body is not in the HAR (not captured, or saved apart)"
CUT_SHORT = "the body in the HAR is cut short (shorter than content.size, or marked cut)"
BAD_BASE64 = "the body's base64 does not decode"
UNKNOWN_ENCODING = "content.encoding is neither base64 nor UTF-8 text"


def recorded_of(entry: Any) -> Recorded:
    """One HAR entry; ``ValueError`` when it lacks what every entry has."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise ValueError("no request or no response")
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise ValueError("no request.method or request.url")
    url, relative = _absolute(url, request.get("headers"))
    try:
        status = int(response["status"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("response.status is not a number") from None
    content = response.get("content")
    content = content if isinstance(content, dict) else {}
    body, unjudged = _body(content)
    response_headers = headers_of(response.get("headers"))
    mime = content.get("mimeType")
    if not response_headers and isinstance(mime, str) and mime not in ("", "x-unknown"):
        response_headers = (("content-type", mime),)  # the headers were not captured
    recorded = Recorded(
        started=_started(entry.get("startedDateTime")),
        method=method.upper(),
        url=url,
        request_headers=headers_of(request.get("headers")),
        status=status,
        reason=str(response.get("statusText") or ""),
        response_headers=response_headers,
        content=body,
        elapsed=max(0.0, _number(entry.get("time"))) / 1000,
        http_version=str(request.get("httpVersion") or "HTTP/1.1"),
        undecoded=undecoded if isinstance(undecoded := content.get(UNDECODED), str) else "",
    )
    why = _not_an_answer(recorded, request, response)
    unjudged = (relative if why == NOT_ABSOLUTE and relative else why) or unjudged
    return dataclasses.replace(recorded, unjudged=unjudged) if unjudged else recorded


def _not_an_answer(recorded: Recorded, request: dict[str, Any], response: dict[str, Any]) -> str:
    """Why an entry is not the server's answer to a request the kit can send again."""
    if recorded.status < 100:
        return NO_ANSWER
    if isinstance(response.get("_error"), str) and response["_error"]:
        return CLIENT_ERROR  # Chrome's, as net::ERR_INCOMPLETE_CHUNKED_ENCODING
    if response.get("_fetchedViaServiceWorker") is True:
        return SERVICE_WORKER
    internal = any(k.lower() == "non-authoritative-reason" for k, _ in recorded.response_headers)
    if internal or recorded.reason == "Internal Redirect":
        return BROWSER_REDIRECT
    if recorded.status == 304 and conditional(name for name, _ in recorded.request_headers):
        return NOT_MODIFIED
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]", recorded.url):
        return NOT_ABSOLUTE
    if "?" not in recorded.url and request.get("queryString"):
        return QUERY_UNCLEAR
    if not recorded.request_headers:
        return NO_REQUEST_HEADERS
    return ""


def _absolute(url: str, headers: Any) -> tuple[str, str]:
    """``url``, or the absolute URL a path alone stands for: with ``:scheme`` (HTTP/2's) or,
    without it, the scheme a Host's port 80 or 443 names, and ``:authority`` or ``Host``.
    And why it cannot be rebuilt, if it cannot ("": it is absolute, or was rebuilt)."""
    if not url.startswith("/") or url.startswith("//"):
        return url, ""  # absolute, or not a path: _not_an_answer says which
    named = {}
    for header in headers if isinstance(headers, list) else ():
        if isinstance(header, dict) and isinstance(name := header.get("name"), str):
            named.setdefault(name.lower(), str(header.get("value", "")).strip())
    authority = named.get(":authority") or named.get("host")
    if not authority or not re.fullmatch(r"[^/?#@\s]+", authority):
        return url, NO_AUTHORITY
    scheme = named.get(":scheme", "").lower()
    if not scheme:
        port = authority.rpartition(":")[2] if not authority.endswith("]") else ""
        scheme = {"80": "http", "443": "https"}.get(port, "")
    if scheme not in ("http", "https"):
        return url, NO_SCHEME
    return f"{scheme}://{authority}{url}", ""


def _body(content: dict[str, Any]) -> tuple[bytes, str]:
    """The body as the entry holds it, and why it is not the answer's whole body, if not."""
    text, size = content.get("text"), content.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    if not isinstance(text, str):
        return b"", "" if size == 0 else NOT_CAPTURED
    encoding = str(content.get("encoding") or "").lower()
    if encoding == "base64":
        try:
            body = base64.b64decode(text)
        except (binascii.Error, ValueError):
            return b"", BAD_BASE64
    elif encoding in ("", "utf-8", "utf8"):
        body = text.encode("utf-8", "surrogatepass")
    else:
        return b"", UNKNOWN_ENCODING
    if content.get(TRUNCATED) is True:
        return body, CUT_SHORT
    if size is not None and len(body) < size:
        return body, CUT_SHORT if body else NOT_CAPTURED
    return body, ""


def headers_of(items: Any) -> Headers:
    # HTTP/2 captures list pseudo-headers (":authority"); they are not headers.
    if not isinstance(items, list):
        return ()
    return tuple(
        (name, str(h.get("value", "")))
        for h in items
        if isinstance(h, dict) and isinstance(name := h.get("name"), str)
        if not name.startswith(":")
    )


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _started(text: Any) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        return 0.0
