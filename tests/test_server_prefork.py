"""Several workers share one dataset: loaded once, in the parent, and forked."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
from factories import PARENT_KEY
from server_support import LOADS_ENV, ME, NOW, uvicorn_server


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
