"""The pytest plugin: inert by default; with --usagekit-base-url, one test item per rule.

Each test runs pytest in a subprocess from an empty directory, as a partner's
CI would, so the plugin is found through its ``pytest11`` entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.running import serving

from usagekit.conformance.generation import BUILT_IN
from usagekit.conformance.rules import RULES
from usagekit.mock.core.instants import US
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

NOW = int(time.time()) * US // (3600 * US) * (3600 * US)
KEYS = {"USAGEKIT_API_KEY": DEMO_API_KEY, "USAGEKIT_SUBACCOUNT_KEY": DEMO_SUBACCOUNT_KEY}


def pytest_in(
    directory: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("USAGEKIT_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(create_app(generate(now=NOW, size=20_000), ServerConfig(access_log=False))) as url:
        yield url


def kit_args(base_url: str) -> list[str]:
    return [
        "--usagekit-base-url", base_url,
        "--usagekit-account-id", DEMO_ACCOUNT_ID,
        "--usagekit-max-examples", "3",
    ]  # fmt: skip


def cases(report: Path) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in ET.parse(report).getroot().iter("testcase")}


def test_the_plugin_is_registered_and_inert_without_its_option(tmp_path: Path) -> None:
    helped = pytest_in(tmp_path, "--help")
    assert "--usagekit-base-url" in helped.stdout
    done = pytest_in(tmp_path, "--collect-only", "-q")
    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout
    assert "usagekit::" not in done.stdout


def test_a_base_url_without_a_key_is_a_usage_error(tmp_path: Path) -> None:
    done = pytest_in(tmp_path, *kit_args("http://127.0.0.1:9"), "--collect-only")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "USAGEKIT_API_KEY" in done.stderr


@pytest.mark.slow
def test_every_rule_is_a_passing_item_against_the_mock(tmp_path: Path, base_url: str) -> None:
    done = pytest_in(
        tmp_path,
        *kit_args(base_url),
        "--usagekit-subaccount-id", DEMO_SUBACCOUNT_ID,
        "--usagekit-foreign-account-id", FOREIGN_ACCOUNT_ID,
        "--junitxml", "rules.xml",
        env=KEYS,
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.OK, done.stdout[-3000:]
    found = cases(tmp_path / "rules.xml")
    assert set(found) == {rule.name for rule in RULES} | set(BUILT_IN) | {"usagekit_run"}
    assert not [name for name, case in found.items() if case.find("failure") is not None]
    # Without --usagekit-data, only the rules that need it are skipped.
    skipped = {name for name, case in found.items() if case.find("skipped") is not None}
    needs_data = {rule.name for rule in RULES if rule.requires}
    assert skipped <= needs_data | set(BUILT_IN)
    # ... and say so in the plugin's own terms, not usagekit check's.
    reasons = {found[name].find("skipped").get("message", "") for name in skipped & needs_data}
    assert reasons
    assert all("--usagekit-data" in reason for reason in reasons), reasons
    for key in KEYS.values():
        assert key not in done.stdout + done.stderr


@pytest.mark.slow
def test_a_failing_rule_fails_its_item_with_the_reason_and_the_curl(
    tmp_path: Path, base_url: str
) -> None:
    # The kit is told of another dataset than the one the mock serves.
    other = tmp_path / "other"
    save_dataset(generate(seed=5, now=NOW, size=2_000), other)
    done = pytest_in(
        tmp_path,
        *kit_args(base_url),
        "--usagekit-data", str(other),
        "-k", "matches_reference or ignored_auth",
        "--junitxml", "rules.xml",
        env=KEYS,
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    found = cases(tmp_path / "rules.xml")
    assert (
        {"matches_reference", "ignored_auth"}
        <= set(found)
        <= {
            "matches_reference",
            "ignored_auth",
            "status_matches_reference",
        }
    )
    assert found["ignored_auth"].find("failure") is None
    failure = found["matches_reference"].find("failure")
    assert failure is not None
    text = failure.text or ""
    assert "differ from the reference" in text
    assert 'reproduce: curl -sS -H "X-API-Key: $USAGEKIT_API_KEY"' in text
    assert "Traceback" not in text
    assert DEMO_API_KEY not in done.stdout


def test_an_inert_plugin_imports_none_of_the_kit(tmp_path: Path) -> None:
    """Installing usagekit must not slow down every pytest run of its environment."""
    (tmp_path / "test_user.py").write_text(
        "import sys\n\n"
        "def test_loaded():\n"
        "    kit = sorted(m for m in sys.modules if m.startswith('usagekit.'))\n"
        "    print('KIT', kit)\n"
        "    assert set(kit) <= {\n"
        "        'usagekit.conformance', 'usagekit.conformance.pytest_plugin',\n"
        "        'usagekit.conformance.profiles',\n"
        "    }, kit\n",
        encoding="utf-8",
    )
    done = pytest_in(tmp_path, "-q", "-s", "-W", "error")
    assert done.returncode == pytest.ExitCode.OK, done.stdout[-3000:]


@pytest.mark.parametrize(
    "wrong",
    [("--usagekit-timeout", "0"), ("--usagekit-max-examples", "-1")],
    ids=["timeout", "examples"],
)
def test_values_usagekit_check_refuses_are_usage_errors(tmp_path: Path, wrong: tuple) -> None:
    done = pytest_in(tmp_path, *kit_args("http://127.0.0.1:9"), *wrong, env=KEYS)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-3000:]
    assert wrong[0] in done.stderr


def test_a_subaccount_without_its_key_is_named_in_the_plugins_terms(tmp_path: Path) -> None:
    done = pytest_in(
        tmp_path,
        *kit_args("http://127.0.0.1:9"),
        "--usagekit-subaccount-id", DEMO_SUBACCOUNT_ID,
        env={"USAGEKIT_API_KEY": DEMO_API_KEY},
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--usagekit-subaccount-id" in done.stderr
    assert "USAGEKIT_SUBACCOUNT_KEY" in done.stderr
    assert "--subaccount-key" not in done.stderr


def test_a_run_that_cannot_start_names_the_plugins_options(tmp_path: Path) -> None:
    done = pytest_in(tmp_path, *kit_args("localhost:8080"), "-x", env=KEYS)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    assert "the kit could not run: --usagekit-base-url localhost:8080" in done.stdout
    assert " --base-url" not in done.stdout


def test_a_dataset_given_apart_from_its_option_may_not_move_the_rootdir(tmp_path: Path) -> None:
    """pytest finds its ini file before it knows plugins' options: ``--usagekit-data DIR``
    makes DIR a test path there, and a DIR outside the project hides the project's ini."""
    project, data = tmp_path / "project", tmp_path / "data"
    project.mkdir()
    data.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    args = [*kit_args("http://127.0.0.1:9"), "--collect-only", "-q"]
    apart = pytest_in(project, *args, "--usagekit-data", str(data), env=KEYS)
    assert apart.returncode == pytest.ExitCode.USAGE_ERROR, apart.stdout[-3000:]
    assert f"--usagekit-data={data}" in apart.stderr
    joined = pytest_in(project, *args, f"--usagekit-data={data}", "-v", env=KEYS)
    assert joined.returncode == pytest.ExitCode.OK, joined.stdout[-3000:] + joined.stderr
    assert f"rootdir: {project}" in joined.stdout
    assert "configfile: pytest.ini" in joined.stdout
    # Inside the project, pytest's search from DIR finds the project's ini all the same.
    (project / "data").mkdir()
    inside = pytest_in(project, *args, "--usagekit-data", "data", "-v", env=KEYS)
    assert inside.returncode == pytest.ExitCode.OK, inside.stdout[-3000:] + inside.stderr
    assert f"rootdir: {project}" in inside.stdout


