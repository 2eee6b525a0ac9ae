"""Time the reference aggregator against pandas and DuckDB computing the same answer.

    .venv/bin/python bench/aggregate.py [--sizes 1000000,10000000] [--repeat 5]

One account, 8 agents and unassigned conversations, starts spread over 400
days, 90% completed. Queries: America/New_York grouped by agent, ``hour`` over
20 days and ``day`` over 30 days, both holding the 2024-11-03 fall-back. Every
engine gets the data already in its own form (our columns and scope, a pandas
frame indexed by time, a DuckDB table) and is timed on the query alone; the
one-time preparations are timed apart. Times are medians of ``--repeat`` runs.

Answers are compared cell by cell as {(bucket start instant, agent): (seconds,
conversations)}. pandas' ``floor`` raises on the repeated 01:00 hour; the bench
does what a careful pandas user does (``ambiguous=`` set from each row's own
DST flag), and reports what a plain ``floor`` does. DuckDB's ``date_trunc`` on
TIMESTAMPTZ truncates local time and maps 01:00 back to one instant, merging
the two 01:00 hours; the bench reports the cells where it differs.

pandas and DuckDB are the ``bench`` extra, not runtime dependencies. No
asserts on time: this prints a table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from engines import (
    duckdb_cells,
    duckdb_connection,
    duckdb_query,
    pandas_cells,
    pandas_frame,
    pandas_query,
    versions,
)
from workload import ACCOUNT, AGENTS, QUERIES, TZ, Cells, Data, generate

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import (
    NO_AGENT,
    Account,
    Agent,
    Conversations,
    Dataset,
)
from usagekit.mock.core.instants import US, format_instant, parse_datetime
from usagekit.mock.core.query import RawQuery, UsageQuery, resolve_query
from usagekit.mock.core.rollup import Rollup
from usagekit.mock.core.zones import get_timeline


def median_time(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs after one warm-up, and the last result."""
    result = run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


# -- ours


def our_dataset(data: Data) -> Dataset:
    account = Account(
        id=ACCOUNT,
        parent_id=None,
        name="Bench",
        api_keys=("sk-bench",),
        agents=tuple(Agent(id=a, name=a) for a in AGENTS),
    )
    size = len(data.start)
    conversations = Conversations(
        ids=np.zeros(size, dtype="S1"),  # the aggregator never reads ids
        start=data.start,
        duration=data.duration,
        account=np.zeros(size, dtype=np.int32),
        agent=np.where(data.agent < 0, NO_AGENT, data.agent).astype(np.int32),
        type=np.zeros(size, dtype=np.int8),
        direction=np.zeros(size, dtype=np.int8),
        status=data.status,
    )
    return Dataset(accounts=(account,), agent_ids=AGENTS, conversations=conversations)


def our_cells(aggregator: Aggregator, query: UsageQuery) -> Cells:
    result = aggregator(query)
    utc = get_timeline("UTC")
    starts = [parse_datetime(ts).instant(utc) for ts in result.ts]
    (table,) = result.tables
    tally = result.tally
    return {
        (starts[b], table[k[0]]): (int(s), int(c))
        for b, k, s, c in zip(
            tally.bucket.tolist(),
            tally.keys.tolist(),
            tally.seconds.tolist(),
            tally.conversations.tolist(),
            strict=True,
        )
    }


# -- comparing


