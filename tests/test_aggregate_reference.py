"""The aggregator against the contract's own response examples, and against brute force."""

from __future__ import annotations

import json

import brute
import factories
import strategies
from factories import CHILD, OTHER, PARENT, conversation
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.mock.core.aggregate import Aggregator, aggregate
from usagekit.mock.core.buckets import Granularity
from usagekit.mock.core.dataset import Account, Agent
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import Dimension, RawQuery, UsageQuery, resolve_query
from usagekit.mock.spec import OPERATION_PATH, load_spec

NOW = factories.at("2024-06-15T12:00:00Z")

# -- the contract's own response examples


def split(total: int, count: int) -> list[int]:
    """``count`` durations that add up to ``total``."""
    return [total // count] * (count - 1) + [total - (total // count) * (count - 1)]


def contract_example(name: str) -> dict:
    operation = load_spec()["paths"][OPERATION_PATH]["get"]
    return operation["responses"]["200"]["content"]["application/json"]["examples"][name]["value"]


def test_the_contracts_grouped_example_is_what_the_aggregator_answers():
    expected = contract_example("grouped_by_agent")
    meta = expected["meta"]
    agent = "0b8f3c1e-2a4d-4e6f-8a1b-3c5d7e9f1a2b"
    accounts = (
        Account(
            id=meta["account_id"],
            parent_id=None,
            name="Example",
            api_keys=("sk-example",),
            agents=(Agent(id=agent, name="Agent"),),
        ),
    )
    plan = [("2024-03-01T09:00:00+01:00", agent, 18_240, 97)]
    plan += [("2024-03-01T15:00:00+01:00", None, 3_110, 21)]
    plan += [("2024-03-02T11:00:00+01:00", agent, 4_620, 25)]
    records = [
        conversation(start, seconds, account=meta["account_id"], agent=who, id=f"{start}-{i}")
        for start, who, total, count in plan
        for i, seconds in enumerate(split(total, count))
    ]
    dataset = factories.dataset(records, accounts)
    raw = RawQuery(
        start=meta["start"],
        end=meta["end"],
        granularity=meta["granularity"],
        group_by=meta["group_by"],
        tz=meta["tz"],
    )
    query = resolve_query(raw, account_id=meta["account_id"], now=NOW)
    assert aggregate(dataset, query).to_dict() == expected


def test_the_contracts_fall_back_example_is_what_the_aggregator_answers():
    expected = contract_example("fall_back_hours")
    meta = expected["meta"]
    accounts = (
        Account(id=meta["account_id"], parent_id=None, name="E", api_keys=("sk-e",), agents=()),
    )
    # 04:xxZ is 00:xx EDT, 05:xxZ 01:xx EDT, 07:xxZ 02:xx EST.
    plan = [("2024-11-03T04:10:00Z", 1_260, 7), ("2024-11-03T05:20:00Z", 840, 5)]
    plan += [("2024-11-03T07:30:00Z", 395, 2)]
    records = [
        conversation(start, seconds, account=meta["account_id"], agent=None, id=f"{start}-{i}")
        for start, total, count in plan
        for i, seconds in enumerate(split(total, count))
    ]
    dataset = factories.dataset(records, accounts)
    raw = RawQuery(start=meta["start"], end=meta["end"], granularity="hour", tz=meta["tz"])
    query = resolve_query(raw, account_id=meta["account_id"], now=NOW)
    assert aggregate(dataset, query).to_dict() == expected


# -- random queries against the brute force


@settings(max_examples=150, deadline=None)
@given(
    strategies.windows(),
    st.lists(st.sampled_from(["agent", "subaccount", "type"]), unique=True),
    st.sampled_from([PARENT, CHILD, OTHER]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_aggregator_matches_the_brute_force_on_both_paths(window, group_by, account, seed, dense):
    starts, stop = brute.buckets(
        window.tz, window.granularity, window.start, window.end, window.limit
    )
    first = starts[0] * US
    span = stop - first
    # Sparse data around the range, records on every edge, and, half of the time,
    # enough records inside the range for the rollup path to take over.
    edges = [s * US for s in starts] + [stop, window.start, window.end]
    records = strategies.conversations(seed, first - span // 4, stop + span // 4, 30, at=edges)
    if dense:
        records += strategies.conversations(seed + 1, window.start, stop, 40 * len(starts))
    dataset = factories.dataset(records)
    query = UsageQuery(
        account_id=account,
        start=window.start,
        end=window.end,
        granularity=Granularity(window.granularity),
        group_by=tuple(Dimension(d) for d in group_by),
        tz=window.tz,
        limit=window.limit,
    )
    raw = Aggregator(dataset, use_rollups=False)(query).to_json()
    assert Aggregator(dataset)(query).to_json() == raw
    expected = brute.answer(
        factories.ACCOUNTS,
        records,
        account_id=account,
        start=window.start,
        end=window.end,
        granularity=window.granularity,
        group_by=group_by,
        tz=window.tz,
        limit=window.limit,
    )
    assert json.loads(raw) == expected


def test_one_aggregator_answers_many_queries_from_shared_rollups():
    # Rollups are kept per (account, set of dimensions) and shared by every order of
    # group_by; each answer must still equal the raw path's.
    day = 86_400 * US
    first = factories.at("2024-03-01T00:00:00Z")
    records = strategies.conversations(7, first, first + 60 * day, 30_000)
    dataset = factories.dataset(records)
    shared = Aggregator(dataset)
    orders = (["type", "agent"], ["agent", "type"], ["agent"], [], ["subaccount", "type", "agent"])
    for account in (PARENT, CHILD):
        for granularity in ("hour", "day"):
            for group_by in orders:
                raw = RawQuery(
                    start="2024-03-05T10:07:00",
                    end="2024-04-20T00:00:00",
                    granularity=granularity,
                    group_by=group_by,
                    tz="America/New_York",
                )
                query = resolve_query(raw, account_id=account, now=NOW)
                expected = aggregate(dataset, query).to_json()
                assert shared(query).to_json() == expected
