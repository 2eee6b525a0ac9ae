"""The bulk of a synthetic dataset: every conversation, drawn with numpy.

The time range is cut into hours. Each account's expected volume in an hour
is the product of its rhythm at that *local* hour and weekday (in its home
zone, so DST moves the peak with the clock), its growth trend, a little
day-to-day noise, and a dip on the platform's outage days. The account's
conversations are spread over the hours by a multinomial draw, so the total
is exactly the requested size, then each gets a type, direction, agent
(Zipf-like popularity), status and a lognormal duration. A conversation that
has not ended by ``now`` is ``in_progress``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from usagekit.mock.core.dataset import NO_AGENT, STATUSES, Account, Conversations
from usagekit.mock.core.instants import US
from usagekit.mock.core.zones import get_timeline

from ._profiles import (
    DIRECTION_BY_TYPE,
    DURATION,
    NO_AGENT_BY_TYPE,
    STATUS_BY_TYPE,
    STATUS_IN_OUTAGE,
    Rhythm,
)

__all__ = ["Business", "draw_conversations"]

HOUR = 3600 * US
DAY = 24 * HOUR
COMPLETED = STATUSES.index("completed")
FAILED = STATUSES.index("failed")
TRANSFERRED = STATUSES.index("transferred")
IN_PROGRESS = STATUSES.index("in_progress")
MAX_DURATION = 4 * 3600
#: Volume on an outage day, relative to a normal one: callers give up.
OUTAGE_VOLUME = 0.5


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Business:
    """How one account's traffic behaves."""

    account: Account
    zone: str
    rhythm: Rhythm
    weight: float  # relative share of all conversations
    growth: float  # volume at the end of the range / volume at its start
    type_mix: np.ndarray  # probability of each conversation type
    zipf: float  # exponent of agent popularity


