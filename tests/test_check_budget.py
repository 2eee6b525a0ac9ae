"""``usagekit check --max-time``: a CI job bounds a run, and the reports say what it left.

Against a real server process that rate-limits everything (``429 Retry-After:
3600``) or stalls, a ``usagekit check`` process stops starting requests when its
budget runs out, cuts the waits under way (a ``Retry-After`` and an exchange
alike), judges what it has, writes every report saying the budget ended the run
and which rules were not run -- never as passed, never as failed by the server --
and exits 3. Without a budget such a run takes ``--retries`` waits of up to
:data:`MAX_WAIT` per request: hours.

Also here: schemathesis' two probes of the server's root, which read their answers
outside every hook, are held to the kit's bounds (an endless or dripping body).
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from servers.hostile import hostile
from test_pytest_plugin import pytest_in

from usagekit.cli.check import OUT_OF_TIME, _exit
from usagekit.conformance.budget import CUT_SHORT, NOT_STARTED, Budget, OutOfTime
from usagekit.conformance.client import MAX_WAIT
from usagekit.conformance.outcomes import RuleResult, Summary
from usagekit.conformance.rules import RULES

USAGEKIT = Path(sys.executable).with_name("usagekit")
SCENARIOS = {rule.name for rule in RULES if rule.kind.value == "scenario" and not rule.requires}
#: The kit's address space: far above what it needs, far below what an unbounded read takes.
ADDRESS_SPACE = 3 << 30


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def check(base_url: str, tmp_path: Path, *extra: str) -> tuple[int, str, ET.Element]:
    """One ``usagekit check`` writing every report: exit status, output, JUnit suite."""
    done = subprocess.run(
        [str(USAGEKIT), "check", "--base-url", base_url, "--api-key", "sk-k", "--account-id",
         "acct", "--junit-xml", str(tmp_path / "junit.xml"), "--report",
         str(tmp_path / "report.md"), "--report", str(tmp_path / "report.html"), *extra],
        capture_output=True, text=True, timeout=180, preexec_fn=_limited,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert (tmp_path / "report.md").exists(), output
    assert (tmp_path / "report.html").exists(), output
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    return done.returncode, output, suite


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in suite.iter("testcase")}


def not_run(case: ET.Element) -> str:
    """Why a test case was not run, from its ``skipped`` element (none: it ran)."""
    skipped = case.find("skipped")
    assert skipped is not None, ET.tostring(case, encoding="unicode")
    return skipped.get("message", "")


def assert_ended_by_the_budget(code: int, output: str, suite: ET.Element, tmp_path: Path) -> None:
    """Exit 3, every report saying so, and no verdict blamed on the server."""
    assert code == OUT_OF_TIME, output
    assert "NOT FINISHED" in output
    assert "the time budget (--max-time" in output
    assert not suite.findall(".//failure"), ET.tostring(suite, encoding="unicode")
    error = cases(suite)["time_budget"].find("error")
    assert error is not None
    assert "the time budget (--max-time" in error.get("message", "")
    assert suite.get("errors") == "1"
    for report in ("report.md", "report.html"):
        text = (tmp_path / report).read_text()
        assert "Not finished" in text, text
        assert "not run: time budget" in text, text
        assert "Conforms" not in text, text
        assert "Does not conform" not in text, text


def test_a_budget_ends_a_run_against_a_server_that_rate_limits_everything(
    tmp_path: Path,
) -> None:
    # Each of schemathesis' cases and the kit's requests: --retries waits of MAX_WAIT.
    with hostile("limited") as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "1", "--retries", "2", "--max-time", "4"
        )
    assert_ended_by_the_budget(code, output, suite, tmp_path)
    # The 429 under way was waited for until the budget ended, not for MAX_WAIT.
    assert float(suite.get("time", "inf")) < MAX_WAIT, suite.get("time")
    found = cases(suite)
    # Schemathesis' checks were cut short; no scenario started.
    assert not_run(found["not_a_server_error"]) == f"not run: {CUT_SHORT}"
    for name in SCENARIOS:
        assert not_run(found[name]) == f"not run: {NOT_STARTED}", name


def test_a_retry_after_of_an_hour_is_waited_only_until_the_budget_ends(tmp_path: Path) -> None:
    with hostile("limited") as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "0", "--retries", "1", "--max-time", "3"
        )
    assert_ended_by_the_budget(code, output, suite, tmp_path)
    assert float(suite.get("time", "inf")) < MAX_WAIT, suite.get("time")
    reasons = [not_run(case) for name, case in cases(suite).items() if name in SCENARIOS]
    # The one under way when the budget ended was cut short; none started after it.
    assert reasons.count(f"not run: {CUT_SHORT}") == 1, reasons
    assert set(reasons) == {f"not run: {CUT_SHORT}", f"not run: {NOT_STARTED}"}, reasons


def test_a_server_that_stalls_is_cut_at_the_budget_not_held_to_timeout(tmp_path: Path) -> None:
    with hostile("silent") as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "0", "--timeout", "60", "--max-time", "3"
        )
    assert_ended_by_the_budget(code, output, suite, tmp_path)
    assert float(suite.get("time", "inf")) < 30, suite.get("time")
    assert "no answer within --timeout" not in output  # not the server's TooSlow: the budget's


def test_a_budget_that_ends_before_preflight_leaves_every_rule_not_run(tmp_path: Path) -> None:
    with hostile("silent", start=0) as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "0", "--timeout", "60", "--max-time", "2"
        )
    assert_ended_by_the_budget(code, output, suite, tmp_path)
    for name in SCENARIOS:
        assert not_run(cases(suite)[name]) == f"not run: {NOT_STARTED}", name


def _summary(*, failed: int, budget: str | None) -> Summary:
    result = RuleResult(
        name="limit_bounds", source="usagekit", kind="scenario", profile="contract",
        summary="s", passed=0, failed=failed, skipped=None, findings=(),
        not_run=None if failed else CUT_SHORT,
    )  # fmt: skip
    return Summary(
        base_url="http://x", profile="contract", results=(result,), elapsed=1.0, requests=1,
        budget=budget,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("failed", "budget", "code"),
    [(0, "ran out", OUT_OF_TIME), (1, "ran out", 1), (1, None, 1)],
)
def test_a_finding_fails_the_run_however_it_ended(
    failed: int, budget: str | None, code: int
) -> None:
    with pytest.raises(SystemExit) as exited:
        _exit(_summary(failed=failed, budget=budget))
    assert exited.value.code == code


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_budget_waits_only_what_is_left_and_then_stops_everything() -> None:
    clock = Clock()
    budget = Budget.starting(5.0, clock)
    assert budget.within(10.0) == 5.0
    budget.wait(2.0, clock.sleep)
    assert budget.left() == 3.0
    with pytest.raises(OutOfTime, match=r"--max-time 5 s"):
        budget.wait(3600.0, clock.sleep)  # a Retry-After of an hour
    assert clock.now == 105.0
    assert budget.spent
    with pytest.raises(OutOfTime):
        budget.check()
    unbounded = Budget()
    assert unbounded.left() == math.inf
    assert not unbounded.spent


@pytest.mark.parametrize("root", ["endless", "drip"])
def test_schemathesis_probes_of_the_root_are_held_to_the_bounds(root: str, tmp_path: Path) -> None:
    # Every request of the endpoint gets the contract's 422; the root, which schemathesis
    # probes before any case, a body without end (a byte every 0.5 s, for drip).
    with hostile("limited", start=10**9, root=root) as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "1", "--timeout", "2", "--check", "limit_bounds"
        )
    assert code in (0, 1), output  # judged: not a crash, not held until the test's timeout
    assert "crashed" not in output
    assert cases(suite)["limit_bounds"].find("skipped") is None


def test_the_pytest_plugin_skips_what_the_budget_left_and_fails_its_run_item(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "junit.xml"
    with hostile("limited") as base_url:
        done = pytest_in(
            tmp_path,
            "--usagekit-base-url", base_url, "--usagekit-account-id", "acct",
            "--usagekit-max-examples", "0", "--usagekit-max-time", "3", f"--junitxml={junit}",
            env={"USAGEKIT_API_KEY": "sk-k"},
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, output
    found = cases(ET.parse(junit).getroot())
    failed = [name for name, case in found.items() if case.find("failure") is not None]
    assert failed == ["usagekit_run"], output
    run_item = found["usagekit_run"].find("failure")
    assert run_item is not None
    said = (run_item.get("message") or "") + (run_item.text or "")
    assert "the time budget (--usagekit-max-time 3 s)" in said, output
    for name in SCENARIOS:
        assert "not run: time budget" in not_run(found[name]), name


def test_a_generated_case_whose_head_drips_is_cut_at_the_budget(tmp_path: Path) -> None:
    # requests reads a head with each read within --timeout: a byte every 0.5 s never
    # ends one (10 000 header lines), and schemathesis' case held the run for hours.
    with hostile("head_drip", every=0.5) as base_url:
        code, output, suite = check(
            base_url, tmp_path, "--max-examples", "1", "--timeout", "2", "--max-time", "5"
        )
    assert_ended_by_the_budget(code, output, suite, tmp_path)
    assert not_run(cases(suite)["not_a_server_error"]) == f"not run: {CUT_SHORT}"
