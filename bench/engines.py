"""pandas and DuckDB computing the aggregate bench's answer, each as its users would.

The bench's rivals, not runtime dependencies (the ``bench`` extra): each gets
the data in its own form (a pandas frame indexed by time, a DuckDB table),
answers a :class:`UsageQuery`, and gives its answer as :data:`workload.Cells`.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from workload import AGENTS, TZ, Cells, Data

from usagekit.mock.core.dataset import COMPLETED
from usagekit.mock.core.query import UsageQuery

# -- pandas


def pandas_frame(data: Data) -> pd.DataFrame:
    codes = np.where(data.agent < 0, len(AGENTS), data.agent)
    frame = pd.DataFrame(
        {
            "duration": data.duration,
            "status": data.status,
            "agent": pd.Categorical.from_codes(codes, categories=[*AGENTS, "unassigned"]),
        },
        index=pd.DatetimeIndex(pd.to_datetime(data.start, unit="us", utc=True), name="ts"),
    )
    return frame


def pandas_query(frame: pd.DataFrame, query: UsageQuery, careful: bool = True) -> pd.DataFrame:
    index = frame.index
    lo = index.searchsorted(pd.Timestamp(query.start, unit="us", tz="UTC"))
    hi = index.searchsorted(pd.Timestamp(query.end, unit="us", tz="UTC"))
    part = frame.iloc[lo:hi]
    part = part[part["status"].to_numpy() == COMPLETED]
    local = part.index.tz_convert(query.tz)
    freq = {"hour": "h", "day": "D"}[query.granularity.value]
    if careful:
        # floor works on wall time: a repeated wall time needs each row's own DST flag.
        offset = local.tz_localize(None).asi8 - part.index.tz_localize(None).asi8
        standard = offset.min()
        bucket = local.floor(freq, ambiguous=offset != standard, nonexistent="shift_forward")
    else:
        bucket = local.floor(freq)
    grouped = part.groupby([bucket, part["agent"]], observed=True)["duration"]
    return grouped.agg(["sum", "size"])


def pandas_cells(answer: pd.DataFrame) -> Cells:
    return {
        (stamp.value // 1000, str(agent)): (int(s), int(c))
        for (stamp, agent), s, c in zip(
            answer.index, answer["sum"].tolist(), answer["size"].tolist(), strict=True
        )
    }


# -- DuckDB


def duckdb_connection(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"SET TimeZone = '{TZ}'")
    connection.register("frame", frame.reset_index())
    connection.execute("CREATE TABLE conversations AS SELECT * FROM frame")
    connection.unregister("frame")
    return connection


def duckdb_query(connection: duckdb.DuckDBPyConnection, query: UsageQuery) -> list[tuple]:
    sql = f"""
        SELECT date_trunc('{query.granularity.value}', ts) AS bucket, agent,
               sum(duration) AS seconds, count(*) AS conversations
        FROM conversations
        WHERE status = {COMPLETED} AND ts >= make_timestamptz($1) AND ts < make_timestamptz($2)
        GROUP BY ALL
        ORDER BY bucket, agent
    """
    return connection.execute(sql, [query.start, query.end]).fetchall()


def duckdb_cells(rows: list[tuple]) -> Cells:
    epoch = pd.Timestamp(0, tz="UTC")
    return {
        ((pd.Timestamp(bucket) - epoch) // pd.Timedelta(microseconds=1), str(agent)): (
            int(seconds),
            int(count),
        )
        for bucket, agent, seconds, count in rows
    }


def versions() -> str:
    """The rivals' versions, for the bench's machine line."""
    return f"pandas {pd.__version__}, duckdb {duckdb.__version__}"