def counted(site: Path, calls: Path, body: str) -> dict[str, str]:
    """The environment of a pytest whose processes (xdist's workers too) load a
    ``sitecustomize`` that appends an ``x`` to ``calls`` on each run of the kit, then
    runs ``body`` (indented, with ``args``/``kwargs``) in its place."""
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import usagekit.conformance.runner as runner\n\n"
        "_run = runner.run\n\n"
        "def _counted(*args, **kwargs):\n"
        f"    with open({str(calls)!r}, 'a') as calls:\n"
        "        calls.write('x')\n"
        f"    {body}\n\n"
        "runner.run = _counted\n",
        encoding="utf-8",
    )
    return {**KEYS, "PYTHONPATH": str(site)}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_crash_of_the_kit_runs_it_once_and_fails_every_item(
    tmp_path: Path, workers: list[str]
) -> None:
    """A bug of the kit (a ``sitecustomize`` makes its run raise) must not make each of
    the ~60 items, nor each xdist worker, run the whole kit again."""
    calls = tmp_path / "calls"
    env = counted(tmp_path / "site", calls, "raise RuntimeError('induced crash of the test')")
    done = pytest_in(
        tmp_path, *kit_args("http://127.0.0.1:9"), *workers, "--junitxml", "rules.xml", env=env
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    assert calls.read_text() == "x"
    found = cases(tmp_path / "rules.xml")
    assert set(found) == {rule.name for rule in RULES} | set(BUILT_IN) | {"usagekit_run"}
    failures = [case.find("failure") for case in found.values()]
    assert all(f is not None for f in failures)
    assert all("RuntimeError: induced crash of the test" in (f.text or "") for f in failures)
    # The traceback of the crash once (the item that ran the kit); every other item names it.
    assert sum("sitecustomize.py" in (f.text or "") for f in failures) == 1, failures[0].text


@pytest.mark.slow
def test_xdist_workers_share_one_run_of_the_kit(
    tmp_path: Path, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``-n 2`` both workers get rules; the server is judged once, every verdict is
    that run's, and the shared file goes with the test run."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    calls = tmp_path / "calls"
    env = counted(tmp_path / "site", calls, "return _run(*args, **kwargs)")
    done = pytest_in(
        tmp_path,
        *kit_args(base_url),
        "-n", "2",
        "--junitxml", "rules.xml",
        env={**env, "TMPDIR": str(shared)},
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.OK, done.stdout[-3000:]
    assert calls.read_text() == "x"
    found = cases(tmp_path / "rules.xml")
    assert set(found) == {rule.name for rule in RULES} | set(BUILT_IN) | {"usagekit_run"}
    assert not [name for name, case in found.items() if case.find("failure") is not None]
    assert not list(shared.glob("usagekit-pytest-*")), list(shared.iterdir())


def test_an_empty_base_url_is_a_usage_error_not_an_inert_plugin(tmp_path: Path) -> None:
    """``--usagekit-base-url "$URL"`` with URL unset in CI: the suite must not pass unjudged."""
    (tmp_path / "test_user.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    done = pytest_in(
        tmp_path, "--usagekit-base-url", "", "--usagekit-account-id", DEMO_ACCOUNT_ID, env=KEYS
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-3000:]
    assert "--usagekit-base-url" in done.stderr
