"""A ``check`` run keeps the coverage ledger of the requests it sent, in its summary and CLI."""

from __future__ import annotations

import time

from factories import PARENT, PARENT_KEY, busy_dataset
from servers.minimal import MinimalServer
from servers.running import serving

from usagekit.conformance.config import KitConfig
from usagekit.conformance.coverage import not_exercised
from usagekit.conformance.runner import run
from usagekit.mock.core.instants import US

RULES = frozenset({"limit_bounds", "granularity_values"})


def test_a_check_run_counts_what_its_requests_exercised() -> None:
    app = MinimalServer(dataset=busy_dataset(int(time.time()) * US)).app()
    with serving(app) as base_url:
        summary = run(
            KitConfig(
                base_url=base_url,
                api_key=PARENT_KEY,
                account_id=PARENT,
                max_examples=0,
                only=RULES,
            )
        )
    assert summary.ok
    coverage = summary.coverage
    assert coverage is not None
    cells = coverage["cells"]
    assert coverage["exchanges"] == summary.requests
    # granularity_values asks for each granularity; limit_bounds for the edges and past them.
    assert not not_exercised(coverage, ["granularity:*", "limit:1", "limit:500", "status:422"])
    assert cells["status:200"] > 0
    assert not_exercised(coverage, ["tz:dst-south"]) == ["tz:dst-south"]
