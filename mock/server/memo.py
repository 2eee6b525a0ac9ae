"""Bounded memory of encoded answers.

:class:`ResponseMemo` keeps the encoded body of each distinct resolved query
(:class:`UsageQuery` is frozen and hashable, and "now" is already inside it,
so a body never goes stale for a given dataset), least recently used first
out, within a byte budget. :class:`FrontCache` maps a request as written
(key digest, path, query string) to the query it resolved to, so a repeated
request can skip parsing and validation; it holds no bodies of its own, so the
byte budget is the memo's alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["FrontCache", "FrontEntry", "ResponseMemo"]


class ResponseMemo:
    """An LRU of ``query -> body`` holding at most ``max_bytes`` of bodies.

    A body larger than the whole budget is not kept. A lock makes it safe to
    share with threads, though the server uses it from its event loop only.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._bodies)

    @property
    def size(self) -> int:
        """Bytes of bodies held now."""
        return self._bytes

    def get(self, query: Hashable) -> bytes | None:
        with self._lock:
            body = self._bodies.get(query)
            if body is not None:
                self._bodies.move_to_end(query)
            return body

    def put(self, query: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._bodies.pop(query, None)
            if old is not None:
                self._bytes -= len(old)
            self._bodies[query] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, evicted = self._bodies.popitem(last=False)
                self._bytes -= len(evicted)


@dataclass(frozen=True, slots=True)
class FrontEntry:
    """A request already answered: the query it resolved to, and until when that holds."""

    query: Hashable
    #: The wall-clock second the entry is good for; ``None``: for ever.
    second: int | None


class FrontCache:
    """An LRU of ``(key digest, path, query string) -> FrontEntry``, bounded by count."""

    def __init__(self, max_entries: int = 65_536) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, FrontEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, request: Hashable, second: int) -> FrontEntry | None:
        with self._lock:
            entry = self._entries.get(request)
            if entry is None:
                return None
            if entry.second is not None and entry.second != second:
                del self._entries[request]
                return None
            self._entries.move_to_end(request)
            return entry

    def put(self, request: Hashable, entry: FrontEntry) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[request] = entry
            self._entries.move_to_end(request)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
