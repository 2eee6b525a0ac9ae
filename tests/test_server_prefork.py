"""Several workers share one dataset: loaded once, in the parent, and forked."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import numpy as np
from factories import PARENT, PARENT_KEY
from server_support import DATASET, LOADS_ENV, ME, NOW, Served, uvicorn_server

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import files, synthetic
from usagekit.mock.datasets.cache import CACHE_ENV, MIN_BYTES
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.memo import BODY_ENTRY_BYTES, FRONT_ENTRY_BYTES


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def answers(base: str, count: int) -> set[bytes]:
    with httpx.Client(base_url=base) as client:
        found = set()
        for _ in range(count):
            response = client.get(ME, headers={"X-API-Key": PARENT_KEY}, params={"tz": "UTC"})
            assert response.status_code == 200, response.text
            found.add(response.content)
        return found


def test_two_workers_load_the_dataset_once_and_a_dead_worker_is_replaced(tmp_path) -> None:
    loads = tmp_path / "loads"
    env = {LOADS_ENV: str(loads)}
    factory = "server_support:counted_dataset"
    with uvicorn_server(env, dataset_factory=factory, workers=2, now=NOW) as base:
        (parent,) = [int(line) for line in loads.read_text().split()]
        workers = children(parent)
        assert len(workers) == 2
        assert len(answers(base, 10)) == 1

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = children(parent)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no new worker: {children(parent)}")
        assert len(answers(base, 10)) == 1
        # The new worker was forked from the parent's copy, not loaded again.
        assert loads.read_text().split() == [str(parent)]


class Counting:
    def __init__(self) -> None:
        self.inner = Aggregator(DATASET)
        self.calls = 0

    def __call__(self, query):
        self.calls += 1
        return self.inner(query)


def test_the_cache_budget_is_the_servers_shared_out_among_its_workers() -> None:
    assert ServerConfig(workers=4, cache_bytes=64 * 2**20).cache_bytes_per_worker == 16 * 2**20
    body = len(Aggregator(DATASET)(resolve_query(RawQuery(), account_id=PARENT, now=NOW)).to_json())
    budget = 3 * (body + BODY_ENTRY_BYTES + FRONT_ENTRY_BYTES)  # one answer and then some
    for workers, computed in ((1, 1), (4, 2)):
        counter = Counting()
        config = ServerConfig(now=NOW, workers=workers, cache_bytes=budget)
        served = Served(create_app(DATASET, config, aggregator=counter))
        try:
            for _ in range(2):
                assert served.get(ME, key=PARENT_KEY).status_code == 200
        finally:
            served.close()
        # A quarter of the budget holds no answer: the second request is computed again.
        assert counter.calls == computed, workers


def mapping(marker: str) -> dict[int, set[str]]:
    """Every process that maps a file whose path holds ``marker``, and those files' names."""
    found: dict[int, set[str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            maps = (proc / "maps").read_text()
        except OSError:  # gone, or not ours to read
            continue
        for line in maps.splitlines():
            path = line.split(maxsplit=5)[-1]
            if marker in path:
                found.setdefault(int(proc.name), set()).add(Path(path).parent.name.split("-")[0])
    return found


def resident_kib(pid: int, marker: str) -> int:
    """KiB of ``pid``'s mappings of files whose path holds ``marker`` that are resident."""
    total, inside = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head[0].endswith(":"):  # a mapping's first line: address range ... path
            inside = marker in line
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


def kept(root: Path, item: str) -> bool:
    """Whether the cache under ``root`` holds an item named ``item``, written whole."""
    return any(root.glob(f"*/*/{item}-*/manifest.json"))


def first_start(env: dict[str, str], config: dict[str, object], root: Path) -> None:
    """A server's first start over ``config``'s data: it answers, and the cache under
    ``root`` then holds the columns and the scope built for the answer."""
    with uvicorn_server(env, **config) as base:
        with httpx.Client(base_url=base) as client:
            response = client.get(ME, headers={"X-API-Key": synthetic.DEMO_API_KEY})
            assert response.status_code == 200, response.text
        # The cache is written by a low-priority thread: on a busy machine it may wait.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if kept(root, "conversations") and kept(root, "scope"):
                break
            time.sleep(0.05)
        assert kept(root, "conversations")
        assert kept(root, "scope")


def test_workers_map_one_copy_of_the_cached_columns_and_scopes(tmp_path) -> None:
    data, root = tmp_path / "data", tmp_path / "cache-of-this-test"
    env = {CACHE_ENV: str(root)}
    files.save_dataset(synthetic.generate(seed=2, now=NOW, size=6000), data)  # primes another
    assert (data / files.CONVERSATIONS_FILE).stat().st_size > MIN_BYTES
    config = {"dataset_factory": None, "data_dir": str(data), "workers": 2, "now": NOW}
    # The first start decodes and keeps the columns before it forks; a worker keeps a scope.
    first_start(env, config, root)
    assert not list(root.glob("*/*/.staging-*"))
    with uvicorn_server(env, **config) as base:
        with httpx.Client(base_url=base) as client:
            for _ in range(4):
                response = client.get(ME, headers={"X-API-Key": synthetic.DEMO_API_KEY})
                assert response.status_code == 200, response.text
        processes = mapping(str(root))
        (parent,) = [pid for pid in processes if len(children(pid)) == 2]
        resident = resident_kib(parent, "/conversations-")
    # The parent and its two workers, each mapping the same files: one copy, in the page cache.
    assert len(processes) == 3, processes
    for names in processes.values():
        assert {"conversations", "scope"} <= names
    # The parent built the scopes from the mapped columns, yet forked its workers with
    # none of the columns' pages in its page tables (no query reads ids).
    assert resident <= 64, resident
    assert sorted(p.name for p in data.iterdir()) == [files.ACCOUNTS_FILE, files.CONVERSATIONS_FILE]


def test_one_worker_answers_from_memory_then_writes_the_cache(tmp_path, monkeypatch) -> None:
    data, root = tmp_path / "data", tmp_path / "cache-of-this-test"
    files.save_dataset(synthetic.generate(seed=2, now=NOW, size=6000), data)  # primes another
    config = {"dataset_factory": None, "data_dir": str(data), "workers": 1, "now": NOW}
    first_start({CACHE_ENV: str(root)}, config, root)  # answers, then writes the cache
    monkeypatch.setenv(CACHE_ENV, str(root))
    monkeypatch.setattr(files, "read_conversations", None)  # mapped, never decoded again
    loaded = files.load_dataset(data)
    assert isinstance(loaded.conversations.start.base, np.memmap)
