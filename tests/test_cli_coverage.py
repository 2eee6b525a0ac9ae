"""``--min-coverage`` and ``--coverage-json`` as users run them: ``usagekit check --replay``
of a browser's export, and ``usagekit proxy``, as processes.

A cell or pattern that names no cell of the ledger is a typo: bad usage (exit 2,
before any traffic, every report still written), never a run that silently passes
or one that fails as if the traffic had missed it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from proxy_support import NOW_TEXT

from usagekit.conformance.coverage import contract_ledger

USAGEKIT = str(Path(sys.executable).with_name("usagekit"))
EXPORT = Path(__file__).parent / "data" / "devtools-export.har"  # a 200 (UTC, day) and a 422


def _reports(tmp_path: Path) -> list[str]:
    return [
        "--report", str(tmp_path / "r.md"), "--report", str(tmp_path / "r.html"),
        "--junit-xml", str(tmp_path / "j.xml"), "--coverage-json", str(tmp_path / "c.json"),
    ]  # fmt: skip


def _replay(tmp_path: Path, *args: str, har: Path = EXPORT) -> subprocess.CompletedProcess[str]:
    command = [USAGEKIT, "check", "--replay", str(har), *_reports(tmp_path), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def _bad_usage_reported(tmp_path: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    for name in ("r.md", "r.html", "j.xml"):
        assert "bad usage" in (tmp_path / name).read_text(encoding="utf-8"), name
    ledger = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert ledger["exchanges"] == 0
    assert ledger["cells"]["status:200"] == 0


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [("tz:dst-sout", "tz:dst-south"), ("granularity:weekly", "granularity:day"), ("tz", "tz:*")],
)
def test_a_typo_in_min_coverage_is_bad_usage_with_every_report(
    tmp_path: Path, pattern: str, hint: str
) -> None:
    done = _replay(tmp_path, "--min-coverage", "tz:*", "--min-coverage", pattern)
    _bad_usage_reported(tmp_path, done)
    assert f"--min-coverage {pattern}" in done.stderr
    assert "names no cell" in done.stderr
    assert hint in done.stderr
    assert "tz:*" not in done.stderr.split("did you mean")[0]  # the good pattern is not blamed
    assert "replay done" not in done.stdout  # refused before judging anything


def test_min_coverage_exit_codes(tmp_path: Path) -> None:
    exercised = ["--min-coverage", "status:422", "--min-coverage", "granularity:day"]
    done = _replay(tmp_path, *exercised)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = _replay(tmp_path, *exercised, "--min-coverage", "tz:*")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "not exercised: tz:dst-north, tz:dst-south, tz:fixed" in missing.stderr
    # 405 answers any method but GET, and the ledger counts the endpoint's GETs: a cell
    # no traffic could exercise would make 'status:*' unsatisfiable.
    assert "status:405" not in contract_ledger().known
    everything = _replay(tmp_path, "--min-coverage", "status:*")
    assert "status:405" not in everything.stderr


def test_the_proxy_refuses_a_typo_in_min_coverage_with_every_report(tmp_path: Path) -> None:
    command = [
        USAGEKIT, "proxy", "--upstream", "http://127.0.0.1:9", "--port", "0", "--now", NOW_TEXT,
        *_reports(tmp_path), "--min-coverage", "tz:dst-sout",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    _bad_usage_reported(tmp_path, done)
    assert "--min-coverage tz:dst-sout" in done.stderr
    assert "tz:dst-south" in done.stderr


def test_a_run_that_cannot_start_writes_the_ledgers_shape(tmp_path: Path) -> None:
    # A command line click itself refuses (a bad --timeout) still writes every report.
    done = subprocess.run(
        [USAGEKIT, "check", "--base-url", "http://127.0.0.1:9", "--timeout", "soon",
         *_reports(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    _bad_usage_reported(tmp_path, done)


def test_a_run_that_conforms_but_misses_min_coverage_says_so_in_every_report(
    tmp_path: Path,
) -> None:
    # The export conforms: its exit 1 comes from --min-coverage alone, and every report must
    # say so (it said "Conforms", and JUnit was all green, for a job that failed).
    done = _replay(tmp_path, "--min-coverage", "granularity:day", "--min-coverage", "tz:*")
    assert done.returncode == 1, done.stdout + done.stderr
    missing = "never exercised tz:dst-north, tz:dst-south, tz:fixed"
    assert f"✗ --min-coverage is not met: {missing}" in done.stdout
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "**Conforms** to the reference profile. **--min-coverage is not met**" in markdown
    assert "`tz:dst-north`, `tz:dst-south`, `tz:fixed`" in markdown
    assert f"--min-coverage is not met: {missing}" in (tmp_path / "r.html").read_text()
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1"
    failure = suite.find("testcase[@name='min_coverage']/failure")
    assert failure is not None
    assert missing in (failure.text or "")
    # ... and a run that meets it has no such test case, and no such words.
    met = _replay(tmp_path, "--min-coverage", "granularity:day")
    assert met.returncode == 0, met.stdout + met.stderr
    assert "min_coverage" not in (tmp_path / "j.xml").read_text(encoding="utf-8")
    assert "not met" not in (tmp_path / "r.md").read_text(encoding="utf-8") + met.stdout
