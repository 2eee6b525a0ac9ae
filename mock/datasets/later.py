"""A first load's cache entry written once the server is up, not before.

Writing the decoded columns (and the scopes a forking server builds) into the
columnar cache takes a few tenths of a second on a million conversations,
and the first start would wait for it. :class:`Later` is the dataset's
:class:`~usagekit.mock.core.dataset.Derived` store for such a load: what this
process builds is kept in memory and written by :meth:`Later.keep_now`, which
the server calls when it answers (see ``mock/server/run.py``); from then on,
and at once in any process forked from this one, items are kept as usual by
the :class:`~.cache.Entry`; the dataset then reads the columns mapped from
the cache, as a later load would, and the decoded copy is freed. A load that
finds the entry written maps it as before; each item is written into a
staging directory and renamed into place, so a server stopped while writing
leaves no half-written item.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .cache import Entry

__all__ = ["Later"]

T = TypeVar("T")


class Later:
    """An :class:`Entry` whose writes from this process wait for :meth:`keep_now`."""

    def __init__(self, entry: Entry, first: tuple[str, Any]) -> None:
        """``first``: the item decoded by the load, written first."""
        self.entry = entry
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Any]] | None = [first]
        #: Called with the kept (mapped) copy of ``first`` once it is written: the
        #: dataset reads it from then on, and the decoded copy can be freed.
        self.then: Callable[[Any], None] | None = None

    def keep(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        """As :meth:`Entry.keep`; in this process before :meth:`keep_now`, kept in memory."""
        if self._pending is None or os.getpid() != self._owner:
            return self.entry.keep(name, kind, build)
        found = self.entry.load(name, kind)
        if found is not None:
            return found
        value = build()
        with self._lock:
            if self._pending is not None:
                self._pending.append((name, value))
                return value
        self.entry.put(name, value)  # keep_now ran while it was built
        return value

    def keep_now(self) -> None:
        """Write every item waiting, in the order built; later items are written at once."""
        with self._lock:
            waiting, self._pending = self._pending or [], None
        for name, value in waiting:
            self.entry.put(name, value)
        if waiting and self.then is not None:
            name, value = waiting[0]
            kept = self.entry.load(name, type(value))
            if kept is not None:
                self.then(kept)
