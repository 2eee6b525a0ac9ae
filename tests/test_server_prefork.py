"""Several workers share one dataset: loaded once, in the parent, and forked; the parent
then becomes a small supervisor that starts a worker that dies afresh."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from factories import PARENT, PARENT_KEY
from processes import free_port
from server_support import (
    DATASET,
    LOADS_ENV,
    ME,
    NOW,
    SERVE,
    TESTS,
    Served,
    uvicorn_server,
    wait_healthy,
)
from uvicorn.logging import DefaultFormatter

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import files, synthetic
from usagekit.mock.datasets.cache import CACHE_ENV, MIN_BYTES
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.memo import BODY_ENTRY_BYTES, FRONT_ENTRY_BYTES
from usagekit.mock.server.prefork import Prefork


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def answers(base: str, count: int) -> set[bytes]:
    with httpx.Client(base_url=base) as client:
        found = set()
        for _ in range(count):
            response = client.get(ME, headers={"X-API-Key": PARENT_KEY}, params={"tz": "UTC"})
            assert response.status_code == 200, response.text
            found.add(response.content)
        return found


def uvicorn_line(level: int, message: str, *args: object) -> str:
    """``message`` as uvicorn's default log formatter writes it (no colours: not a tty)."""
    formatter = DefaultFormatter("%(levelprefix)s %(message)s", use_colors=False)
    return formatter.format(logging.LogRecord("uvicorn.error", level, "", 0, message, args, None))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_parent_becomes_a_supervisor_that_replaces_a_dead_worker_by_a_new_one(
    tmp_path, stop
) -> None:
    loads, control = tmp_path / "loads", tmp_path / "control"
    control.mkdir()
    port = free_port()
    settings = ServerConfig(
        port=port,
        dataset_factory="server_support:counted_dataset",
        workers=2,
        now=NOW,
        access_log=False,
        control_dir=str(control),
    )
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, settings.to_env()],
        env={**os.environ, "PYTHONPATH": path, LOADS_ENV: str(loads)},
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        # The process that loaded the dataset is now the supervisor of the forked workers.
        assert loads.read_text().split() == [str(process.pid)]
        assert Path(command_line(process.pid)[3]).name == "supervisor.py"
        workers = children(process.pid)
        assert len(workers) == 2
        before = answers(base, 10)
        assert len(before) == 1

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = children(process.pid)
            if len(now) == 2 and workers[0] not in now and len(loads.read_text().split()) == 2:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no new worker: {children(process.pid)}")
        (new,) = set(now) - {workers[1]}
        # A new interpreter that built its own app (it loaded the dataset) ...
        assert loads.read_text().split() == [str(process.pid), str(new)]
        assert command_line(new)[1:3] == ["-m", "usagekit.mock.server.worker"]
        # ... and, alone on the socket while its sibling is stopped, answers byte for byte.
        os.kill(workers[1], signal.SIGSTOP)
        try:
            wait_healthy(base, process)
            assert answers(base, 5) == before
        finally:
            os.kill(workers[1], signal.SIGCONT)

        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, log = process.communicate()
    assert not control.exists()  # removed by the supervisor, as serve's finally did
    lines = log.decode().splitlines()
    assert uvicorn_line(logging.INFO, "Started parent process [%d]", process.pid) in lines
    exited = uvicorn_line(logging.WARNING, "worker %d exited (%d); starting another", workers[0], 9)
    assert exited in lines


def test_prefork_in_the_test_process_stops_its_workers_instead_of_replacing_pytest() -> None:
    app = create_app(DATASET, ServerConfig(now=NOW))
    config = uvicorn.Config(app, port=0, log_config=None)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    before = set(children(os.getpid()))
    with config.bind_socket() as sock, pytest.raises(RuntimeError, match="replace the pytest"):
        Prefork(config, sock, 2).run()
    assert set(children(os.getpid())) == before  # forked, then killed and reaped
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask


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
        (supervisor,) = {parent_of(pid) for pid in processes}
        pss = int(Path(f"/proc/{supervisor}/smaps_rollup").read_text().split("Pss:")[1].split()[0])
        resident = [resident_kib(pid, "/conversations-") for pid in processes]
        workers = children(supervisor)
    # The two workers map the same files: one copy, in the page cache. Their parent, the
    # supervisor, maps none of them (a new image, not a fork) and holds next to nothing.
    assert len(processes) == 2, processes
    assert sorted(workers) == sorted(processes)
    for names in processes.values():
        assert {"conversations", "scope"} <= names
    assert pss < 16 * 1024, pss  # KiB; a bare `python -I -S` is ~4 MiB
    # The builder built the scopes from the mapped columns, yet forked its workers with
    # none of the columns' pages in their page tables (the answers come from the scopes).
    assert max(resident) <= 64, resident
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
