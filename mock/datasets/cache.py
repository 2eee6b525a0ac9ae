"""The columnar cache: ``conversations.jsonl`` decoded once, memory-mapped by every later load.

Decoding a million JSONL lines takes seconds. The first load of a dataset
directory writes the columns it decoded into the user's cache directory as
``.npy`` files; every later load maps them (``numpy.load(mmap_mode="r")``),
which takes milliseconds, and every process that maps them -- the workers of
one server, several servers -- shares their pages through the page cache
instead of holding a copy each. What the aggregator derives from the columns
(each account's scope, each rollup) is kept there too, by whichever process
builds it first (:class:`Entry` is the core's :class:`Derived` store).

Never stale: an entry is named by what it was decoded from -- accounts.json as
parsed, conversations.jsonl's device, inode, size, mtime and ctime (ns) and
its first and last 64 KiB -- and by what decoded it: :data:`FORMAT` and the
source of every module of the core and of the datasets, so an edit, a copy or
another usagekit is a new entry. A file that changes while it is decoded
is served as read and not cached.

Never wrong: each array's CRC-32, dtype and shape are in its item's manifest
and are checked before the item is used; a truncated, corrupt or half-written
item is removed and built again. Items are written into a temporary directory
and renamed into place, so a reader sees a whole item or none; one left by a
writer that was killed is removed by the next writer there (:mod:`._staging`).

Bounded and out of the way: one entry per dataset directory (a new one removes
the older ones), for the :data:`MAX_DIRECTORIES` directories used last, only
for files of at least :data:`MIN_BYTES`, under
``$USAGEKIT_CACHE_DIR`` (``off`` disables it), else ``$XDG_CACHE_HOME/usagekit``
or ``~/.cache/usagekit`` -- never inside the data directory, so ``--watch``
never sees it. Any OS error of the cache only costs speed: the load decodes
and serves from memory as it would without a cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import shutil
import stat
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

import usagekit.mock.core

from . import _staging

__all__ = ["CACHE_ENV", "FORMAT", "MIN_BYTES", "Entry", "cache_root", "entry_for"]

T = TypeVar("T")

#: The environment variable naming the cache directory (``off`` or empty: no cache).
CACHE_ENV = "USAGEKIT_CACHE_DIR"
#: Bumped whenever what a load accepts or the arrays it produces change.
FORMAT = 1
#: Smaller conversation files decode faster than a cache entry is written.
MIN_BYTES = 2**20
#: Dataset directories kept; a new one removes the least recently loaded beyond.
MAX_DIRECTORIES = 4
#: Bytes hashed at each end of ``conversations.jsonl`` (besides its stat identity).
EDGE_BYTES = 64 * 1024
_MANIFEST = "manifest.json"
_STAGING = ".staging-"
_LOCK_FLAGS = os.O_CREAT | os.O_RDWR | os.O_CLOEXEC
_CHUNK = 2**20
#: A field the core marks as a link to the store itself, never stored.
_NOT_KEPT = "derived"
_Broken = (OSError, ValueError, KeyError, TypeError)


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache directory the environment names, or ``None`` when caching is off."""
    named = environ.get(CACHE_ENV)
    if named is not None:
        return None if named.strip() in ("", "off") else Path(named)
    base = environ.get("XDG_CACHE_HOME") or environ.get("HOME")
    if not base:
        return None
    return Path(base) / ("usagekit" if environ.get("XDG_CACHE_HOME") else ".cache/usagekit")


def entry_for(
    folder: Path, accounts_text: str, conversations: Path, root: Path | None
) -> Entry | None:
    """The cache entry of this dataset version; ``None`` when no cache applies."""
    if root is None:
        return None
    try:
        stamp = _stamp(conversations)
        if stamp is None:
            return None
        place = root / _digest(os.path.realpath(folder))
        version = _digest(str(FORMAT), _code(), accounts_text, stamp)
    except OSError:
        return None
    return Entry(place, version, conversations, stamp)


