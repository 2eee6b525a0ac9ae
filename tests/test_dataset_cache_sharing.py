"""The columnar cache shared: by processes and threads, across versions, kept within bounds."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from cache_support import (
    NOW,
    SIZE,
    assert_same,
    data,
    decoded,
    exported,
    items,
    mapped,
    no_decoding,
    root,
)
from click.testing import CliRunner

from usagekit.cli.main import main as cli
from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import _conversations, cache, files, synthetic
from usagekit.mock.server.watch import POLL_SECONDS, Watcher, signature

__all__ = ["data", "exported", "root"]  # fixtures, used by name


def test_scopes_and_rollups_are_kept_once_for_every_process(data, root):
    query = resolve_query(
        RawQuery(start="2024-01-01T00:00:00Z", granularity="month", group_by=("agent",)),
        account_id=synthetic.DEMO_ACCOUNT_ID,
        now=NOW,
    )
    expected = Aggregator(decoded(data))(query).to_json()
    assert Aggregator(files.load_dataset(data))(query).to_json() == expected
    assert items(root, "scope")
    assert items(root, "rollup")
    later = files.load_dataset(data)
    assert Aggregator(later)(query).to_json() == expected
    scope = later.scope(synthetic.DEMO_ACCOUNT_ID)
    assert mapped(scope.start)
    assert scope.derived is later.derived


def test_save_primes_the_cache_with_what_a_load_decodes(tmp_path, root, monkeypatch):
    folder = tmp_path / "fresh"
    files.save_dataset(synthetic.generate(seed=5, now=NOW, size=SIZE), folder)
    expected = decoded(folder)
    no_decoding(monkeypatch)
    assert_same(files.load_dataset(folder), expected)


def test_off_small_or_unwritable_means_decoding(data, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.cache_root() is None
    assert_same(files.load_dataset(data), decoded(data))
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocked))
    loaded = files.load_dataset(data)
    assert_same(loaded, decoded(data))
    assert not mapped(loaded.conversations.start)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "MIN_BYTES", (data / files.CONVERSATIONS_FILE).stat().st_size + 1)
    files.load_dataset(data)
    assert not (tmp_path / "cache").exists()


def test_a_file_that_changes_while_it_is_read_is_not_kept(data, root, monkeypatch):
    read = _conversations.read_conversations

    def read_then_touch(path, accounts):
        columns = read(path, accounts)
        os.utime(path, ns=(0, 0))
        return columns

    monkeypatch.setattr(files, "read_conversations", read_then_touch)
    loaded = files.load_dataset(data)
    assert loaded.derived is None
    assert not items(root, "conversations")


def test_only_the_directories_loaded_last_are_kept(exported, tmp_path, root):
    folders = []
    for n in range(cache.MAX_DIRECTORIES + 2):
        folder = tmp_path / f"copy-{n}"
        folder.mkdir()
        for name in (files.ACCOUNTS_FILE, files.CONVERSATIONS_FILE):
            (folder / name).write_bytes((exported / name).read_bytes())
        files.load_dataset(folder)
        folders.append(folder)
        if n == 0:
            first = next(root.iterdir())
        else:
            files.load_dataset(folders[0])  # used again: kept
    assert len(list(root.iterdir())) == cache.MAX_DIRECTORIES
    assert first.exists()


def test_a_process_on_an_older_version_keeps_its_rollups_in_memory(data, root):
    old = files.load_dataset(data)
    path = data / files.CONVERSATIONS_FILE
    path.write_bytes(path.read_bytes().replace(b'"web"', b'"test"', 1))
    new = files.load_dataset(data)
    scope = old.scope(synthetic.DEMO_ACCOUNT_ID)  # built now, for data no longer on disk
    assert not mapped(scope.start)
    assert [p.name for p in root.glob("*/*")] == [new.derived.directory.name]
    assert mapped(new.scope(synthetic.DEMO_ACCOUNT_ID).start)


def test_another_usagekit_decodes_again(data, root, monkeypatch):
    files.load_dataset(data)
    (before,) = root.glob("*/*")
    monkeypatch.setattr(cache, "_code", lambda: "the source of another version")
    reads = []
    read = files.read_conversations
    monkeypatch.setattr(files, "read_conversations", lambda *a: reads.append(a) or read(*a))
    assert_same(files.load_dataset(data), decoded(data))
    assert len(reads) == 2  # the load and decoded()
    (after,) = root.glob("*/*")
    assert after != before


def test_dataset_validate_fills_the_cache(data, root, monkeypatch):
    done = CliRunner().invoke(cli, ["dataset", "validate", str(data)])
    assert done.exit_code == 0, done.output
    expected = decoded(data)
    no_decoding(monkeypatch)
    assert_same(files.load_dataset(data), expected)


@dataclass(frozen=True)
class Item:
    values: np.ndarray
    label: str


def test_an_item_wanted_by_two_at_once_is_built_once(data, root):
    entries = [files.load_dataset(data).derived for _ in range(2)]
    built = []

    def build() -> Item:
        built.append(threading.get_ident())
        time.sleep(0.3)  # the other asks meanwhile
        return Item(values=np.arange(5), label="x")

    with ThreadPoolExecutor(2) as pool:
        items_ = list(pool.map(lambda entry: entry.keep("rollup once", Item, build), entries))
    assert len(built) == 1
    for item in items_:
        assert mapped(item.values)
        assert item.label == "x"
        assert np.array_equal(item.values, np.arange(5))


def test_watch_reloads_an_edit_through_the_cache_once(data, root):
    files.load_dataset(data)
    loaded = []
    watcher = Watcher(str(data), loaded.append, seen=signature(data))
    watcher.start()
    try:
        path = data / files.CONVERSATIONS_FILE
        path.write_bytes(
            path.read_bytes().replace(b'"duration_seconds":1', b'"duration_seconds":2')
        )
        deadline = time.monotonic() + 20
        while watcher.state.reloads < 1 and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS / 2)
        time.sleep(4 * POLL_SECONDS)  # the cache the reload wrote is no change to watch
        assert watcher.state.reloads == 1, watcher.state
    finally:
        watcher.stop()
    assert_same(loaded[0], decoded(data))
    assert mapped(loaded[0].conversations.start)
