"""``usagekit check`` that crashes still writes every report, naming the crash, and exits 2.

A bug of the kit, or a surprise of a library it uses, must not leave a CI job
with a traceback and no report. The crash is induced in a real ``usagekit
check`` process without touching the product: a ``sitecustomize`` on
``PYTHONPATH`` (Python imports it at start-up) replaces one internal function
by one that raises, as a bug there would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

USAGEKIT = Path(sys.executable).with_name("usagekit")
DATA = Path(__file__).parent / "data"
MESSAGE = "induced crash <&> of the test"
SITECUSTOMIZE = f"""
import importlib, os

def _crash(*args, **kwargs):
    raise RuntimeError({MESSAGE!r})

module, _, attribute = os.environ["USAGEKIT_TEST_CRASH"].partition(":")
owner = importlib.import_module(module)
*path, name = attribute.split(".")
for part in path:
    owner = getattr(owner, part)
setattr(owner, name, _crash)
"""


def crashing(tmp_path: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``usagekit check ARGS`` with ``target`` (``module:attribute``) raising when called."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": pythonpath, "USAGEKIT_TEST_CRASH": target}
    reports = ["--junit-xml", str(tmp_path / "junit.xml"), "--report", str(tmp_path / "r.md")]
    reports += ["--report", str(tmp_path / "r.html")]
    command = [str(USAGEKIT), "check", *args, *reports]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def assert_reported(tmp_path: Path, done: subprocess.CompletedProcess[str]) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    # The traceback, for the bug report, on stderr.
    assert "Traceback (most recent call last)" in done.stderr, output
    assert f"RuntimeError: {MESSAGE}" in done.stderr, output
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "**Could not judge the server** (crash)" in markdown, markdown
    assert "RuntimeError: induced crash" in markdown, markdown
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "RuntimeError: induced crash &lt;&amp;&gt;" in html, html
    error = ET.parse(tmp_path / "junit.xml").getroot().find(".//error")
    assert error is not None
    assert error.get("type") == "crash"
    assert f"RuntimeError: {MESSAGE}" in (error.get("message") or "")


@pytest.mark.parametrize(
    "target",
    [
        "usagekit.conformance.client:Client.send",  # the first request: before any rule ran
        "usagekit.conformance.runner:run",  # the run as a whole
    ],
)
def test_a_crash_of_a_run_writes_every_report_and_exits_2(tmp_path: Path, target: str) -> None:
    done = crashing(
        tmp_path, target, "--base-url", "http://127.0.0.1:9", "--api-key", "sk-k",
        "--account-id", "acct", "--max-examples", "0",
    )  # fmt: skip
    assert_reported(tmp_path, done)
    assert "http://127.0.0.1:9" in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_a_crash_of_a_replay_writes_every_report_and_exits_2(tmp_path: Path) -> None:
    har = DATA / "devtools-export.har"
    done = crashing(tmp_path, "usagekit.conformance.replay:replay", "--replay", str(har))
    assert_reported(tmp_path, done)
    assert f"replay of {har}" in (tmp_path / "r.md").read_text(encoding="utf-8")