def differences(ours: Cells, theirs: Cells) -> str:
    if ours == theirs:
        return "agree"
    timeline = get_timeline(TZ)

    def shown(instant: int) -> str:
        return format_instant(instant, timeline.offset_at(instant // US))

    missing = sorted({t for t, _ in ours.keys() - theirs.keys()})
    extra = sorted({t for t, _ in theirs.keys() - ours.keys()})
    changed_cells = [k for k in ours.keys() & theirs.keys() if ours[k] != theirs[k]]
    changed = sorted({t for t, _ in changed_cells})
    parts = []
    if missing:
        parts.append(f"no bucket {', '.join(shown(t) for t in missing[:3])}")
    if extra:
        parts.append(f"extra bucket {', '.join(shown(t) for t in extra[:3])}")
    if changed:
        parts.append(f"other totals at {', '.join(shown(t) for t in changed[:3])}")
    cells = len(ours.keys() ^ theirs.keys()) + len(changed_cells)
    return f"DISAGREE ({cells} of {len(ours)} cells: {'; '.join(parts)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for n, size in enumerate(int(s) for s in args.sizes.split(",")):
        # One size at a time, so that the 10M frames are freed before the next size.
        rows += bench_size(size, args.repeat, notes, try_plain_floor=n == 0)
    report(rows, notes)


def bench_size(
    size: int, repeat: int, notes: list[str], *, try_plain_floor: bool
) -> list[dict[str, Any]]:
    data = generate(size)
    began = time.perf_counter()
    dataset = our_dataset(data)
    scope = dataset.scope(ACCOUNT)
    scope_time = time.perf_counter() - began
    frame = pandas_frame(data)
    began = time.perf_counter()
    connection = duckdb_connection(frame)
    load_time = time.perf_counter() - began
    notes.append(
        f"{size:>11,}: one-time preparation: our scope {scope_time * 1e3:.0f} ms, "
        f"DuckDB table load {load_time * 1e3:.0f} ms"
    )
    rows = []
    for granularity, (start, end) in QUERIES.items():
        raw = RawQuery(start=start, end=end, granularity=granularity, group_by="agent", tz=TZ)
        query = resolve_query(raw, account_id=ACCOUNT, now=0)
        plain = Aggregator(dataset, use_rollups=False)
        raw_time, _ = median_time(partial(plain, query), repeat * 4)
        began = time.perf_counter()
        Rollup.build(scope, ("agent",))
        build_time = time.perf_counter() - began
        # The warm-up query builds the aggregator's own rollup; the median is the query.
        rolled = Aggregator(dataset)
        roll_time, _ = median_time(partial(rolled, query), repeat * 4)
        ours = our_cells(plain, query)
        if our_cells(rolled, query) != ours:
            raise SystemExit("our raw and rollup paths differ: a bug")
        pandas_time, answer = median_time(partial(pandas_query, frame, query), repeat)
        duck_time, duck_rows = median_time(partial(duckdb_query, connection, query), repeat)
        rows.append(
            {
                "size": size,
                "granularity": granularity,
                "buckets": len(plain(query).ts),
                "raw": raw_time,
                "rollup": roll_time,
                "build": build_time,
                "pandas": pandas_time,
                "duckdb": duck_time,
                "pandas_agrees": differences(ours, pandas_cells(answer)),
                "duckdb_agrees": differences(ours, duckdb_cells(duck_rows)),
            }
        )
        if granularity == "hour" and try_plain_floor:
            try:
                pandas_query(frame, query, careful=False)
                notes.append("pandas floor('h') without ambiguous=: no error")
            except ValueError as exc:
                notes.append(f"pandas floor('h') without ambiguous=: {type(exc).__name__}: {exc}")
    connection.close()
    return rows


def report(rows: list[dict[str, Any]], notes: list[str]) -> None:
    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:9.2f}"

    print(f"America/New_York, grouped by agent; medians; times in ms. Machine: {_machine()}")
    header = (
        f"{'conversations':>13} {'gran':>4} {'bkts':>4} {'ours raw':>9} {'ours rollup':>11} "
        f"{'(build)':>9} {'pandas':>9} {'duckdb':>9} {'pandas/raw':>10} {'duckdb/raw':>10} "
        f"{'pandas/rollup':>13} {'duckdb/rollup':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>13,} {r['granularity']:>4} {r['buckets']:>4} {ms(r['raw'])} "
            f"{ms(r['rollup']):>11} {ms(r['build'])} {ms(r['pandas'])} {ms(r['duckdb'])} "
            f"{r['pandas'] / r['raw']:>9.1f}x {r['duckdb'] / r['raw']:>9.1f}x "
            f"{r['pandas'] / r['rollup']:>12.1f}x {r['duckdb'] / r['rollup']:>12.1f}x"
        )
    print()
    print(
        "Answers compared with ours, cell by cell (pandas floors with ambiguous= set from "
        "each row's DST flag; DuckDB uses date_trunc on TIMESTAMPTZ):"
    )
    for r in rows:
        print(
            f"  {r['size']:>11,} {r['granularity']:>4}: pandas {r['pandas_agrees']}; "
            f"DuckDB {r['duckdb_agrees']}"
        )
    print()
    by_size: dict[str, dict[int, float]] = {}
    for r in rows:
        by_size.setdefault(r["granularity"], {})[r["size"]] = r["rollup"]
    for granularity, times in by_size.items():
        shown = ", ".join(f"{size:,}: {t * 1e3:.2f} ms" for size, t in sorted(times.items()))
        print(f"Rollup query time by dataset size ({granularity}): {shown}")
    day = [r for r in rows if r["granularity"] == "day"]
    if day:
        first = min(day, key=lambda r: r["size"])
        best = min(first["raw"], first["rollup"])
        print(
            f"Day query on {first['size']:,}: ours {best * 1e3:.2f} ms (raw "
            f"{first['raw'] * 1e3:.2f}); 1/3 of pandas = {first['pandas'] / 3 * 1e3:.2f} ms; "
            f"DuckDB = {first['duckdb'] * 1e3:.2f} ms"
        )
    print()
    for note in sorted(notes, key=lambda n: n.startswith("pandas")):
        print(note)


def _machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{versions()}"
    )


if __name__ == "__main__":
    main()
