"""The kit against our own mock: the mock conforms, and the command says so.

This is what CI pins down for the product as a whole: the mock, served over
a real socket from the synthetic dataset, passes every rule of the reference
profile -- including the exact answers compared with ``--data`` -- and the
``usagekit check`` command reports that with exit status 0 and its reports.
"""

from __future__ import annotations

import dataclasses
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers.running import serving

from usagekit.cli.check import check
from usagekit.conformance.config import KitConfig
from usagekit.conformance.runner import run
from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import UsageQuery
from usagekit.mock.core.response import UsageResult
from usagekit.mock.datasets.files import save_dataset
from usagekit.mock.datasets.synthetic import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_ACCOUNT_ID,
    generate,
)
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig

HOUR = 3600 * US


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    # Anchored like `usagekit mock` anchors it: the wall clock floored to the hour.
    return generate(now=int(time.time()) * US // HOUR * HOUR, size=60_000)


@pytest.fixture(scope="module")
def base_url(dataset: Dataset) -> str:
    with serving(create_app(dataset, ServerConfig(access_log=False))) as url:
        yield url


@pytest.fixture(scope="module")
def data_dir(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    save_dataset(dataset, directory)
    return directory


def arguments(base_url: str) -> list[str]:
    return [
        "--base-url", base_url,
        "--api-key", DEMO_API_KEY,
        "--account-id", DEMO_ACCOUNT_ID,
        "--subaccount-id", DEMO_SUBACCOUNT_ID,
        "--subaccount-key", DEMO_SUBACCOUNT_KEY,
        "--foreign-account-id", FOREIGN_ACCOUNT_ID,
    ]  # fmt: skip


@pytest.mark.slow
def test_the_mock_passes_every_rule_with_exact_answers(base_url: str, data_dir: Path) -> None:
    summary = run(
        KitConfig(
            base_url=base_url,
            api_key=DEMO_API_KEY,
            account_id=DEMO_ACCOUNT_ID,
            subaccount_id=DEMO_SUBACCOUNT_ID,
            subaccount_key=DEMO_SUBACCOUNT_KEY,
            foreign_account_id=FOREIGN_ACCOUNT_ID,
            data=data_dir,
            max_examples=10,
        )
    )
    assert summary.ok, "\n".join(f"{f.rule}: {f.reason}" for f in summary.findings)
    skipped = [r.name for r in summary.results if r.status == "skipped"]
    assert skipped == []  # every rule of the reference profile ran
    exact = next(r for r in summary.results if r.name == "matches_reference")
    assert exact.passed > 50


@pytest.mark.slow
def test_the_command_exits_0_and_writes_its_reports(base_url: str, tmp_path: Path) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.html"
    result = CliRunner().invoke(
        check,
        [*arguments(base_url), "--max-examples", "3", "--junit-xml", str(junit),
         "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CONFORMS — profile reference" in result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0"
    assert int(suite.get("tests") or 0) > 40
    assert "<strong>Conforms to the reference profile.</strong>" in report.read_text()


def test_the_command_exits_1_when_a_rule_fails(dataset: Dataset) -> None:
    # The same mock, with a common bug: buckets cut in UTC whatever tz asks for.
    correct = Aggregator(dataset)

    def ignores_tz(query: UsageQuery) -> UsageResult:
        return correct(dataclasses.replace(query, tz="UTC"))

    with serving(create_app(dataset, aggregator=ignores_tz)) as url:
        result = CliRunner().invoke(
            check,
            [*arguments(url), "--max-examples", "0",
             "--check", "time_zones", "--check", "ts_in_requested_zone"],
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "✗ ts_in_requested_zone" in result.output
    assert 'reproduce: curl -sS -H "X-API-Key: $USAGEKIT_API_KEY"' in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--api-key", "sk-nobody"], "refuses --api-key (401"),
        (["--account-id", FOREIGN_ACCOUNT_ID], "may not read --account-id"),
        (["--check", "no_such_rule"], "unknown rule(s): no_such_rule"),
    ],
)
def test_the_command_exits_2_when_it_cannot_judge(
    base_url: str, extra: list[str], message: str
) -> None:
    base = ["--base-url", base_url, "--api-key", DEMO_API_KEY, "--account-id", DEMO_ACCOUNT_ID]
    result = CliRunner().invoke(check, [*base, *extra, "--max-examples", "0"])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_an_unreachable_server_is_exit_2() -> None:
    with serving(create_app(generate(now=0, size=100))) as url:
        pass  # the server is gone: nothing listens there any more
    result = CliRunner().invoke(
        check, ["--base-url", url, "--api-key", "k", "--account-id", "a", "--timeout", "2"]
    )
    assert result.exit_code == 2
    assert "usagekit check:" in result.output


def test_usage_errors_are_exit_2() -> None:
    result = CliRunner().invoke(check, ["--base-url", "http://x", "--api-key", "k"])
    assert result.exit_code == 2
    assert "--account-id" in result.output


def test_list_checks_names_every_rule_with_its_profile() -> None:
    result = CliRunner().invoke(check, ["--list-checks"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) > 40
    assert any(line.startswith("matches_reference") and "--data" in line for line in lines)
    assert json.dumps("reference")[1:-1] in result.output