def draw_conversations(
    businesses: tuple[Business, ...],
    rng: np.random.Generator,
    *,
    now: int,
    size: int,
    days: int,
) -> Conversations:
    """``size`` conversations starting in ``[now - days, now)``, sorted by start."""
    lo = now - days * DAY
    cells = days * 24
    middles = (lo + np.arange(cells, dtype=np.int64) * HOUR + HOUR // 2) // US  # seconds
    outage = _outage_hours(rng, lo, now, middles)
    counts = _split(size, np.array([b.weight for b in businesses]))
    agent_base = np.cumsum([0] + [len(b.account.agents) for b in businesses])
    parts = []
    for code, (business, count) in enumerate(zip(businesses, counts, strict=True)):
        volume = _volume(business, rng, middles, outage)
        per_hour = rng.multinomial(count, volume / volume.sum())
        cell = np.repeat(np.arange(cells, dtype=np.int64), per_hour)
        parts.append(_rows(business, rng, cell, outage, lo, code, int(agent_base[code])))
    # Column by column, each dropped from the parts once joined, to keep the peak low.
    columns = {name: np.concatenate([p.pop(name) for p in parts]) for name in _COLUMNS}
    _cover_every_type_and_status(columns, rng, now)
    columns["duration"] = _durations(rng, columns["type"], columns["status"])
    _stop_at(columns, rng, now)
    order = np.argsort(columns["start"], kind="stable")
    for name in (*_COLUMNS, "duration"):
        columns[name] = columns[name][order]
    del order
    return Conversations(ids=_uuids(rng, size), **columns)


_COLUMNS = ("start", "account", "agent", "type", "direction", "status")


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` in whole parts proportional to ``weights``, at least 1 each."""
    share = (total - len(weights)) * weights / weights.sum()
    parts = np.floor(share).astype(np.int64)
    # The largest remainders take what flooring left over (ties: the first).
    left = total - len(weights) - int(parts.sum())
    parts[np.argsort(-(share - parts), kind="stable")[:left]] += 1
    return parts + 1


def _outage_hours(rng: np.random.Generator, lo: int, now: int, middles: np.ndarray) -> np.ndarray:
    """Whether each hour falls on one of 2 to 4 UTC outage days (not in the last three)."""
    first = -(-lo // DAY) * DAY
    candidates = np.arange(first, now - 3 * DAY - DAY + 1, DAY, dtype=np.int64)
    if not len(candidates):
        return np.zeros(len(middles), dtype=bool)
    picked = rng.choice(
        candidates, size=min(len(candidates), int(rng.integers(2, 5))), replace=False
    )
    day = middles * US // DAY * DAY
    return np.isin(day, picked)


def _volume(
    business: Business, rng: np.random.Generator, middles: np.ndarray, outage: np.ndarray
) -> np.ndarray:
    """Expected relative volume of ``business`` in each hour."""
    local = middles + get_timeline(business.zone).offsets_at(middles)
    hour = (local % 86_400) / 3600
    knots = np.arange(24) + 0.5
    by_hour = np.interp(hour, knots, business.rhythm.hours, period=24)
    local_day = local // 86_400
    by_weekday = np.asarray(business.rhythm.week)[(local_day + 3) % 7]  # 1970-01-01: Thursday
    day_index = local_day - local_day[0]
    noise = rng.lognormal(0.0, 0.15, size=int(day_index[-1]) + 1)[day_index]
    trend = business.growth ** np.linspace(0.0, 1.0, len(middles))
    return by_hour * by_weekday * trend * noise * np.where(outage, OUTAGE_VOLUME, 1.0)


def _rows(
    business: Business,
    rng: np.random.Generator,
    cell: np.ndarray,
    outage: np.ndarray,
    lo: int,
    account: int,
    agent_base: int,
) -> dict[str, np.ndarray]:
    n = len(cell)
    type_ = _categorical(rng, np.broadcast_to(business.type_mix, (1, 4)), np.zeros(n, np.int8))
    direction = _categorical(rng, DIRECTION_BY_TYPE, type_)
    in_outage = outage[cell]
    status = np.where(
        in_outage,
        _categorical(rng, STATUS_IN_OUTAGE, type_),
        _categorical(rng, STATUS_BY_TYPE, type_),
    ).astype(np.int8)
    agents = len(business.account.agents)
    popularity = 1.0 / np.arange(1, agents + 1) ** business.zipf
    popularity = rng.permutation(popularity)
    agent = agent_base + rng.choice(agents, size=n, p=popularity / popularity.sum())
    unassigned = rng.random(n) < NO_AGENT_BY_TYPE[type_]
    return {
        # Whole seconds after the hour, as the vendor's records have them.
        "start": lo + cell * HOUR + rng.integers(0, 3600, size=n) * US,
        "account": np.full(n, account, dtype=np.int32),
        "agent": np.where(unassigned, NO_AGENT, agent).astype(np.int32),
        "type": type_,
        "direction": direction,
        "status": status,
    }


def _categorical(rng: np.random.Generator, table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For each row, a column of ``table`` drawn with the probabilities of row ``group``."""
    cdf = np.cumsum(table, axis=1)
    u = rng.random(len(group))
    code = np.zeros(len(group), dtype=np.int8)
    for column in range(table.shape[1] - 1):
        code += u >= cdf[group, column]
    return code


def _cover_every_type_and_status(
    columns: dict[str, np.ndarray], rng: np.random.Generator, now: int
) -> None:
    """Make sure that each type, failed and transferred occur (small datasets may miss one).

    Only rows that end before ``now`` whatever their duration are used and
    changed, and only rows whose (type, status) occurs more than once, so
    that neither this nor :func:`_stop_at` removes a pair that is needed.
    """
    settled = columns["start"] < now - MAX_DURATION * US
    pair = columns["type"].astype(np.int64) * 4 + columns["status"]
    for type_, status in [(t, COMPLETED) for t in range(4)] + [(0, FAILED), (0, TRANSFERRED)]:
        counts = np.bincount(pair[settled], minlength=16)
        if counts[type_ * 4 + status]:
            continue
        spare = np.flatnonzero(settled & (counts[pair] > 1))
        if not len(spare):  # a dataset of a few dozen hours: nothing left to spare
            return
        row = int(spare[rng.integers(len(spare))])
        columns["type"][row] = type_
        columns["status"][row] = status
        columns["direction"][row] = 2 if type_ == 2 else 0  # test calls are internal
        pair[row] = type_ * 4 + status


def _stop_at(columns: dict[str, np.ndarray], rng: np.random.Generator, now: int) -> None:
    """Conversations that have not ended by ``now`` are in progress, for as long as they ran.

    At least one is: if none is running, the latest conversation of the first
    account (the demo account) whose (type, status) occurs more than once is
    moved to the last minutes.
    """
    start, duration, status = columns["start"], columns["duration"], columns["status"]
    running = start + duration * US > now
    if not running.any():
        pair = columns["type"].astype(np.int64) * 4 + status
        common = np.bincount(pair, minlength=16)[pair] > 1
        first = np.flatnonzero((columns["account"] == 0) & common)
        row = first[np.argmax(start[first])]
        start[row] = now - int(rng.integers(30, 600)) * US
        running[row] = True
    status[running] = IN_PROGRESS
    duration[running] = (now - start[running]) // US


def _durations(rng: np.random.Generator, type_: np.ndarray, status: np.ndarray) -> np.ndarray:
    kind = np.where(status == FAILED, 4, np.where(status == TRANSFERRED, 5, type_))
    median, sigma = DURATION[kind, 0], DURATION[kind, 1]
    seconds = np.floor(median * np.exp(sigma * rng.standard_normal(len(kind))))
    floor = np.where(status == FAILED, 0, 1)  # only a failed call may last 0 s
    return np.clip(seconds, floor, MAX_DURATION).astype(np.int64)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct random version-4 UUIDs as 36-byte strings."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    while True:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        # Distinct first halves make distinct ids. Among 60 random bits a repeat
        # is rare (about once in two million datasets of a million ids), but
        # the loader would reject it.
        head = raw[:, :8].copy().view(np.uint64).ravel()
        order = np.argsort(head, kind="stable")
        repeats = order[1:][head[order[1:]] == head[order[:-1]]]
        del head, order
        if not len(repeats):
            break
        raw[repeats] = rng.integers(0, 256, size=(len(repeats), 16), dtype=np.uint8)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for lo in range(0, n, 65_536):  # in slices, to keep the temporaries small
        chunk = raw[lo : lo + 65_536]
        digits = np.empty((len(chunk), 32), dtype=np.uint8)
        digits[:, 0::2] = _HEX[chunk >> 4]
        digits[:, 1::2] = _HEX[chunk & 0x0F]
        for first, last, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
            text[lo : lo + len(chunk), at : at + last - first] = digits[:, first:last]
    return text.view("S36").ravel()
