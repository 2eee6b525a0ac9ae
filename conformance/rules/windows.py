"""Where in time the account under test has data, and how to write instants.

Relations between answers prove little over empty ranges, and the server's
data may lie anywhere in time. The kit asks once, by month over the last 40
years, and takes the most recent month with conversations -- or, given the
dataset, reads it there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from usagekit.conformance.context import KitContext, query
from usagekit.mock.core.instants import US, format_instant, parse_datetime
from usagekit.mock.core.zones import get_timeline

__all__ = ["Window", "active_window", "local_midnight", "written", "written_in"]

_DAY = 86_400 * US


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time ``[start, end)`` (µs) in which the account has conversations."""

    start: int
    end: int
    has_data: bool


def written(instant: int) -> str:
    """An instant as an RFC 3339 UTC date-time."""
    return format_instant(instant, 0)


def written_in(zone: str, instant: int) -> str:
    """An instant as an RFC 3339 date-time in ``zone``'s offset there."""
    return format_instant(instant, get_timeline(zone).offset_at(instant // US))


def local_midnight(zone: str, instant: int) -> int:
    """The instant of the local midnight that starts ``instant``'s local date in ``zone``."""
    timeline = get_timeline(zone)
    local = instant + timeline.offset_at(instant // US) * US
    day = str(np.datetime64(local // US, "s").astype("M8[D]"))
    return parse_datetime(f"{day}T00:00:00").instant(timeline)


def active_window(ctx: KitContext) -> Window:
    """The most recent UTC month with completed conversations (and the month before it)."""
    found = ctx.memo.get("window")
    if isinstance(found, Window):
        return found
    window = _from_dataset(ctx) or _from_server(ctx)
    ctx.memo["window"] = window
    return window


def _from_dataset(ctx: KitContext) -> Window | None:
    dataset = ctx.oracle.dataset
    if dataset is None or dataset.account(ctx.config.account_id) is None:
        return None
    starts = dataset.scope(ctx.config.account_id).start
    if not len(starts):
        return None
    return _around(int(starts[-1]), has_data=True)


def _from_server(ctx: KitContext) -> Window:
    body = ctx.look(
        query(granularity="month", tz="UTC", limit=500, start=_years_ago(ctx, 40))
    ).usage
    if body is not None:  # else usage_body_shape or status_matches_reference say why
        active = [b for b in body.buckets if any(v.conversations for v in b.values or ())]
        if active:
            return _around(active[-1].ts.instant, has_data=True)
    now = ctx.config.now()
    return Window(start=now - 60 * _DAY, end=now - _DAY, has_data=False)


def _around(instant: int, *, has_data: bool) -> Window:
    month = np.datetime64(instant // US, "s").astype("M8[M]")
    start = int((month - 1).astype("M8[s]").astype(np.int64)) * US
    end = int((month + 1).astype("M8[s]").astype(np.int64)) * US
    return Window(start=start, end=end, has_data=has_data)


def _years_ago(ctx: KitContext, years: int) -> str:
    return written(ctx.config.now() - years * 365 * _DAY)
