"""Runtime control across a running server's workers: scenarios, --watch, shared journal
and coverage files."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import httpx
import pytest
from factories import PARENT_KEY
from server_support import DATASET, ME, uvicorn_server

from usagekit.mock.datasets import files
from usagekit.mock.server.coverage import FLUSH_SECONDS as COVERAGE_FLUSH_SECONDS
from usagekit.mock.server.journal import CAPACITY, FLUSH_SECONDS, Journal, entry_of, line_of
from usagekit.mock.server.scenario_store import Scenario, ScenarioStore
from usagekit.mock.server.watch import POLL_SECONDS, Watcher, signature

SCENARIO = "/_usagekit/scenario"


def _fresh(url: str, **kwargs) -> httpx.Response:
    # A new connection each time, so that the kernel may hand it to either worker.
    with httpx.Client(timeout=10) as client:
        return client.request(url=url, **kwargs)


@pytest.mark.slow
def test_scenario_reaches_every_worker_of_a_running_server():
    with uvicorn_server(workers=2) as base:
        pids = set()
        for _ in range(40):
            pids.add(_fresh(f"{base}/_usagekit/status", method="GET").json()["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2, "both workers should answer"
        put = _fresh(f"{base}{SCENARIO}", method="PUT", json={"code": 429})
        assert put.status_code == 200
        statuses = set()
        seen = set()
        for _ in range(20):
            answer = _fresh(f"{base}{ME}", method="GET", headers={"X-API-Key": PARENT_KEY})
            statuses.add(answer.status_code)
            status = _fresh(f"{base}/_usagekit/status", method="GET").json()
            seen.add(status["pid"])
            assert status["scenario"]["code"] == 429
        assert statuses == {429}
        assert seen == pids
        # Each worker writes its entries within FLUSH_SECONDS; any worker reads them all.
        _wait_for(lambda: forced_in_journal(base) == 20, timeout=5 * FLUSH_SECONDS + 5)
        _fresh(f"{base}{SCENARIO}", method="DELETE")
        for _ in range(6):
            answer = _fresh(f"{base}{ME}", method="GET", headers={"X-API-Key": PARENT_KEY})
            assert answer.status_code == 200


def forced_in_journal(base: str) -> int:
    journal = _fresh(f"{base}/_usagekit/requests?limit=1000", method="GET").json()
    return sum(e["status"] == 429 for e in journal["requests"])


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(POLL_SECONDS / 2)
    raise AssertionError("timed out")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_watch_swaps_in_an_edit_and_refuses_a_bad_one(tmp_path: Path, workers: int):
    files.save_dataset(DATASET, tmp_path)
    config = {"data_dir": str(tmp_path), "watch": True, "dataset_factory": None}
    with uvicorn_server(workers=workers, **config) as base:

        def seconds() -> int:
            # A new connection each time: with 2 workers, either may answer.
            body = httpx.get(
                f"{base}{ME}",
                headers={"X-API-Key": PARENT_KEY},
                params={
                    "start": "2024-03-01T00:00:00Z",
                    "end": "2024-04-01T00:00:00Z",
                    "granularity": "month",
                },
            ).json()
            return sum(v["seconds"] for b in body["data"] for v in b["values"])

        def watch() -> dict:
            return httpx.get(f"{base}/_usagekit/status").json()["watch"]

        def pid() -> int:
            return httpx.get(f"{base}/_usagekit/status").json()["pid"]

        def everywhere(predicate) -> bool:
            return all(predicate() for _ in range(4 * workers))

        # Every worker up before the edit: a worker that read the files after it
        # would serve the new data at once, and have nothing to reload.
        _wait_for(lambda: len({pid() for _ in range(8 * workers)}) == workers, timeout=30)
        before = seconds()
        lines = (tmp_path / "conversations.jsonl").read_text().splitlines()
        kept = [line for line in lines if json.loads(line)["duration_seconds"] != 60]
        (tmp_path / "conversations.jsonl").write_text("\n".join(kept) + "\n")
        # Each worker polls on its own: wait until every one has reloaded.
        try:
            _wait_for(lambda: everywhere(lambda: watch()["reloads"] >= 1), timeout=20)
        except AssertionError:
            raise AssertionError(
                [httpx.get(f"{base}/_usagekit/status").json() for _ in range(6)]
            ) from None
        assert everywhere(lambda: seconds() == before - 60)
        assert everywhere(lambda: watch()["error"] is None)

        (tmp_path / "conversations.jsonl").write_text("\n".join([*kept, "{not json"]) + "\n")
        _wait_for(lambda: everywhere(lambda: watch()["error"]))
        assert f"conversations.jsonl:{len(kept) + 1}" in watch()["error"]
        assert everywhere(lambda: seconds() == before - 60)  # the old data still serves


def test_an_edit_made_while_a_worker_starts_is_reloaded(tmp_path: Path):
    """The baseline is the files as the served data was read, not as the watcher found them."""
    files.save_dataset(DATASET, tmp_path)
    seen = signature(tmp_path)  # the worker reads the data here ...
    path = tmp_path / "conversations.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # ... the file changes while it starts ...
    loaded = []
    watcher = Watcher(str(tmp_path), loaded.append, seen=seen)  # ... then it starts watching
    watcher.start()
    try:
        _wait_for(lambda: watcher.state.reloads == 1)
    finally:
        watcher.stop()
    assert len(loaded[0].conversations) == len(lines) - 1


def test_shared_journal_files_are_bounded_and_read_newest_first(tmp_path: Path):
    async def fill() -> Journal:
        journal = Journal(str(tmp_path))
        for n in range(2 * CAPACITY + 10):
            journal.add((float(n), "GET", "/p", f"n={n}".encode(), 200, 0.001, None))
            if n % 100 == 0:
                journal.flush()
        return journal

    journal = asyncio.run(fill())
    newest = journal.last(3)
    assert [e[3] for e in newest] == [f"n={2 * CAPACITY + 9 - i}" for i in range(3)]
    files = [len(p.read_text().splitlines()) for p in tmp_path.glob("journal-*")]
    assert sum(files) <= 2 * CAPACITY
    assert max(files) == CAPACITY  # a batch across a rotation is split at the line
    assert len(journal.last(CAPACITY)) == CAPACITY
    journal.close()


@pytest.mark.slow
def test_coverage_sums_every_worker_of_a_running_server():
    usage = {"method": "GET", "headers": {"X-API-Key": PARENT_KEY}, "params": {"tz": "UTC"}}
    with uvicorn_server(workers=2) as base:
        sent = 0

        def ledger() -> dict:
            return _fresh(f"{base}/_usagekit/coverage", method="GET").json()

        # Fresh connections until both workers have answered some of them.
        while sent < 200 and ledger()["workers"] < 2:
            assert _fresh(f"{base}{ME}", **usage).status_code == 200
            sent += 1
            if sent % 10 == 0:
                time.sleep(COVERAGE_FLUSH_SECONDS)
        assert sent < 200, "both workers should have answered"

        def summed() -> bool:
            # Either worker may answer each read; each sums its own and the other's file.
            reads = [ledger() for _ in range(6)]
            return all(
                read["workers"] == 2
                and read["exchanges"] == read["cells"]["status:200"] == sent
                and read["cells"]["tz:utc"] == read["cells"]["param:tz:present"] == sent
                for read in reads
            )

        _wait_for(summed, timeout=5 * COVERAGE_FLUSH_SECONDS + 5)


def test_a_store_sees_another_workers_change_at_its_next_read(tmp_path: Path):
    one, other = ScenarioStore(str(tmp_path)), ScenarioStore(str(tmp_path))
    assert other.current().everyone is None
    before = other.generation
    one.put(Scenario(code=503), None)
    everyone = other.current().everyone
    assert everyone is not None
    assert everyone.code == 503
    assert other.generation == before + 1
    assert other.current().everyone == everyone  # nothing new: not read again
    assert other.generation == before + 1
    other.delete(None)
    assert one.current().everyone is None


def test_a_batch_longer_than_the_journal_keeps_its_newest_entries(tmp_path: Path):
    async def fill() -> Journal:
        journal = Journal(str(tmp_path))
        for n in range(3 * CAPACITY + 5):
            journal.add((float(n), "GET", "/p", f"n={n}".encode(), 200, 0.001, None))
        journal.flush()
        return journal

    journal = asyncio.run(fill())
    newest = journal.last(CAPACITY)
    assert [e[3] for e in newest] == [f"n={3 * CAPACITY + 4 - i}" for i in range(CAPACITY)]
    assert sum(len(p.read_text().splitlines()) for p in tmp_path.glob("journal-*")) <= CAPACITY
    journal.close()


def test_journal_lines_are_the_entries_as_compact_json():
    rng = random.Random(7)
    text = 'aZ09/?&=%+"\\\x00\x1f\x7f\xe9\xff ,:[]{}'
    for _ in range(3000):
        record = (
            rng.choice([time.time(), rng.random() * 2e9, 0.0, 1e-7]),
            rng.choice(["GET", "HEAD", 'P"T']),
            "".join(rng.choice(text) for _ in range(rng.randrange(20))),
            bytes(rng.randrange(256) for _ in range(rng.randrange(30))),
            rng.choice([0, 200, 404, 503]),
            rng.choice([rng.random(), rng.random() * 10, 0.0, 1e-9]),
            rng.choice([None, bytes(rng.randrange(256) for _ in range(32))]),
        )
        assert line_of(record) == json.dumps(entry_of(record), separators=(",", ":")) + "\n"
