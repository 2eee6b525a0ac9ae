"""The bench's request mixes and load generators (wrk with a Lua script, or asyncio).

Two mixes, both with the demo key over the exported dataset:

* ``cached``: :data:`QUERIES`, a dozen dashboard queries repeated, so after the
  warm-up every answer comes from the front cache;
* ``unique``: every request a new query -- a seeded random minute-aligned
  ``start`` within the year before the dataset's "now", 7- or 30-day ranges,
  ``day`` or ``hour``, grouped by one dimension or not, in four zones -- the
  way a dashboard's "last 30 days" moves every second.

wrk draws the unique mix in Lua (seeded per thread); the asyncio generator
draws the same distribution with :mod:`random` (seeded per connection).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from usagekit.mock.datasets.synthetic import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_API_KEY,
)

#: The dataset's "now": ``usagekit dataset export DIR --seed 1 --now NOW --size 1000000``.
NOW = "2025-01-15T00:00:00Z"
USAGE = "/v1/accounts/{}/analytics/usage"
ME = USAGE.format("me")

#: (key, path + query): what a dashboard asks, over every account a key may read.
QUERIES: list[tuple[str, str]] = [
    (DEMO_API_KEY, ME),
    (DEMO_API_KEY, ME + "?group_by=agent,type&tz=Europe/Vienna"),
    (DEMO_API_KEY, ME + "?granularity=hour&tz=America/New_York&limit=168"),
    (DEMO_API_KEY, ME + "?granularity=month&start=2024-01-01T00:00:00&tz=Europe/Vienna"
     "&group_by=subaccount"),
    (DEMO_API_KEY, USAGE.format(DEMO_ACCOUNT_ID) + "?group_by=agent&group_by=type"),
    (DEMO_API_KEY, USAGE.format(DEMO_SUBACCOUNT_ID) + "?granularity=day&tz=Asia/Kathmandu"),
    (DEMO_API_KEY, ME + "?granularity=hour&start=2024-10-26T00:00:00&end=2024-10-28T00:00:00"
     "&tz=Europe/Vienna&group_by=type"),
    (DEMO_API_KEY, ME + "?granularity=day&tz=Australia/Lord_Howe&start=2024-10-01T00:00:00"
     "&end=2024-10-15T00:00:00&group_by=agent"),
    (DEMO_SUBACCOUNT_KEY, ME + "?group_by=agent"),
    (DEMO_SUBACCOUNT_KEY, ME + "?granularity=hour&limit=24&tz=UTC"),
    (FOREIGN_API_KEY, ME + "?granularity=month&start=2024-02-01T00:00:00Z"),
    (FOREIGN_API_KEY, ME + "?granularity=day&group_by=type,agent&tz=America/Sao_Paulo"),
]  # fmt: skip

ZONES = ("UTC", "America/New_York", "Europe/Vienna", "Asia/Kolkata")
GROUPS = ("", "&group_by=agent", "&group_by=subaccount", "&group_by=type")
#: Starts lie in the year before NOW, early enough that a 30-day range ends by NOW.
FIRST = datetime(2024, 1, 16, tzinfo=UTC)
MINUTES = 335 * 24 * 60
SEED = 20250115
#: Runs of this process so far: each run of the unique mix draws its own queries (seeded by
#: its number, so a bench is reproducible), never the ones an earlier cell warmed a cache with.
_RUNS = itertools.count()


def unique_query(rng: random.Random) -> str:
    """One path + query of the unique mix."""
    start = FIRST + timedelta(minutes=rng.randrange(MINUTES))
    end = start + timedelta(days=rng.choice((7, 30)))
    return (
        f"{ME}?start={start:%Y-%m-%dT%H:%M:00Z}&end={end:%Y-%m-%dT%H:%M:00Z}"
        f"&granularity={rng.choice(('day', 'hour'))}&tz={rng.choice(ZONES)}{rng.choice(GROUPS)}"
    )


_LUA_HEAD = """
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50": %d, "p99": %d, '
    .. '"errors": %d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), bad))
