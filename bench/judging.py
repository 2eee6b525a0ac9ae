"""The judge's CPU per never-seen answer, in process, against the mock's CPU to compute it.

    .venv/bin/python bench/judging.py [--size 200000] [--answers 400] [--passes 10] [--profile]

Starts ``usagekit mock`` (one worker, a synthetic dataset, pinned ``--now``),
asks it ``--answers`` queries of load.py's unique mix on four kept-alive
connections at once, after 200 others that build its rollups and calendar
pages (the mock's CPU per answer read from /proc meanwhile: a little above
what it spends under wrk, whose requests never keep it waiting),
then judges the recorded answers in this process the way ``usagekit proxy``
does (``Traffic.judge``, the reference profile, the same ``--now``),
``--passes`` times, each with a new ``Traffic`` so that no verdict is
remembered. Prints the least CPU per judged answer (``time.process_time``) and
its ratio to the mock's: a proxy with a core of its own keeps up with the
mock while the judge's CPU plus the proxy's HTTP side (about 0.15 ms an
answer, ``bench/proxy.py``) stays below the mock's. CPU time in process is the
figure a busy machine distorts least; for an A/B, run this with each version
interleaved. ``--profile`` adds cProfile's functions by own CPU time.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import pstats
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from load import NOW, SEED, unique_query
from processes import cpu_seconds, free_port, stop, usagekit, wait_healthy

from usagekit.cli.options import INSTANT
from usagekit.conformance.config import KitConfig
from usagekit.conformance.har import Recorded
from usagekit.conformance.profiles import Profile
from usagekit.conformance.traffic import Traffic
from usagekit.mock.datasets.synthetic import DEMO_API_KEY

#: Connections asking the mock at once while the answers are recorded.
CLIENTS = 4
#: Never-seen answers asked for before the recorded ones, not counted.
WARM_UP = 200


def record(size: int, answers: int) -> tuple[list[Recorded], float]:
    """``answers`` never-seen answers of the mock, and its CPU ms per answer."""
    port = free_port()
    mock = subprocess.Popen(
        usagekit("mock", "--port", str(port), "--size", str(size), "--no-access-log", "--now", NOW),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rng = random.Random(SEED)
    paths = [unique_query(rng) for _ in range(answers)]
    try:
        wait_healthy(port, "/healthz")
        warm = random.Random(SEED + 1)  # the first answers build the rollups and calendar pages
        fetch(port, [unique_query(warm) for _ in range(WARM_UP)])
        before = cpu_seconds(mock.pid)
        # A few requests in flight at once, so that the mock is busy as under load (one
        # at a time, it idles between them and pays for waking up again).
        with ThreadPoolExecutor(CLIENTS) as pool:
            parts = pool.map(fetch, [port] * CLIENTS, [paths[i::CLIENTS] for i in range(CLIENTS)])
            recorded = [exchange for part in parts for exchange in part]
        mock_ms = (cpu_seconds(mock.pid) - before) * 1000 / answers
    finally:
        stop(mock)
    return recorded, mock_ms


def fetch(port: int, paths: list[str]) -> list[Recorded]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    recorded = []
    for path in paths:
        connection.request("GET", path, headers={"X-API-Key": DEMO_API_KEY})
        answer = connection.getresponse()
        recorded.append(
            Recorded(
                started=time.time(),
                method="GET",
                url=f"http://127.0.0.1:{port}{path}",
                request_headers=(("X-API-Key", DEMO_API_KEY),),
                status=answer.status,
                reason=answer.reason,
                response_headers=tuple(answer.getheaders()),
                content=answer.read(),
                elapsed=0.0,
            )
        )
    connection.close()
    return recorded


def judge_all(config: KitConfig, recorded: list[Recorded]) -> int:
    traffic = Traffic(config)
    return sum(len(traffic.judge(exchange)) for exchange in recorded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200_000, help="conversations")
    parser.add_argument("--answers", type=int, default=400, help="never-seen answers")
    parser.add_argument("--passes", type=int, default=10, help="judging passes; the least counts")
    parser.add_argument("--profile", action="store_true", help="cProfile one pass")
    args = parser.parse_args()
    recorded, mock_ms = record(args.size, args.answers)
    split = urlsplit(recorded[0].url)
    config = KitConfig(
        base_url=f"{split.scheme}://{split.netloc}",
        api_key="",
        account_id="",
        profile=Profile.REFERENCE,
        server_now=INSTANT.convert(NOW, None, None),
    )
    violations = judge_all(config, recorded)  # and warms the zones, grids and stamps read
    spent = []
    for _ in range(args.passes):
        started = time.process_time()
        judge_all(config, recorded)
        spent.append((time.process_time() - started) * 1000 / len(recorded))
    size = sum(len(r.content) for r in recorded) / len(recorded)
    print(f"{len(recorded)} never-seen answers of the unique mix, {size / 1024:.1f} KiB each "
          f"on average, {violations} violations")  # fmt: skip
    print(f"mock: {mock_ms:.3f} ms CPU per answer ({CLIENTS} connections at once, from /proc)")
    least, median = min(spent), sorted(spent)[len(spent) // 2]
    print(f"judge: {least:.3f} ms CPU per answer (least of {args.passes} passes, median "
          f"{median:.3f}) -> {least / mock_ms:.2f} x the mock's")  # fmt: skip
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.runcall(judge_all, config, recorded)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
