"""The dataset directory format: load it with validation, save it canonically.

A dataset is a directory with two files:

``accounts.json``
    A JSON array of ``{"id", "parent_id", "name", "api_keys", "agents"}``;
    ``parent_id`` is null for a top-level account, else the id of a top-level
    account of the file; ``agents`` is an array of ``{"id", "name"}``.

``conversations.jsonl``
    One conversation a line, with the vendor's record fields:
    ``conversation_id``, ``account_id`` (the owning account or subaccount),
    ``agent_id`` (null, or an agent that account declares), ``type``
    (``phone|web|test|unknown``), ``direction`` (``inbound|outbound|internal``),
    ``status`` (``in_progress|completed|failed|transferred``),
    ``start_timestamp`` (RFC 3339 *with* an offset, ``Z`` or ``±HH:MM``, up
    to nine fractional digits, floored to the microsecond: see
    :data:`._fields.FRACTION_DIGITS`) and ``duration_seconds`` (an integer, 0
    to 2**31 - 1).

Both files are UTF-8; a byte order mark at the start of either is ignored.
Every key is required in both files, so that a misspelt key is an error;
other keys are ignored, so that vendor exports with more fields load as they
are. Loading stops at the first bad record with a :class:`DatasetError` that
names the file, the line (for ``conversations.jsonl`` and for JSON syntax
errors) and the field; nothing is skipped silently.

Loading keeps the decoded columns in the columnar cache (:mod:`.cache`), and
a later load of the same files maps them instead of decoding again; saving
puts the saved columns there at once.

Saving writes canonical files: ``accounts.json`` with two-space indent and
fixed key order; ``conversations.jsonl`` in start order (ties keep their
order), fixed key order, compact, UTF-8, times in UTC written with ``Z``. So
export, edit, reload is lossless, and saving a loaded canonical dataset
gives the same bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from usagekit.mock.core.dataset import Account, Conversations, Dataset, Derived, agent_table
from usagekit.mock.core.errors import DatasetError

from . import _staging, cache
from ._accounts import accounts_identity, accounts_json, read_accounts
from ._conversations import read_conversations
from ._writer import write_conversations
from .later import Later

__all__ = ["ACCOUNTS_FILE", "CONVERSATIONS_FILE", "load_dataset", "save_dataset"]

ACCOUNTS_FILE = "accounts.json"
CONVERSATIONS_FILE = "conversations.jsonl"
_STAGING = ".usagekit-export-"


def load_dataset(
    directory: str | os.PathLike[str], *, use_cache: bool = True, later: bool = False
) -> Dataset:
    """The dataset in ``directory``; :class:`DatasetError` at the first bad record.

    ``use_cache``: map the columns an earlier load of the same files kept (see
    :mod:`.cache`), or keep them for the next; ``False`` always decodes.
    ``later``: columns decoded now are served from memory and kept only when
    the dataset's :class:`~.later.Later` store is told to (a server, once it
    answers); the scopes and rollups built until then wait with them.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DatasetError(
            path=str(folder), line=None, field=None, message="not a dataset directory"
        )
    with _both_files(folder, fcntl.LOCK_SH):  # never one file of an export and one not
        accounts = read_accounts(folder / ACCOUNTS_FILE)
        entry = _entry(folder, accounts) if use_cache else None
        conversations = None if entry is None else entry.load("conversations", Conversations)
        derived: Derived | None = entry
        if conversations is None:
            conversations = read_conversations(folder / CONVERSATIONS_FILE, accounts)
            if entry is None or not entry.current():  # changed while read: kept nowhere
                derived = None
            elif later:
                derived = Later(entry, ("conversations", conversations))
            else:
                conversations = entry.save("conversations", conversations)
    dataset = Dataset(
        accounts=accounts,
        agent_ids=agent_table(accounts),
        conversations=conversations,
        derived=derived,
    )
    if isinstance(derived, Later):
        derived.then = dataset.serve_from
    return dataset


@contextlib.contextmanager
def _both_files(folder: Path, operation: int) -> Iterator[None]:
    """A lock on the directory itself (``flock``, advisory): an export replaces its two
    files under ``LOCK_EX`` and a load reads them under ``LOCK_SH``, so a load sees
    both files of one export. Where the directory cannot be locked, it is not."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # and with it the lock


def _entry(folder: Path, accounts: tuple[Account, ...]) -> cache.Entry | None:
    root = cache.cache_root()
    if root is None:  # no cache: no name for an entry to compute
        return None
    return cache.entry_for(folder, accounts_identity(accounts), folder / CONVERSATIONS_FILE, root)


def _prime(folder: Path, dataset: Dataset) -> None:
    """Keep the saved columns in the cache, exactly as a load of the new files would."""
    rows = dataset.conversations
    if len(rows) and np.any(rows.start[1:] < rows.start[:-1]):
        return  # a load would sort them: leave it to the load
    entry = _entry(folder, dataset.accounts)
    if entry is not None and len(rows):
        width = int(np.char.str_len(rows.ids).max())  # a load's id column is as wide as its longest
        entry.save("conversations", rows if rows.ids.itemsize == width else _narrowed(rows, width))


def _narrowed(rows: Conversations, width: int) -> Conversations:
    fields = {name: getattr(rows, name) for name in Conversations.__dataclass_fields__}
    return Conversations(**(fields | {"ids": rows.ids.astype(f"S{width}")}))


def save_dataset(dataset: Dataset, directory: str | os.PathLike[str]) -> None:
    """Write ``dataset`` into ``directory`` (created if missing) in the canonical form.

    Both files are written into a temporary directory first -- beside
    ``directory`` when it does not exist yet, inside it when it does, so on the
    same file system either way -- and swapped in only once both are complete
    and synced: a failure (a full disk, a signal) leaves the previous dataset
    as it was and no temporary file behind; a kill, which no code outlives,
    leaves the staging directory, which the next export there removes. A new
    directory appears whole with one rename; an existing one gets its two
    files replaced by two renames (other files in it are left alone), under a
    lock that keeps every load of this package from reading between them.
    """
    folder = Path(directory)
    fresh = not folder.exists()
    staging_parent = folder.parent if fresh else folder
    staging_parent.mkdir(parents=True, exist_ok=True)
    _staging.sweep(staging_parent, _STAGING)  # left by an export that was killed
    staging = _staging.make(staging_parent, _STAGING)
    try:
        _write_synced(staging / ACCOUNTS_FILE, accounts_json(dataset.accounts).encode("utf-8"))
        write_conversations(staging / CONVERSATIONS_FILE, dataset.accounts, dataset.conversations)
        if fresh:
            staging.rename(folder)
        else:
            with _both_files(folder, fcntl.LOCK_EX):  # while no load reads them
                os.replace(staging / CONVERSATIONS_FILE, folder / CONVERSATIONS_FILE)
                os.replace(staging / ACCOUNTS_FILE, folder / ACCOUNTS_FILE)
            staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prime(folder, dataset)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