end
"""

_LUA_CACHED = """
local queries = {QUERIES}
function init(args)
  i = offset * 7
end
function request()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  return wrk.format("GET", q[2], {["X-API-Key"] = q[1]})
end
"""

_LUA_UNIQUE = """
local zones = {ZONES}
local groups = {GROUPS}
function init(args)
  -- args[1]: the run's number, so that no two runs (cells) of a bench draw the same queries
  math.randomseed({SEED} + 1000 * tonumber(args[1] or "0") + offset)
end
function request()
  local t = {FIRST} + math.random(0, {MINUTES} - 1) * 60
  local days = (math.random(2) == 1) and 7 or 30
  local granularity = (math.random(2) == 1) and "day" or "hour"
  local path = string.format("{ME}?start=%s&end=%s&granularity=%s&tz=%s%s",
    os.date("!%Y-%m-%dT%H:%M:00Z", t), os.date("!%Y-%m-%dT%H:%M:00Z", t + days * 86400),
    granularity, zones[math.random(#zones)], groups[math.random(#groups)])
  return wrk.format("GET", path, {["X-API-Key"] = "{KEY}"})
end
"""


def _lua_list(items: list[str] | tuple[str, ...]) -> str:
    return "{" + ", ".join(json.dumps(item) for item in items) + "}"


def write_scripts(workdir: Path) -> dict[str, Path]:
    """The wrk scripts of both mixes, by mix name."""
    cached = _LUA_CACHED.replace(
        "{QUERIES}", "{" + ", ".join(f"{{{_lua_list(q)[1:-1]}}}" for q in QUERIES) + "}"
    )
    unique = (
        _LUA_UNIQUE.replace("{ZONES}", _lua_list(ZONES))
        .replace("{GROUPS}", _lua_list(GROUPS))
        .replace("{SEED}", str(SEED))
        .replace("{FIRST}", str(int(FIRST.timestamp())))
        .replace("{MINUTES}", str(MINUTES))
        .replace("{ME}", ME)
        .replace("{KEY}", DEMO_API_KEY)
    )
    scripts = {"cached": workdir / "cached.lua", "unique": workdir / "unique.lua"}
    scripts["cached"].write_text(_LUA_HEAD + cached, encoding="utf-8")
    scripts["unique"].write_text(_LUA_HEAD + unique, encoding="utf-8")
    return scripts


@dataclass(frozen=True, slots=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_wrk(port: int, concurrency: int, seconds: float, script: Path) -> Load:
    threads = min(concurrency, 2)
    duration = max(1, round(seconds))  # wrk takes whole seconds
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "-s", str(script)]
    url = f"http://127.0.0.1:{port}"
    out = subprocess.run(
        [*command, url, "--", str(next(_RUNS))], check=True, capture_output=True, text=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return Load(
        result["requests"] / result["seconds"],
        result["p50"] / 1000,
        result["p99"] / 1000,
        result["errors"],
    )


async def _connection(
    port: int, deadline: float, mix: str, index: int, run: int, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(SEED + 1000 * run + index)
    errors = 0
    i = index * 7
    try:
        while time.perf_counter() < deadline:
            i += 1
            key, path = (
                QUERIES[i % len(QUERIES)] if mix == "cached" else (DEMO_API_KEY, unique_query(rng))
            )
            request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n\r\n"
            started = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
    finally:
        writer.close()
    return errors


def run_python(port: int, concurrency: int, seconds: float, mix: str) -> Load:
    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        run = next(_RUNS)
        errors = await asyncio.gather(
            *(_connection(port, deadline, mix, c, run, latencies) for c in range(concurrency))
        )
        return latencies, sum(errors)

    started = time.perf_counter()
    latencies, errors = asyncio.run(main())
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, errors)
