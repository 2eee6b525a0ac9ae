"""An exchange the kit did not send -- a HAR entry, or one the proxy forwarded -- as the
kit's :class:`Exchange`: the endpoint found in the URL under any prefix the server is
mounted at, the account from its path, and a key sent judged as ``KeyRole.TRAFFIC``
(the kit knows nobody's key here). Its curl sends the URL as it was sent, byte for byte
(prefix and query as the client wrote them), not one rebuilt from the parameters read."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from usagekit.mock.core.instants import US
from usagekit.mock.spec import OPERATION_PATH
from usagekit.mock.wire import field_value

from .exchange import Exchange, KeyRole
from .har import Recorded, query_params

__all__ = ["OPERATION", "exchange_at", "exchange_of", "key_sent", "split_url"]

#: The endpoint's path at the end of a URL's path: a server may mount it under a prefix.
OPERATION = re.compile(re.escape(OPERATION_PATH).replace(r"\{account_id\}", "[^/]+") + "$")


#: A URL of printable ASCII without spaces or brackets, split as urlsplit splits it: its own
#: work (stripping, dropping tabs and newlines, checking an IPv6 host) has nothing to do
#: on such a URL, and it was a third of making an exchange of one the proxy forwarded.
_PLAIN_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([!-~]*?)([/?#][!-~]*)?")


def split_url(url: str) -> tuple[str, str, str, str]:
    """``urlsplit(url)``'s scheme, netloc, path and query."""
    plain = _PLAIN_URL.fullmatch(url) if url.isascii() else None
    if plain is None or "[" in url or "]" in url:
        split = urlsplit(url)
        return split.scheme, split.netloc, split.path, split.query
    scheme, netloc, rest = plain.groups()
    rest, _, _ = (rest or "").partition("#")
    path, _, query = rest.partition("?")
    return scheme.lower(), netloc, path, query


def exchange_of(recorded: Recorded, base_url: str | None = None) -> Exchange:
    """A recorded exchange as the kit's :class:`Exchange`; ``base_url`` defaults to its origin
    (the curl sends ``recorded.url`` all the same: the proxy's is its upstream's)."""
    return exchange_at(
        recorded.method,
        recorded.url,
        key=key_sent(*recorded.values("x-api-key")),
        sent_headers=recorded.request_headers,
        status=recorded.status,
        headers={k.lower(): v for k, v in recorded.response_headers},
        content=recorded.content,
        elapsed=recorded.elapsed,
        base_url=base_url,
        # A recorded time: the server's clock then decided what "now" was (0: unknown).
        sent_at=round(recorded.started * US) if recorded.started > 0 else None,
        undecoded=recorded.undecoded,
    )


def key_sent(*values: str | bytes) -> KeyRole:
    """How a request's ``X-API-Key`` lines are judged: a key (whose, the kit cannot know),
    one sent empty or blank (no key: the contract's 401), none, or several lines (each
    reading a server may make of them passes). The proxy reads a value as bytes, a HAR as
    text: both read as the mock reads a key, without the optional whitespace around it
    (:func:`~usagekit.mock.wire.field_value`, RFC 9110 5.5)."""
    if not values:
        return KeyRole.NONE
    if len(values) > 1:
        return KeyRole.REPEATED
    return KeyRole.TRAFFIC if field_value(values[0]) else KeyRole.INVALID


def exchange_at(
    method: str,
    url: str,
    *,
    key: KeyRole,
    sent_headers: Iterable[tuple[str | bytes, str | bytes]] = (),
    status: int,
    headers: dict[str, str],
    content: bytes,
    elapsed: float,
    base_url: str | None = None,
    sent_at: int | None = None,
    undecoded: str = "",
) -> Exchange:
    """:func:`exchange_of` from its parts (``headers``: the answer's, names lower-case;
    ``sent_headers``: the request's, as the upstream got them),
    for the proxy, which judges an answer it records only with ``--record``."""
    scheme, netloc, path, query = split_url(url)
    match = OPERATION.search(path)
    prefix = path[: match.start()] if match else ""
    path = path[len(prefix) :]
    origin = base_url.rstrip("/") if base_url else f"{scheme}://{netloc}{prefix}"
    account = path.split("/")[3] if match else ""
    if "%" in account:  # the account as the server reads it: an id sent escaped is the id
        account = unquote(account)
    return Exchange(
        method=method,
        base_url=origin,
        path=path,
        account=account,
        params=query_params(query),  # Recorded.params, from the URL split above
        key=key,
        key_text="" if key is KeyRole.INVALID else None,  # its curl sends `X-API-Key;`
        status=status,
        headers=headers,
        content=content,
        elapsed=elapsed,
        # What went out: re-encoding the parameters read would send `%ZZ` as `%25ZZ`,
        # `%20` as `+`, and drop a prefix in front of the endpoint's path.
        sent_url=url.partition("#")[0] if "#" in url else url,
        sent_at=sent_at,
        sent_headers=sent_headers,
        undecoded=undecoded,
    )
