"""The GitHub Action (action.yml) runs its own steps, as a runner would, against the mock.

A runner is not available here, so the test does what the runner does for a
composite action: it evaluates each step's ``env`` (only ``${{ inputs.* }}``
is allowed there), and runs each ``run:`` script with ``bash -eo pipefail``,
``GITHUB_ACTION_PATH`` set to the checkout, and ``RUNNER_TEMP``/``GITHUB_PATH``
in a temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers.hostile import hostile
from servers.running import serving

from usagekit.mock.core.instants import US
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

ROOT = Path(__file__).parents[1]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
HOUR = 3600 * US


def inputs_of(given: dict[str, str]) -> dict[str, str]:
    declared = ACTION["inputs"]
    assert set(given) <= set(declared), set(given) - set(declared)
    values = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        else:
            assert not spec.get("required"), f"input {name} is required"
            values[name] = spec.get("default", "")
    return values


def evaluate(text: str, inputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression.startswith("inputs."), f"only inputs may reach a step: {expression}"
        return inputs[expression.removeprefix("inputs.")]

    return EXPRESSION.sub(value, text)


@dataclass(frozen=True)
class Runner:
    """One job's directories, as GitHub's runner lays them out."""

    workspace: Path
    temp: Path
    path_file: Path

    def run(self, step: dict[str, Any], given: dict[str, str]) -> subprocess.CompletedProcess[str]:
        assert step["shell"] == "bash"
        inputs = inputs_of(given)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(self.temp)),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_PATH": str(self.path_file),
            "GITHUB_WORKSPACE": str(self.workspace),
            **{k: evaluate(v, inputs) for k, v in step.get("env", {}).items()},
        }
        script = self.temp / "step.sh"
        script.write_text(step["run"], encoding="utf-8")
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )


def step(name: str) -> dict[str, Any]:
    (found,) = (s for s in STEPS if s["name"] == name)
    return found


def test_the_action_is_composite_and_inputs_reach_scripts_only_through_env() -> None:
    assert ACTION["runs"]["using"] == "composite"
    used = set()
    for s in STEPS:
        assert "uses" not in s, "a step the test cannot run"
        assert "${{" not in s["run"], f"{s['name']}: an expression spliced into the script"
        for value in s.get("env", {}).values():
            used |= {m.removeprefix("inputs.") for m in EXPRESSION.findall(value)}
    assert used == set(ACTION["inputs"]), set(ACTION["inputs"]) ^ used
    check = step("Check the contract")["env"]
    assert check["USAGEKIT_API_KEY"] == "${{ inputs.api-key }}"
    assert check["USAGEKIT_SUBACCOUNT_KEY"] == "${{ inputs.subaccount-key }}"


def test_the_readme_uses_the_action() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = readme.split("### In GitHub Actions", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(ci.split("```yaml", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["usagekit"]["steps"]
    (ours,) = (s for s in steps if "usagekit@" in s.get("uses", ""))
    assert set(ours["with"]) <= set(ACTION["inputs"])
    assert {k for k, v in ACTION["inputs"].items() if v.get("required")} <= set(ours["with"])
    assert ours["with"]["api-key"].startswith("${{ secrets.")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The install step, run once: usagekit from this checkout into RUNNER_TEMP."""
    base = tmp_path_factory.mktemp("runner")
    (base / "workspace").mkdir()
    (base / "temp").mkdir()
    job = Runner(workspace=base / "workspace", temp=base / "temp", path_file=base / "path")
    done = job.run(step("Install usagekit"), {**CREDENTIALS, "base-url": "unused"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usagekit " in done.stdout
    return job


CREDENTIALS = {"account-id": DEMO_ACCOUNT_ID, "api-key": DEMO_API_KEY}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    dataset = generate(now=int(time.time()) * US // HOUR * HOUR, size=20_000)
    with serving(create_app(dataset, ServerConfig(access_log=False))) as url:
        yield url


@pytest.mark.slow
def test_later_steps_get_usagekit_on_their_path_and_nothing_else(runner: Runner) -> None:
    """GITHUB_PATH puts a directory before the job's PATH: a venv's bin would
    shadow the caller's python, pip and pytest (schemathesis brings pytest) in
    every later step."""
    (bin_dir,) = runner.path_file.read_text().splitlines()
    assert sorted(p.name for p in Path(bin_dir).iterdir()) == ["usagekit"]
    later = subprocess.run(
        ["usagekit", "--version"],
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert later.stdout.startswith("usagekit ")


@pytest.mark.slow
def test_the_action_checks_the_mock_and_writes_both_reports(runner: Runner, base_url: str) -> None:
    done = runner.run(
        step("Check the contract"),
        {
            **CREDENTIALS,
            "base-url": base_url,
            "subaccount-id": DEMO_SUBACCOUNT_ID,
            "subaccount-key": DEMO_SUBACCOUNT_KEY,
            "foreign-account-id": FOREIGN_ACCOUNT_ID,
            "max-examples": "5",
        },
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for key in (DEMO_API_KEY, DEMO_SUBACCOUNT_KEY):
        assert key not in done.stdout + done.stderr
    junit = ET.parse(runner.workspace / "reports" / "conformance.xml").getroot()
    assert junit.findall(".//testcase")
    assert not junit.findall(".//failure")
    assert "**Conforms**" in (runner.workspace / "reports" / "conformance.md").read_text()


@pytest.mark.slow
def test_a_refused_key_fails_the_step_without_echoing_it(runner: Runner, base_url: str) -> None:
    wrong = "sk-not-a-key-of-the-demo"
    done = runner.run(
        step("Check the contract"),
        {**CREDENTIALS, "api-key": wrong, "base-url": base_url, "junit-xml": "", "report": ""},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "401" in done.stderr
    assert wrong not in done.stdout + done.stderr


@pytest.mark.slow
def test_max_time_bounds_the_check_and_its_exit_says_so(runner: Runner) -> None:
    # Every request after the first is a 429 that says to come back in an hour.
    with hostile("limited") as base_url:
        done = runner.run(
            step("Check the contract"),
            {**CREDENTIALS, "base-url": base_url, "max-examples": "0", "max-time": "3"},
        )
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    junit = ET.parse(runner.workspace / "reports" / "conformance.xml").getroot()
    assert junit.findall(".//testcase[@name='time_budget']/error")
    assert not junit.findall(".//failure")
