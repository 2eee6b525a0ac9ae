"""The fast encoder writes exactly the bytes of the reference encoder, query after query."""

from __future__ import annotations

import dataclasses
import json
import random

import factories
import numpy as np
import pytest
from factories import CHILD, OTHER, PARENT
from reference_encoder import reference_json

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Account, Agent
from usagekit.mock.core.instants import US, format_instant
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets import synthetic

NOW = factories.at("2025-01-15T00:00:00Z")
DAY = 86_400 * US
ZONES = ("UTC", "America/New_York", "Europe/Vienna", "Asia/Kolkata", "Australia/Lord_Howe")
GROUPS = (None, ["agent"], ["type"], ["subaccount"], ["type", "agent"], ["agent", "subaccount"])
GROUPS += (["subaccount", "type", "agent"],)


def random_queries(rng: random.Random, account: str, count: int, *, days: int = 400):
    """Seeded random queries over the dataset's span: every granularity, zone and grouping."""
    for _ in range(count):
        granularity = rng.choice(["hour", "day", "month"])
        span = {"hour": rng.randint(1, 30), "day": rng.randint(1, 120), "month": 400}[granularity]
        start = NOW - rng.randrange(days * 86_400 // 60) * 60 * US
        raw = RawQuery(
            start=format_instant(start, 0),
            end=format_instant(start + span * DAY, 0),
            granularity=granularity,
            group_by=rng.choice(GROUPS),
            tz=rng.choice(ZONES),
            limit=rng.choice([None, 1, 7, 500]),
        )
        yield resolve_query(raw, account_id=account, now=NOW)


@pytest.fixture(scope="module")
def synthetic_dataset():
    return synthetic.generate(seed=7, now=NOW, size=20_000)


def test_the_encoder_writes_the_reference_bytes_on_thousands_of_random_queries(
    synthetic_dataset,
):
    aggregator = Aggregator(synthetic_dataset)
    rng = random.Random(13)
    accounts = [a.id for a in synthetic_dataset.accounts]
    grouped = 0
    for i in range(2_000):
        query = next(random_queries(rng, accounts[i % len(accounts)], 1))
        result = aggregator(query)
        assert result.to_json() == reference_json(result), query
        grouped += bool(query.group_by) and len(result.tally) > 0
    assert grouped > 500  # the grouped path was exercised with values, not only empties


ODD = (
    Account(
        id=PARENT,
        parent_id=None,
        name="Parent",
        api_keys=("sk-odd",),
        agents=(Agent(id='agent "quoted"\\', name="Q"), Agent(id="agént-ü-😀", name="U")),
    ),
    Account(id=CHILD, parent_id=PARENT, name="Child", api_keys=(), agents=()),
    Account(id=OTHER, parent_id=None, name="Other", api_keys=(), agents=()),
)


def test_the_encoder_escapes_dimension_values_like_the_reference():
    c = factories.conversation
    records = [
        c("2024-12-01T10:00:00Z", 5, agent='agent "quoted"\\'),
        c("2024-12-01T11:00:00Z", 7, agent="agént-ü-😀", type="web"),
        c("2024-12-03T11:00:00Z", 9, agent=None, account=CHILD),
    ]
    dataset = factories.dataset(records, ODD)
    aggregator = Aggregator(dataset)
    for query in random_queries(random.Random(5), PARENT, 300, days=60):
        result = aggregator(query)
        body = result.to_json()
        assert body == reference_json(result)
        json.loads(body)


def test_the_encoder_writes_any_count_like_the_reference(synthetic_dataset):
    """Numbers of every length (0, each power of ten and its neighbours, int64's
    largest), also negative ones no dataset holds, over grids with empty buckets; a
    third of the bodies with every number below 10**4 (one chunk of digits), a third
    below 10**8 (two), the encoder's shorter paths."""
    aggregator = Aggregator(synthetic_dataset)
    account = synthetic_dataset.accounts[0].id
    tens = [10**k + d for k in range(19) for d in (-1, 0, 1) if 10**k + d < 2**63]
    numbers = np.array([0, *tens, 2**63 - 1], dtype=np.int64)
    rng = np.random.default_rng(3)
    checked = 0
    for query in random_queries(random.Random(11), account, 200):
        result = aggregator(query)
        rows = len(result.tally)
        if not rows:
            continue
        pool = numbers[numbers <= (10**4 - 1, 10**8 - 1, 2**63 - 1)[checked % 3]]
        for sign in (1, -1) if checked % 10 == 0 else (1,):
            tally = dataclasses.replace(
                result.tally,
                seconds=sign * rng.choice(pool, rows),
                conversations=rng.choice(pool, rows),
            )
            changed = dataclasses.replace(result, tally=tally)
            assert changed.to_json() == reference_json(changed), query
        checked += 1
    assert checked > 100


def test_the_encoder_writes_many_dimension_combinations_like_the_reference():
    """Past the dense table of every combination, the encoder writes those that occur."""
    c = factories.conversation
    agents = tuple(Agent(id=f"agent-{i:03d}-{'x' * 60}", name=str(i)) for i in range(150))
    accounts = (dataclasses.replace(ODD[0], agents=agents), *ODD[1:])
    rng = random.Random(2)
    records = [
        c(
            f"2024-12-{rng.randint(1, 20):02d}T{rng.randint(0, 23):02d}:00:00Z",
            rng.randint(0, 10**6),
            agent=rng.choice(agents).id,
            type=rng.choice(["phone", "web", "test"]),
            account=rng.choice([PARENT, CHILD]),
        )
        for _ in range(3_000)
    ]
    dataset = factories.dataset(records, accounts)
    aggregator = Aggregator(dataset)
    for query in random_queries(random.Random(4), PARENT, 100, days=60):
        result = aggregator(query)
        assert result.to_json() == reference_json(result), query
