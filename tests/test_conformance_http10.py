"""No false alarm on a server that answers HTTP/1.0, each body ended by closing.

HTTP/1.1 clients read such answers (RFC 9112, 6.3): ``usagekit check``, the
proxy in front of it and a replay of what the proxy recorded judge them as any.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from factories import CHILD, CHILD_KEY, OTHER, PARENT, PARENT_KEY, busy_dataset
from proxy_support import DATASET, REQUESTS, through, traffic
from servers.http10 import http10
from servers.minimal import MinimalServer
from servers.running import serving

from usagekit.conformance.config import KitConfig
from usagekit.conformance.profiles import Profile
from usagekit.conformance.runner import run
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.files import save_dataset


@pytest.mark.slow
def test_the_kit_judges_http10_answers_without_a_false_alarm(tmp_path: Path) -> None:
    dataset = busy_dataset(int(time.time()) * US)
    save_dataset(dataset, tmp_path)
    with serving(MinimalServer(dataset=dataset).app()) as backend, http10(backend) as base:
        summary = run(
            KitConfig(
                base_url=base,
                api_key=PARENT_KEY,
                account_id=PARENT,
                subaccount_id=CHILD,
                subaccount_key=CHILD_KEY,
                foreign_account_id=OTHER,
                data=tmp_path,
                max_examples=3,
            )
        )
    assert summary.ok, "\n".join(f"{f.rule}: {f.reason}" for f in summary.findings)
    assert "matches_reference" in {r.name for r in summary.results if r.passed}


@pytest.mark.parametrize("profile", list(Profile))
def test_the_proxy_judges_http10_answers_without_a_false_alarm(
    tmp_path: Path, profile: Profile
) -> None:
    save_dataset(DATASET, tmp_path)
    judge = traffic(tmp_path, profile)
    answers = through(judge, front=http10)
    assert judge.violations()["violations"] == [], judge.violations()
    assert [a.status for a in answers] == [a.status for a in through(traffic(), requests=REQUESTS)]