def _stamp(path: Path) -> str | None:
    """What identifies the file's content, or ``None`` for a file too small to cache."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size < MIN_BYTES:
        return None
    edges = hashlib.sha256()
    with path.open("rb") as stream:
        edges.update(stream.read(EDGE_BYTES))
        stream.seek(max(info.st_size - EDGE_BYTES, 0))
        edges.update(stream.read(EDGE_BYTES))
    fields = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return f"{fields} {edges.hexdigest()}"


@functools.cache
def _code() -> str:
    """The source of what decodes a file and derives scopes and rollups from it."""
    code = hashlib.sha256()
    for folder in (Path(usagekit.mock.core.__file__).parent, Path(__file__).parent):
        for path in sorted(folder.glob("*.py")):
            code.update(path.name.encode() + b"\0" + path.read_bytes())
    return code.hexdigest()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


class Entry:
    """One dataset version's directory of items, each a frozen dataclass of arrays."""

    def __init__(self, place: Path, version: str, source: Path, stamp: str) -> None:
        self.place = place
        self.directory = place / version
        self.source = source
        self.stamp = stamp

    def current(self) -> bool:
        """Whether the source file is still the one this entry is named for."""
        try:
            return _stamp(self.source) == self.stamp
        except OSError:
            return False

    def keep(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        """The item ``name`` as kept; else ``build()``'s, kept and mapped.

        One process at a time builds an item: the workers of a server that all
        want the same rollup at once build it once, and the others map it.
        """
        found = self.load(name, kind)
        if found is not None:
            return found
        with self._building(name):
            found = self.load(name, kind)  # kept by another while this one waited
            return found if found is not None else self.save(name, build())

    def load(self, name: str, kind: type[T]) -> T | None:
        """The item ``name`` with its arrays mapped, or ``None`` when absent or broken."""
        folder = self._folder(name)
        try:
            manifest = json.loads((folder / _MANIFEST).read_bytes())
            os.utime(self.place)  # recently used: the last to go (see _open)
        except FileNotFoundError:
            return None
        except _Broken:
            shutil.rmtree(folder, ignore_errors=True)
            return None
        try:
            if manifest["format"] != FORMAT or manifest["name"] != name:
                raise ValueError(f"{folder}: another item")
            if manifest["kind"] != kind.__name__:
                raise ValueError(f"{folder}: not a {kind.__name__}")
            return kind(**{key: _read(folder, spec) for key, spec in manifest["fields"].items()})
        except _Broken:
            shutil.rmtree(folder, ignore_errors=True)  # built again by the caller
            return None

    def save(self, name: str, value: T) -> T:
        """Keep ``value`` as ``name``; its mapped copy, or ``value`` itself if it cannot be kept."""
        self.put(name, value)
        found = self.load(name, type(value))  # also when another kept it first
        return value if found is None else found

    def put(self, name: str, value: Any) -> None:
        """Write ``value`` as ``name``, unless it cannot be kept (a full disk, another first)."""
        try:
            self._open()
            _staging.sweep(self.directory, _STAGING)
            staging = _staging.make(self.directory, _STAGING)
        except OSError:
            return
        try:
            _write(staging, name, value)
            os.rename(staging, self._folder(name))
        except (OSError, TypeError, ValueError):
            shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def _building(self, name: str) -> Iterator[None]:
        try:
            self._open()
            lock = os.open(self.directory / f".lock-{self._folder(name).name}", _LOCK_FLAGS, 0o600)
        except OSError:  # an older version, or no cache to write: build without a lock
            yield
            return
        try:
            # Released by the kernel, too, when a process dies holding it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def _folder(self, name: str) -> Path:
        return self.directory / f"{name.split()[0]}-{_digest(name)}"

    def _open(self) -> None:
        """Create this version's directory; the first to do so removes the older versions."""
        if self.directory.is_dir():
            return
        if not self.current():
            # A process still serving an older version never takes the place back.
            raise FileNotFoundError(f"{self.source} has changed since it was read")
        self.place.mkdir(parents=True, exist_ok=True)
        try:
            self.directory.mkdir()
        except FileExistsError:
            return
        # A process still serving what is removed here keeps its mapped pages;
        # what it builds from then on stays in its own memory.
        for other in self.place.iterdir():
            if other != self.directory:
                shutil.rmtree(other, ignore_errors=True)
        places = sorted(self.place.parent.iterdir(), key=_last_used, reverse=True)
        for other in [p for p in places if p != self.place][MAX_DIRECTORIES - 1 :]:
            shutil.rmtree(other, ignore_errors=True)


def _last_used(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _write(folder: Path, name: str, value: Any) -> None:
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        if field.name == _NOT_KEPT:
            continue
        content = getattr(value, field.name)
        if isinstance(content, np.ndarray):
            path = folder / f"{field.name}.npy"
            np.save(path, np.ascontiguousarray(content), allow_pickle=False)
            fields[field.name] = {
                "npy": path.name,
                "dtype": content.dtype.str,
                "shape": list(content.shape),
                "crc32": _crc(path),
            }
        else:
            fields[field.name] = {"value": content}
    manifest = {"format": FORMAT, "name": name, "kind": type(value).__name__, "fields": fields}
    (folder / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _read(folder: Path, spec: dict[str, Any]) -> Any:
    if "value" in spec:
        return _tuples(spec["value"])
    path = folder / spec["npy"]
    if _crc(path) != spec["crc32"]:
        raise ValueError(f"{path}: checksum mismatch")
    mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    if mapped.dtype.str != spec["dtype"] or list(mapped.shape) != spec["shape"]:
        raise ValueError(f"{path}: not the array the manifest names")
    return np.asarray(mapped)  # a plain read-only view; the map lives as long as it


def _crc(path: Path) -> int:
    """CRC-32 of the file, read (not mapped: a check must not make its pages resident)."""
    crc = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _tuples(value: Any) -> Any:
    """JSON's lists back into the tuples the records hold."""
    return tuple(map(_tuples, value)) if isinstance(value, list) else value
