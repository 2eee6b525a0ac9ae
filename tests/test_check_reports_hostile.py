"""What a hostile server writes reaches every report as text, and nothing more.

A real ``usagekit check`` process judges ``servers.hostile``'s ``markup`` answers:
terminal escapes in a header, HTML, Markdown and mentions in its JSON. The terminal
gets no control character; the JUnit XML parses; the Markdown, rendered as GitHub
renders a step summary (raw HTML allowed), shows that text only as code; the HTML
report, opened in chromium, runs none of it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from browser_support import Console, launch, screenshot
from markdown_it import MarkdownIt
from processes import free_port
from servers.hostile import hostile

USAGEKIT = Path(sys.executable).with_name("usagekit")
#: Characters no terminal, XML 1.0 parser or Markdown heading may get from a server.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def check(base_url: str, directory: Path, *reports: str) -> subprocess.CompletedProcess[str]:
    """One ``usagekit check`` writing ``reports`` into ``directory``."""
    words = [w for name in reports for w in (_option(name), str(directory / name))]
    return subprocess.run(
        [str(USAGEKIT), "check", "--base-url", base_url, "--api-key", "sk-k", "--account-id",
         "acct", "--max-examples", "1", *words],
        capture_output=True, text=True, timeout=180, errors="surrogateescape",
    )  # fmt: skip


def _option(name: str) -> str:
    return {"j.xml": "--junit-xml", "c.json": "--coverage-json"}.get(name, "--report")


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The reports and the terminal output of one run against the ``markup`` server."""
    directory = tmp_path_factory.mktemp("markup")
    with hostile("markup") as base_url:
        done = check(base_url, directory, "j.xml", "r.md", "r.html", "c.json")
    assert done.returncode == 1, done.stdout + done.stderr
    return directory, done.stdout + done.stderr


def test_no_control_character_of_the_server_reaches_the_terminal(judged: tuple[Path, str]) -> None:
    _, output = judged
    assert "Undocumented Content-Type" in output, output
    assert not CONTROLS.findall(output), [s for s in output.splitlines() if CONTROLS.search(s)]
    assert "\\x1b]0;pwned\\x07" in output  # shown, escaped as Python writes it


def test_the_junit_xml_parses_whatever_the_server_wrote(judged: tuple[Path, str]) -> None:
    directory, _ = judged
    suite = ET.parse(directory / "j.xml").getroot().find("testsuite")
    assert suite is not None
    failure = suite.find("testcase[@name='content_type_conformance']/failure")
    assert failure is not None
    assert "\\x1b]0;pwned\\x07" in (failure.get("message") or "")


def test_the_markdown_shows_what_the_server_wrote_only_as_code(judged: tuple[Path, str]) -> None:
    directory, _ = judged
    markdown = (directory / "r.md").read_text()
    assert not CONTROLS.findall(markdown)
    # GitHub renders a step summary's raw HTML (sanitized: <details>, <img>, links stay).
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    outside_code = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", rendered, flags=re.S)
    for markup in ("<details", "<img", "<script", "<textarea", "javascript:", "@octocat"):
        assert markup not in outside_code, outside_code
    assert "<h1>Conforms</h1>" not in rendered
    assert "Undocumented Content-Type" in rendered


def test_a_server_that_cannot_be_judged_says_why_harmlessly(tmp_path: Path) -> None:
    # --account-id me: preflight names the account the server says the key is of.
    with hostile("markup", start=0) as base_url:
        done = subprocess.run(
            [str(USAGEKIT), "check", "--base-url", base_url, "--api-key", "sk-k", "--account-id",
             "me", "--junit-xml", str(tmp_path / "j.xml"), "--report", str(tmp_path / "r.md")],
            capture_output=True, text=True, timeout=60, errors="surrogateescape",
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "the server says it is \\x1b]8;;https://evil.example/" in done.stderr, output
    assert not CONTROLS.findall(output), output
    error = ET.parse(tmp_path / "j.xml").getroot().find(".//error")
    assert error is not None
    assert "the server says it is" in (error.get("message") or "")
    rendered = MarkdownIt("commonmark", {"html": True}).render((tmp_path / "r.md").read_text())
    assert "<script" not in re.sub(r"<code>.*?</code>", "", rendered, flags=re.S), rendered


@pytest.mark.slow
def test_the_html_report_in_a_browser_runs_nothing_the_server_wrote(
    judged: tuple[Path, str],
) -> None:
    directory, _ = judged
    browser_gen = launch()
    browser = next(browser_gen)
    try:
        page = browser.new_page()
        console = Console(page)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto((directory / "r.html").as_uri())
        page.hover("pre.body")  # an attribute broken out of would hear the mouse
        screenshot(page, "report-markup")
        assert page.evaluate("window.pwned") is None
        assert page.locator("script, img, a[href^='javascript'], details, textarea").count() == 0
        assert "<script>window.pwned=1</script>" in page.inner_text("pre.body >> nth=0")
        assert "Content-Security-Policy" in page.content()
        assert (dialogs, console.take()) == ([], [])
    finally:
        browser_gen.close()


@pytest.mark.parametrize("command", ["check", "proxy"])
def test_a_report_that_cannot_be_written_is_bad_usage_and_every_other_is_written(
    command: str, tmp_path: Path
) -> None:
    (tmp_path / "afile").touch()  # where the report's directory should be
    reports = ["--report", str(tmp_path / "afile" / "r.md"), "--report", str(tmp_path / "r.html")]
    reports += ["--junit-xml", str(tmp_path / "deep" / "er" / "j.xml")]  # made as needed
    with hostile("markup") as base_url:
        words = ["--base-url", base_url, "--api-key", "sk-k", "--account-id", "acct"]
        if command == "proxy":
            words = ["--upstream", base_url, "--port", str(free_port())]
        done = subprocess.run(
            [str(USAGEKIT), command, *words, *reports],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    assert f"cannot write {tmp_path / 'afile' / 'r.md'}" in done.stderr, output
    error = ET.parse(tmp_path / "deep" / "er" / "j.xml").getroot().find(".//error")
    assert error is not None
    assert error.get("type") == "bad usage"
    assert f"cannot write {tmp_path / 'afile' / 'r.md'}" in (error.get("message") or "")
    assert "Could not judge the server (bad usage)" in (tmp_path / "r.html").read_text()


def test_a_server_that_fails_each_time_for_a_new_long_reason_keeps_every_report_small(
    tmp_path: Path,
) -> None:
    # Each 422 has a MiB-long `detail` that is no string: a new reason each time.
    with hostile("long") as base_url:
        done = check(base_url, tmp_path, "j.xml", "r.md", "r.html")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[:2000]
    # GitHub refuses a step summary over 1 MiB; the rest stay far from the answers' size.
    sizes = {name: (tmp_path / name).stat().st_size for name in ("j.xml", "r.md", "r.html")}
    assert max(sizes.values()) < 1 << 20, sizes
    assert len(output) < 1 << 20, len(output)
    markdown = (tmp_path / "r.md").read_text()
    assert "more distinct failures of this rule" in markdown  # what is left out is said
    assert "detail is ['AAAA" in markdown
    assert "characters)`" in markdown  # the reason was cut, saying so
