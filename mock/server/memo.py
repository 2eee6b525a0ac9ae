"""One byte budget per worker for everything a request can make the server remember.

:class:`ResponseMemo` is an LRU within ``max_bytes`` (``--cache-mb``) holding
two kinds of entries:

* the encoded body of each distinct resolved query (:class:`UsageQuery` is
  frozen and hashable, and "now" is already inside it, so a body never goes
  stale for a given dataset), charged its length plus a fixed overhead;
* through :class:`FrontCache`, what a request resolved to: keyed on the
  request *as the contract reads it* -- key digest, path, and only the
  parameters the contract names (the last of a repeated scalar, every
  ``group_by`` item in order) -- so ignored parameters and parameter order
  share one entry; charged its text plus a fixed overhead;
* an alias of that entry under the request *as written* (key digest, path and
  the raw query string), so that a repeat costs one dict lookup and no parsing;
  charged the same way.

Least recently used first out, whichever kind; no other per-request state
grows with the number of distinct requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .routes import query_lists

__all__ = [
    "BODY_ENTRY_BYTES",
    "FRONT_ENTRY_BYTES",
    "FrontCache",
    "FrontEntry",
    "RawRequest",
    "Request",
    "ResponseMemo",
    "request_key",
    "request_of",
    "sent_parameters",
]

#: What a body entry costs beyond its bytes: its query (the key), the bytes
#: object's header and the LRU's node (tracemalloc: about 300 bytes).
BODY_ENTRY_BYTES = 320
#: What a front entry costs beyond its text: the key tuple, the strings' headers,
#: the entry and the LRU's node (measured with tracemalloc: about 600 bytes).
FRONT_ENTRY_BYTES = 640

#: The query parameters the contract names; every other one is ignored.
_SCALARS = ("start", "end", "granularity", "tz", "limit")
_ARRAY = "group_by"


class ResponseMemo:
    """An LRU of ``key -> value`` holding at most ``max_bytes``, by each entry's charge.

    A value larger than the whole budget is not kept. A lock makes it safe to
    share with threads, though the server uses it from its event loop only.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes charged for the entries held now."""
        return self._bytes

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, charge: int | None = None) -> None:
        """Keep ``value``, charged ``charge`` bytes (default: its length)."""
        cost = len(value) if charge is None else charge
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def discard(self, key: Hashable) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]


#: A request as the contract reads it: (key digest, path, scalars, group_by items).
Request = tuple[bytes, str, tuple[str | None, ...], tuple[str, ...]]
#: A request as written: (key digest, path, raw query string).
RawRequest = tuple[bytes, str, bytes]


@dataclass(frozen=True, slots=True)
class FrontEntry:
    """A request already answered: the query it resolved to, and until when that holds."""

    query: Hashable
    #: The wall-clock second the entry is good for; ``None``: for ever.
    second: int | None
    #: The contract's parameters the request wrote (see :func:`sent_parameters`).
    sent: frozenset[str] = frozenset()
    #: What the front cache leaves in the scope on a hit (built once, not per hit).
    resolved: Any = None


def request_key(key_digest: bytes, path: str, query_string: bytes) -> Request:
    """A request as the contract reads it: unknown parameters and their order left out.

    Decoded as starlette decodes it for connexion (:func:`.routes.query_lists`), so
    two query strings with the same key give the same parameters to the validator.
    """
    return request_of(key_digest, path, query_lists(query_string))


def request_of(key_digest: bytes, path: str, written: Mapping[str, list[str]]) -> Request:
    """:func:`request_key` of a query string already read by :func:`.routes.query_lists`."""
    # The last of a repeated scalar wins, as connexion reads it.
    known = tuple(written[name][-1] if name in written else None for name in _SCALARS)
    return (key_digest, path, known, tuple(written.get(_ARRAY, ())))


def sent_parameters(request: Request) -> frozenset[str]:
    """The names of the contract's parameters ``request`` wrote, whatever their values."""
    _, _, known, group_by = request
    sent = {name for name, value in zip(_SCALARS, known, strict=True) if value is not None}
    if group_by:
        sent.add(_ARRAY)
    return frozenset(sent)


def _charge(request: Request) -> int:
    _, path, known, group_by = request
    text = len(path) + sum(len(v) for v in known if v is not None) + sum(map(len, group_by))
    return FRONT_ENTRY_BYTES + 32 + text


def _raw_charge(raw: RawRequest) -> int:
    _, path, query_string = raw
    return FRONT_ENTRY_BYTES + 32 + len(path) + len(query_string)


class FrontCache:
    """``request_key -> FrontEntry``, and its aliases as written, in a :class:`ResponseMemo`.

    A request is looked up as written first (:meth:`get_raw`: no parsing), then
    as the contract reads it (:meth:`get`), which aliases the spelling it was
    found under.
    """

    def __init__(self, store: ResponseMemo) -> None:
        self.store = store

    def get_raw(self, raw: RawRequest, second: int) -> FrontEntry | None:
        return self._fresh(("raw", raw), second)

    def get(
        self, request: Request, second: int, raw: RawRequest | None = None
    ) -> FrontEntry | None:
        entry = self._fresh(("front", request), second)
        if entry is not None and raw is not None:
            self.store.put(("raw", raw), entry, _raw_charge(raw))
        return entry

    def put(self, request: Request, entry: FrontEntry, raw: RawRequest | None = None) -> None:
        self.store.put(("front", request), entry, _charge(request))
        if raw is not None:
            self.store.put(("raw", raw), entry, _raw_charge(raw))

    def _fresh(self, key: tuple[str, tuple[Any, ...]], second: int) -> FrontEntry | None:
        entry = self.store.get(key)
        if entry is None:
            return None
        if entry.second is not None and entry.second != second:
            self.store.discard(key)
            return None
        return entry
