"""The run, whatever the server does: slow answers, transient refusals, user mistakes.

* A request that gets no answer within ``--timeout`` fails the rule that sent
  it (``TooSlow``, with its curl), the run goes on, and the exit is 1.
* A 429 or 503 is sent again after its ``Retry-After``; only one that
  persists is a finding, and the finding shows the answer it judged.
* A run that cannot judge the server exits 2 and still writes every report.
* Preflight catches the user's mistakes with exit 2 and a hint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import CHILD, CHILD_KEY, PARENT, PARENT_KEY, busy_dataset
from servers.minimal import Fault, MinimalServer
from servers.process import served
from servers.running import serving

from usagekit.cli.check import check
from usagekit.conformance.config import KitConfig
from usagekit.conformance.recording import TIMEOUTS, _reason
from usagekit.conformance.reporting.markdown import render_markdown
from usagekit.conformance.reporting.page import render_html
from usagekit.conformance.runner import run
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.files import save_dataset


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return busy_dataset(int(time.time()) * US)


@pytest.fixture(scope="module")
def data_dir(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(dataset, directory)
    return directory


def arguments(base_url: str, *extra: str) -> list[str]:
    return [
        "--base-url", base_url, "--api-key", PARENT_KEY, "--account-id", PARENT,
        "--subaccount-id", CHILD, "--subaccount-key", CHILD_KEY, *extra,
    ]  # fmt: skip


def reports(tmp_path: Path) -> tuple[list[str], dict[str, Path]]:
    paths = {
        "junit": tmp_path / "out" / "junit.xml",
        "md": tmp_path / "out" / "report.md",
        "html": tmp_path / "out" / "report.html",
    }
    args = ["--junit-xml", str(paths["junit"]), "--report", str(paths["md"])]
    return [*args, "--report", str(paths["html"])], paths


# -- timeouts --------------------------------------------------------------------


@pytest.mark.slow
def test_a_request_that_times_out_fails_its_rule_and_the_run_goes_on(
    data_dir: Path, tmp_path: Path
) -> None:
    written, paths = reports(tmp_path)
    only = ["huge_ranges_bounded_by_limit", "limit_bounds", "bucket_count_within_limit"]
    with served(data_dir, slow=5) as base_url:
        result = CliRunner().invoke(
            check,
            [*arguments(base_url, "--timeout", "1", "--max-examples", "0"), *written]
            + [arg for name in only for arg in ("--check", name)],
        )
        # The printed curl gets no answer in time either (curl's exit 28).
        (curl,) = re.findall(r"reproduce: (curl .*)", result.output)
        env = {"PATH": os.environ["PATH"], "USAGEKIT_API_KEY": PARENT_KEY}
        replay = subprocess.run(
            ["sh", "-c", f"{curl} -o /dev/null --max-time 1"], env=env, check=False
        )
        assert replay.returncode == 28, curl
    assert result.exit_code == 1, result.output
    assert "✗ huge_ranges_bounded_by_limit — no answer within --timeout 1 s" in result.output
    assert "✓ limit_bounds" in result.output  # the run went on after the timeout
    assert "  answer: no answer" in result.output
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    failure = suite.find("testcase[@name='huge_ranges_bounded_by_limit']/failure")
    assert failure is not None
    assert failure.get("type") == "Answer too slow"
    assert "reproduce: curl -sS" in (failure.text or "")
    assert "no answer within --timeout 1 s" in paths["md"].read_text()
    assert "huge_ranges_bounded_by_limit" in paths["html"].read_text()


# -- transient refusals ------------------------------------------------------------


class Flaky:
    """Answers the first ``times`` tries of every distinct request with ``status``."""

    def __init__(self, app: Any, status: int, times: int) -> None:
        self.app, self.status, self.times = app, status, times
        self.seen: Counter[tuple[str, bytes]] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = (scope["method"] + scope["path"], scope["query_string"])
            self.seen[request] += 1
            if self.seen[request] <= self.times:
                code = b"rate_limit_exceeded" if self.status == 429 else b"service_unavailable"
                body = b'{"code": "' + code + b'", "message": "Try again"}'
                headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
                await send(
                    {"type": "http.response.start", "status": self.status, "headers": headers}
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


RULES = frozenset({"limit_bounds", "granularity_values", "groupings_sum_to_totals"})


def kit_against(app: Any, **overrides: Any) -> Any:
    with serving(app) as base_url:
        return run(
            KitConfig(
                base_url=base_url,
                api_key=PARENT_KEY,
                account_id=PARENT,
                **{"max_examples": 0, "only": RULES, **overrides},
            )
        )


@pytest.mark.parametrize("status", [429, 503])
def test_a_transient_refusal_is_sent_again_and_is_no_verdict(dataset: Dataset, status: int) -> None:
    app = Flaky(MinimalServer(dataset=dataset).app(), status, times=2)
    summary = kit_against(app, retries=2, max_examples=2)  # schemathesis' cases get them too
    assert summary.ok, [(f.rule, f.reason, f.curl) for f in summary.findings]
    assert {r.name for r in summary.results if r.passed} >= RULES


def test_a_refusal_that_persists_is_a_finding_that_shows_the_answer(dataset: Dataset) -> None:
    app = Flaky(MinimalServer(dataset=dataset).app(), 503, times=2)
    summary = kit_against(app, retries=0)
    assert not summary.ok
    finding = next(f for f in summary.findings if f.rule == "limit_bounds")
    (judged,) = finding.judged
    assert judged.status == 503
    assert judged.body == '{"code": "service_unavailable", "message": "Try again"}'


def test_a_failure_reason_does_not_repeat_its_title() -> None:
    assert _reason("Server error", "Server error") == "Server error"
    assert _reason("Server error", "Server error\n\n[500] Internal") == "Server error"
    assert _reason("Undocumented status", "Received: 418") == "Undocumented status: Received: 418"


# -- a report every time -------------------------------------------------------------


def test_a_run_that_cannot_start_still_writes_every_report(tmp_path: Path) -> None:
    with serving(MinimalServer(dataset=busy_dataset(0, days=1, count=10)).app()) as url:
        pass  # the server is gone: nothing listens there any more
    written, paths = reports(tmp_path)
    result = CliRunner().invoke(check, [*arguments(url, "--timeout", "2"), *written])
    assert result.exit_code == 2, result.output
    assert_aborted(paths, "unreachable")


def test_bad_usage_still_writes_every_report(tmp_path: Path) -> None:
    written, paths = reports(tmp_path)
    result = CliRunner().invoke(check, ["--base-url", "http://127.0.0.1:9", *written])
    assert result.exit_code == 2, result.output
    assert_aborted(paths, "bad usage")
    assert "--api-key" in paths["md"].read_text()


def test_refused_credentials_still_write_every_report(dataset: Dataset, tmp_path: Path) -> None:
    written, paths = reports(tmp_path)
    with serving(MinimalServer(dataset=dataset).app()) as url:
        args = ["--base-url", url, "--api-key", "sk-nobody", "--account-id", PARENT, *written]
        result = CliRunner().invoke(check, args)
    assert result.exit_code == 2, result.output
    assert_aborted(paths, "credentials refused")


def assert_aborted(paths: dict[str, Path], kind: str) -> None:
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")
    error = suite.find("testcase/error")
    assert error is not None
    assert error.get("type") == kind
    assert f"**Could not judge the server** ({kind})" in paths["md"].read_text()
    assert f"Could not judge the server ({kind})" in paths["html"].read_text()


# -- preflight ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_keys(dataset: Dataset) -> Dataset:
    """The parent with a second key, which a user may give as --subaccount-key by mistake."""
    parent = dataclasses.replace(dataset.accounts[0], api_keys=(PARENT_KEY, "sk-parent-2"))
    assert parent.id == PARENT
    return Dataset.from_records((parent, *dataset.accounts[1:]), dataset.records())


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"--account-id": "me"}, f"--account-id me: give the id .* --account-id {PARENT}"),
        ({"--base-url": "{url}/v1"}, "answered 404: .* --base-url {url}$"),
        ({"--subaccount-id": PARENT}, "--subaccount-id is --account-id"),
        ({"--subaccount-key": PARENT_KEY}, "--subaccount-key is --api-key"),
        (
            {"--subaccount-key": "sk-parent-2"},
            f"--subaccount-key is a key of --account-id {PARENT}",
        ),
        ({"--account-id": "nobody", "--data": "{data}"}, f"belongs to {PARENT} .* {PARENT}\\?$"),
        # An unset CI variable: not an account (it made foreign_account_forbidden fail).
        ({"--foreign-account-id": ""}, "--foreign-account-id is empty"),
        ({"--account-id": ""}, "--account-id is empty"),  # was "is --base-url the root?"
    ],
    ids=["me", "prefix", "same-ids", "same-keys", "parent-key", "data", "empty-foreign", "empty"],
)
def test_preflight_catches_the_users_mistakes(
    two_keys: Dataset, data_dir: Path, change: dict[str, str], hint: str
) -> None:
    with serving(MinimalServer(dataset=two_keys).app()) as url:
        given = dict(zip(arguments(url)[::2], arguments(url)[1::2], strict=True))
        given.update({k: v.format(url=url, data=data_dir) for k, v in change.items()})
        args = [item for pair in given.items() for item in pair]
        result = CliRunner().invoke(check, [*args, "--max-examples", "0"])
    assert result.exit_code == 2, result.output
    assert re.search(hint.format(url=re.escape(url)), result.output.strip(), re.M), result.output


# -- rows that tell the truth ---------------------------------------------------------


def test_a_scenario_whose_answers_fail_other_rules_is_not_green(dataset: Dataset) -> None:
    # The fall-back night's two hours merged: calendar_edge_cases' own checks hold,
    # but its answers fail buckets_follow_calendar -- its row must say so.
    app = MinimalServer(dataset=dataset, faults=frozenset({Fault.MERGED_FALL_BACK})).app()
    with serving(app) as url:
        summary = run(
            KitConfig(
                base_url=url,
                api_key=PARENT_KEY,
                account_id=PARENT,
                max_examples=0,
                only=frozenset({"calendar_edge_cases", "buckets_follow_calendar"}),
            )
        )
    row = next(r for r in summary.results if r.name == "calendar_edge_cases")
    assert row.status == "tainted"
    assert dict(row.others).keys() == {"buckets_follow_calendar"}
    assert 0 < row.tainted <= row.sent
    assert row.status_text.startswith(f"passed, but {row.tainted} of its {row.sent} ")
    markdown = render_markdown(summary)
    assert "❌ passed, but" in markdown
    assert "[`buckets_follow_calendar`](#buckets_follow_calendar)" in markdown
    assert "<a href='#buckets_follow_calendar'>" in render_html(summary)


class Stalls:
    """Stalls ``seconds`` on every request whose query names ``word``."""

    def __init__(self, app: Any, word: bytes, seconds: float) -> None:
        self.app, self.word, self.seconds = app, word, seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.word in scope["query_string"]:
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def test_a_generated_request_that_times_out_is_a_finding_with_its_curl(dataset: Dataset) -> None:
    app = Stalls(MinimalServer(dataset=dataset).app(), b"Chatham", seconds=3)
    summary = kit_against(app, timeout=1, max_examples=3, only=frozenset({"limit_bounds"}))
    (finding,) = [f for f in summary.findings if f.rule == TIMEOUTS]
    assert finding.title == "Answer too slow"
    assert all(j.status is None and "Chatham" in j.curl for j in finding.judged)
    assert finding.judged
