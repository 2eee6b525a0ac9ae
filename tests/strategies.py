"""Hypothesis strategies for the property tests of the buckets and the aggregator.

A random instant in a random zone almost never falls on a DST day, so half of
the anchors are drawn next to one of the zone's own transitions; some are
before 1900 (local mean time offsets with seconds) and some centuries ahead
(transitions from the zone's POSIX rule, repeated in 400-year cycles).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

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
def anchors(draw: st.DrawFn, tz: str) -> int:
    """An instant (s) where interesting things happen in ``tz`` often enough."""
    kind = draw(st.sampled_from(["transition", "transition", "modern", "old", "future"]))
    uniform = _uniform(draw)
    if kind == "transition":
        instants, _ = get_timeline(tz).transitions(_second(1850), _second(2100))
        if len(instants):
            chosen = int(draw(st.sampled_from(instants.tolist())))
            return chosen + uniform.randint(-3 * DAY, 3 * DAY)
        kind = "modern"
    lo, hi = {"modern": (1900, 2100), "old": (1800, 1900), "future": (2100, 9900)}[kind]
    return uniform.randint(_second(lo), _second(hi))


@st.composite
def windows(draw: st.DrawFn, tz: str | None = None) -> Window:
    zone = tz or draw(st.sampled_from(ZONES))
    granularity = draw(st.sampled_from(["hour", "day", "month"]))
    limit = draw(st.integers(1, MAX_LIMIT[granularity]))
    anchor = draw(anchors(zone))
    # Whole seconds usually; sometimes a fraction, as a request may write one.
    start = anchor * US + draw(st.sampled_from([0, 0, 0, 1, 999_999, 500_000]))
    longest = LONGEST[granularity] * US
    longest_length = draw(st.sampled_from([1, limit + 2, 20 * (limit + 2)])) * longest
    length = _uniform(draw).randint(1, longest_length)
    return Window(tz=zone, granularity=granularity, start=start, end=start + length, limit=limit)
