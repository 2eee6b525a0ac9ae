"""Random queries and datasets for the property tests of the buckets and the aggregator.

A random instant in a random zone almost never falls on a DST day, so half of
the anchors are drawn next to one of the zone's own transitions; some are
before 1900 (local mean time offsets with seconds) and some centuries ahead
(transitions from the zone's POSIX rule, repeated in 400-year cycles).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import factories
import numpy as np
from hypothesis import strategies as st

from usagekit.mock.core.dataset import ConversationRecord
from usagekit.mock.core.zones import available_zones, get_timeline

US = 1_000_000
HOUR = 3600
DAY = 86_400
ZONES = sorted(available_zones())
#: Small enough for the brute force to walk quickly (it walks every minute).
MAX_LIMIT = {"hour": 48, "day": 12, "month": 3}
LONGEST = {"hour": HOUR, "day": 2 * DAY, "month": 32 * DAY}


def _second(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01", "s").astype(np.int64))


@dataclass(frozen=True, slots=True)
class Window:
    """A random query range: ``[start, end)`` in µs, in ``tz``, cut at ``limit`` buckets."""

    tz: str
    granularity: str
    start: int
    end: int
    limit: int


def _uniform(draw: st.DrawFn) -> random.Random:
    """Uniform draws over wide spans: hypothesis' own integers favour small and
    boundary values, which would make almost every range shorter than a minute."""
    return random.Random(draw(st.integers(0, 2**32 - 1)))


@st.composite
def anchors(draw: st.DrawFn, tz: str, since: int = 1850) -> int:
    """An instant (s) where interesting things happen in ``tz`` often enough."""
    kinds = ["transition", "transition", "modern", "future"] + (["old"] if since < 1900 else [])
    kind = draw(st.sampled_from(kinds))
    uniform = _uniform(draw)
    if kind == "transition":
        instants, _ = get_timeline(tz).transitions(_second(since), _second(2100))
        if len(instants):
            chosen = int(draw(st.sampled_from(instants.tolist())))
            return chosen + uniform.randint(-3 * DAY, 3 * DAY)
        kind = "modern"
    lo, hi = {"modern": (max(since, 1900), 2100), "old": (1800, 1900), "future": (2100, 9900)}[kind]
    return uniform.randint(_second(lo), _second(hi))


@st.composite
def windows(draw: st.DrawFn, since: int = 1850) -> Window:
    """A random zone, granularity, limit and range, anchored no earlier than ``since``."""
    zone = draw(st.sampled_from(ZONES))
    granularity = draw(st.sampled_from(["hour", "day", "month"]))
    limit = draw(st.integers(1, MAX_LIMIT[granularity]))
    anchor = draw(anchors(zone, since))
    # Whole seconds usually; sometimes a fraction, as a request may write one.
    start = anchor * US + draw(st.sampled_from([0, 0, 0, 1, 999_999, 500_000]))
    longest = LONGEST[granularity] * US
    longest_length = draw(st.sampled_from([1, limit + 2, 20 * (limit + 2)])) * longest
    length = _uniform(draw).randint(1, longest_length)
    return Window(tz=zone, granularity=granularity, start=start, end=start + length, limit=limit)


AGENTS = ("agent-a", "agent-b", "agent-c", None)
TYPES = ("phone", "web", "test", "unknown")
STATUSES = ("completed",) * 6 + ("in_progress", "failed", "transferred")


def conversations(
    seed: int, lo: int, hi: int, count: int, at: Sequence[int] = ()
) -> list[ConversationRecord]:
    """``count`` random conversations starting in ``[lo, hi)`` (µs), and one at each of
    ``at`` and a microsecond either side (bucket and range edges are where off-by-one
    mistakes live), spread over the three accounts of :mod:`factories`."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(lo, max(hi, lo + 1), count).tolist()
    starts += [t + d for t in at for d in (-1, 0, 1)]
    accounts = (factories.PARENT, factories.CHILD, factories.OTHER)
    return [
        ConversationRecord(
            conversation_id=f"conv-{i:05d}",
            account_id=accounts[rng.integers(len(accounts))],
            agent_id=AGENTS[rng.integers(len(AGENTS))],
            type=TYPES[rng.integers(len(TYPES))],
            direction="inbound",
            status=STATUSES[rng.integers(len(STATUSES))],
            start=int(start),
            duration_seconds=int(rng.integers(0, 4000)),
        )
        for i, start in enumerate(starts)
    ]
