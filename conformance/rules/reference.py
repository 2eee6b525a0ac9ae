"""Exact answers: a sample of queries compared with the reference aggregator.

Given the dataset the server serves (``--data``), every 200 of the run is
compared with the reference aggregator's answer by ``matches_reference``; this
scenario makes sure the comparison covers every granularity, grouping, scope
and a few zones, whatever schemathesis generates.
"""

from __future__ import annotations

from itertools import product

from usagekit.conformance.config import Requirement
from usagekit.conformance.context import KitContext, query
from usagekit.conformance.exchange import KeyRole
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule
from usagekit.conformance.rules.windows import active_window, written

__all__ = ["reference_answers"]

GROUPINGS = (None, ["agent"], ["subaccount"], ["type"], ["type", "agent", "subaccount"])


@scenario_rule(Profile.REFERENCE, requires=Requirement.DATA)
def reference_answers(ctx: KitContext) -> None:
    """Answers over the dataset equal the reference's for every granularity and grouping.

    Accepts: what matches_reference accepts.
    """
    window = active_window(ctx)
    span = {"start": written(window.start), "end": written(window.end)}
    accounts = [("me", KeyRole.ACCOUNT)]
    if ctx.config.subaccount_id is not None:
        accounts.append((ctx.config.subaccount_id, KeyRole.ACCOUNT))
    for (account, key), granularity, group_by in product(
        accounts, ("hour", "day", "month"), GROUPINGS
    ):
        ctx.usage(
            query(**span, granularity=granularity, group_by=group_by), account=account, key=key
        )
    for zone in ("America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"):
        ctx.usage(query(**span, granularity="day", tz=zone, group_by=["agent"]))
    ctx.usage(query(granularity="day"))
    # Ranges that start and end exactly where conversations start: [start, end) is half-open.
    dataset = ctx.oracle.dataset
    starts = dataset.scope(ctx.config.account_id).start if dataset is not None else ()
    if len(starts) >= 4:
        for lo, hi in ((len(starts) // 4, len(starts) // 2), (len(starts) // 2, len(starts) - 1)):
            edges = {"start": written(int(starts[lo])), "end": written(int(starts[hi]))}
            ctx.usage(query(**edges, granularity="month"))
            ctx.usage(query(**edges, granularity="hour", group_by=["type"]))
