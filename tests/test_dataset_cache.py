"""The columnar cache: a dataset decoded once is mapped by later loads, never stale, never wrong."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from usagekit.cli.main import main as cli
from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import parse_instant
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import _conversations, cache, files, synthetic
from usagekit.mock.server.watch import POLL_SECONDS, Watcher, signature

NOW = parse_instant("2025-01-15T00:00:00Z")
#: Enough conversations for a file past cache.MIN_BYTES.
SIZE = 6000
COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exported") / "data"
    previous = os.environ.get(cache.CACHE_ENV)
    os.environ[cache.CACHE_ENV] = "off"  # the tests decide when the cache is primed
    try:
        files.save_dataset(synthetic.generate(seed=3, now=NOW, size=SIZE), folder)
    finally:
        os.environ[cache.CACHE_ENV] = previous or ""
    assert (folder / files.CONVERSATIONS_FILE).stat().st_size > cache.MIN_BYTES
    return folder


@pytest.fixture
def data(exported: Path, tmp_path: Path) -> Path:
    """A fresh copy of the exported files (a test may edit them)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in (files.ACCOUNTS_FILE, files.CONVERSATIONS_FILE):
        (folder / name).write_bytes((exported / name).read_bytes())
    return folder


def decoded(folder: Path) -> Dataset:
    return files.load_dataset(folder, use_cache=False)


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.accounts == b.accounts
    for name in COLUMNS:
        left, right = getattr(a.conversations, name), getattr(b.conversations, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name


def mapped(array: np.ndarray) -> bool:
    return isinstance(array.base, np.memmap)


def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("decoded conversations.jsonl although the cache holds it")

    monkeypatch.setattr(files, "read_conversations", refuse)


def items(root: Path, prefix: str) -> list[Path]:
    return sorted(root.glob(f"*/*/{prefix}-*"))


def test_a_second_load_maps_what_the_first_decoded(data, root, monkeypatch):
    expected = decoded(data)
    first = files.load_dataset(data)
    assert len(items(root, "conversations")) == 1
    no_decoding(monkeypatch)
    second = files.load_dataset(data)
    assert_same(second, expected)
    assert all(mapped(getattr(second.conversations, name)) for name in COLUMNS)
    assert_same(first, second)


def test_the_cache_lives_outside_the_data_directory_so_watch_sees_no_change(data, root):
    before = signature(data)
    files.load_dataset(data)
    files.load_dataset(data).scope(synthetic.DEMO_ACCOUNT_ID)
    assert signature(data) == before
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [files.ACCOUNTS_FILE, files.CONVERSATIONS_FILE]
    )


def test_an_edit_is_read_even_with_the_same_size_and_mtime(data, root):
    files.load_dataset(data)
    path = data / files.CONVERSATIONS_FILE
    info = path.stat()
    text = path.read_bytes()
    middle = text.index(b'"duration_seconds":', len(text) // 2) + len(b'"duration_seconds":')
    digit = text[middle : middle + 1]
    edited = text[:middle] + (b"1" if digit != b"1" else b"2") + text[middle + 1 :]
    path.write_bytes(edited)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # mtime and size as before
    assert_same(files.load_dataset(data), decoded(data))
    assert not np.array_equal(decoded(data).conversations.duration, _durations(text, data))
    assert len(list(root.glob("*/*"))) == 1  # the older version is gone


def _durations(text: bytes, data: Path) -> np.ndarray:
    other = data.parent / "original"
    other.mkdir()
    (other / files.ACCOUNTS_FILE).write_bytes((data / files.ACCOUNTS_FILE).read_bytes())
    (other / files.CONVERSATIONS_FILE).write_bytes(text)
    return decoded(other).conversations.duration


def test_a_bad_edit_fails_as_without_a_cache(data, root):
    files.load_dataset(data)
    path = data / files.CONVERSATIONS_FILE
    lines = path.read_bytes().split(b"\n")
    lines[41] = lines[41].replace(b'"status":"', b'"status":"no-')
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DatasetError) as cached:
        files.load_dataset(data)
    with pytest.raises(DatasetError) as plain:
        decoded(data)
    assert str(cached.value) == str(plain.value)
    assert cached.value.line == 42


def test_an_accounts_edit_is_a_new_entry(data, root):
    files.load_dataset(data)
    path = data / files.ACCOUNTS_FILE
    path.write_text(path.read_text().replace("sk-usagekit-demo", "sk-usagekit-other"))
    loaded = files.load_dataset(data)
    assert loaded.account(synthetic.DEMO_ACCOUNT_ID).api_keys[0] == "sk-usagekit-other"
    assert len(items(root, "conversations")) == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "manifest", "missing"])
def test_a_damaged_cache_is_built_again_never_read(data, root, damage):
    files.load_dataset(data)
    (item,) = items(root, "conversations")
    target = item / "start.npy"
    if damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-9] ^= 0x40
        target.write_bytes(bytes(raw))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "manifest":
        (item / "manifest.json").write_text("{not json")
    else:
        target.unlink()
    again = files.load_dataset(data)
    assert_same(again, decoded(data))
    assert mapped(again.conversations.start)  # built again and kept
    assert_same(files.load_dataset(data), decoded(data))


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
