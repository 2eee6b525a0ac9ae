"""What the proxy passes on of a request and of an answer: headers and bodies, RFC 9110's way.

Hop-by-hop headers (RFC 9110 7.6.1) and those a ``Connection`` header names
concern one connection only and are never forwarded, in either direction;
``Host`` is the upstream's, and ``Expect`` the proxy meets itself. For the
endpoint, ``Accept-Encoding`` keeps only the codings the judge can read, so
that a compressed answer is judged and never misread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .codings import Undone, undone
from .inflating import InflatesPast
from .upstream import Headers, UpstreamUnreadable

__all__ = ["MAX_BODY", "MAX_JUDGED", "decoded", "forwarded", "has_body", "kept", "request_body"]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

#: RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: Of a request: the upstream's Host is its own, and the body is framed anew. An
#: ``Expect: 100-continue`` the proxy has met: it forwards a request once it holds the
#: whole body (uvicorn sends the client its 100 Continue when the body is read), so the
#: upstream has nothing to wait for, and an interim 100 from it would only be skipped.
_NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"expect"}
#: Codings the judge reads a compressed answer through (:func:`decoded`).
DECODABLE = frozenset({b"gzip", b"deflate", b"identity"})
#: A request body beyond this is refused with a 413 (the contract's operation has none).
MAX_BODY = 1 << 20
#: An answer of the endpoint is read whole to be judged, up to this size, and inflated to
#: at most as much (the largest the contract allows is 500 buckets of every group: well
#: under it).
MAX_JUDGED = 32 << 20


def forwarded(raw: Headers, *, decodable: bool) -> Headers:
    """The client's headers (ASGI's: names lower-case) minus hop-by-hop ones (and those
    ``Connection`` names) and Host."""
    drop = _NOT_FORWARDED
    for name, _ in raw:
        if name == b"connection":  # rare: the headers it names are dropped too
            drop = _dropped(raw, _NOT_FORWARDED)
            break
    kept = []
    for name, v in raw:
        if name in drop:
            continue
        kept.append(
            (name, _decodable(v)) if decodable and name == b"accept-encoding" else (name, v)
        )
    return kept


def kept(headers: Headers, names: list[bytes], *, without: bytes = b"") -> Headers:
    """The upstream's headers (``names``: theirs lower-cased), lower-cased, minus hop-by-hop
    ones and ``without``."""
    if b"connection" in names:
        headers = [(name, v) for name, (_, v) in zip(names, headers, strict=True)]
        drop = _dropped(headers)
        return [(name, v) for name, v in headers if name not in drop and name != without]
    return [
        (name, v)
        for name, (_, v) in zip(names, headers, strict=True)
        if name not in HOP_BY_HOP and name != without
    ]


def _dropped(headers: Headers, dropped: frozenset[bytes] = HOP_BY_HOP) -> frozenset[bytes]:
    """``dropped`` and what a ``Connection`` header of ``headers`` (names lower-case) names."""
    named = [
        token.strip().lower() for k, v in headers if k == b"connection" for token in v.split(b",")
    ]
    return dropped.union(named) if named else dropped


def _decodable(accepted: bytes) -> bytes:
    codings = [c for c in accepted.split(b",") if c.split(b";")[0].strip().lower() in DECODABLE]
    return b",".join(codings).strip() or b"identity"


def has_body(headers: Headers) -> bool:
    """Whether a request has a body to read (RFC 9112 6.3: only with a length or a coding);
    a GET of the endpoint has none, and is forwarded without waiting on ``receive``.
    ``headers``: ASGI's, names lower-case (uvicorn lower-cases them once; so do the rest)."""
    # A loop, not any() of a generator: a frame less per request.
    for name, _ in headers:  # noqa: SIM110
        if name in _FRAMING:
            return True
    return False


_FRAMING = frozenset({b"content-length", b"transfer-encoding"})


async def request_body(receive: Receive) -> bytes | None:
    """The request's body, whole; ``None`` past :data:`MAX_BODY`."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def decoded(raw: bytes, encoding: str) -> Undone:
    """A compressed answer's body as the judge reads it: its codings undone, last first
    (:func:`.codings.undone`: as it came, and why, when one is not what it says or is one
    the proxy does not decode); :class:`UpstreamUnreadable` when one inflates past
    :data:`MAX_JUDGED` -- a few MiB of gzip are GiBs of zeros."""
    try:
        return undone(raw, encoding, MAX_JUDGED)
    except InflatesPast as exc:
        raise UpstreamUnreadable(
            f"the upstream's answer inflates to more than {MAX_JUDGED} bytes ({exc})"
        ) from None
