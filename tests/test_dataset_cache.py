"""The columnar cache: a dataset decoded once is mapped by later loads, never stale, never wrong."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from cache_support import (
    COLUMNS,
    assert_same,
    data,
    decoded,
    exported,
    items,
    mapped,
    no_decoding,
    root,
)

from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets import files, synthetic
from usagekit.mock.server.watch import signature

__all__ = ["data", "exported", "root"]  # fixtures, used by name


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
