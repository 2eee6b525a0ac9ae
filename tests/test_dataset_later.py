"""A first load kept later: served from memory, written into the cache when told, then as usual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from usagekit.mock.core.instants import parse_instant
from usagekit.mock.datasets import cache, files, synthetic
from usagekit.mock.datasets.later import Later

NOW = parse_instant("2025-01-15T00:00:00Z")
COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    files.save_dataset(synthetic.generate(seed=4, now=NOW, size=6000), folder)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    return folder


def items(data: Path, prefix: str) -> list[Path]:
    root = Path(os.environ[cache.CACHE_ENV])
    return sorted(root.glob(f"*/*/{prefix}-*/manifest.json"))


def test_a_later_load_is_kept_when_told_and_then_mapped(data: Path) -> None:
    first = files.load_dataset(data, later=True)
    assert isinstance(first.derived, Later)
    scope = first.scope(synthetic.DEMO_ACCOUNT_ID)
    assert not items(data, "conversations")
    assert not items(data, "scope")
    assert not isinstance(first.conversations.start.base, np.memmap)  # from memory
    decoded = first.conversations
    first.derived.keep_now()
    # The dataset now reads the columns mapped from the cache: the decoded copy can go.
    assert first.conversations is not decoded
    assert isinstance(first.conversations.start.base, np.memmap)
    for name in COLUMNS:
        assert np.array_equal(getattr(first.conversations, name), getattr(decoded, name)), name
    assert len(items(data, "conversations")) == 1
    assert len(items(data, "scope")) == 1
    # From now on an item is kept at once.
    other = next(a.id for a in first.accounts if a.id != synthetic.DEMO_ACCOUNT_ID)
    first.scope(other)
    assert len(items(data, "scope")) == 2
    second = files.load_dataset(data)
    assert isinstance(second.derived, cache.Entry)
    for name in COLUMNS:
        column = getattr(second.conversations, name)
        assert isinstance(column.base, np.memmap), name
        assert np.array_equal(column, getattr(first.conversations, name)), name
    again = second.scope(synthetic.DEMO_ACCOUNT_ID)
    assert isinstance(again.start.base, np.memmap)
    assert np.array_equal(again.start, scope.start)
    assert again.agent_values == scope.agent_values


def test_a_later_load_of_a_kept_dataset_maps_it(data: Path) -> None:
    files.load_dataset(data)
    found = files.load_dataset(data, later=True)
    assert isinstance(found.derived, cache.Entry)
    assert isinstance(found.conversations.start.base, np.memmap)


def test_a_forked_process_keeps_at_once(data: Path) -> None:
    dataset = files.load_dataset(data, later=True)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked before keep_now: its items are kept as it builds them
        code = 1
        try:
            dataset.scope(synthetic.DEMO_ACCOUNT_ID)
            code = 0 if items(data, "scope") and not items(data, "conversations") else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    code = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert code == b"\0"


def test_a_writer_killed_mid_item_leaves_nothing_for_long(data: Path) -> None:
    dataset = files.load_dataset(data)
    (version,) = Path(os.environ[cache.CACHE_ENV]).glob("*/*")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    (version / f".staging-{dead}-abc").mkdir()  # a process killed before its rename
    dataset.scope(synthetic.DEMO_ACCOUNT_ID)  # the next item written there
    assert not list(version.glob(".staging-*"))
    assert items(data, "scope")
