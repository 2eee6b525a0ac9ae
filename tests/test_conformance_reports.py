"""Report writers are pure: plain data in, text out."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from usagekit.conformance.events import RunFinished, RunStarted, StageStarted
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.outcomes import MAX_FINDINGS, Finding, Judged, Outcomes, Summary
from usagekit.conformance.reporting.files import report_for
from usagekit.conformance.reporting.junit import render_junit
from usagekit.conformance.reporting.markdown import render_markdown
from usagekit.conformance.reporting.page import render_html
from usagekit.conformance.reporting.terminal import TerminalHandler, render_summary


def summary() -> Summary:
    outcomes = Outcomes()
    for name in ("good", "bad", "skipped"):
        outcomes.declare(
            name, source="usagekit", kind="scenario", profile="contract", summary=f"{name} rule"
        )
    outcomes.passed("good")
    outcomes.failed(
        "bad",
        Finding(
            rule="bad",
            title="Unexpected status",
            reason="limit=0 got 200, expected 422 <&>",
            detail="diff",
            judged=(
                Judged(
                    curl="curl -sS 'http://x/?limit=0'",
                    status=200,
                    body='{"data": []}',
                    size=12,
                    digest="0" * 64,
                ),
            ),
        ),
    )
    outcomes.skipped("skipped", "needs --data")
    return outcomes.summary(base_url="http://x", profile="contract", elapsed=1.5)


def test_junit_has_one_case_per_rule_and_the_failure_with_its_reproduction() -> None:
    root = ET.fromstring(render_junit(summary()).split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='bad']/failure")
    assert failure is not None
    assert failure.get("message") == "limit=0 got 200, expected 422 <&>"
    assert "reproduce: curl -sS 'http://x/?limit=0'" in (failure.text or "")
    assert suite.find("testcase[@name='skipped']/skipped") is not None


def test_markdown_and_html_carry_the_same_content() -> None:
    markdown, html = render_markdown(summary()), render_html(summary())
    assert "| `bad` | usagekit | 0 | 1 | ❌ failed |" in markdown
    assert "curl -sS 'http://x/?limit=0'" in markdown
    assert "Answer judged: 200, 12 bytes" in markdown
    assert '{"data": []}' in markdown
    # What is wrong comes first, the table of every rule after it.
    assert markdown.index("## Failures") < markdown.index("## Rules")
    assert html.index("<h2>Failures</h2>") < html.index("<h2>Rules</h2>")
    assert "{&quot;data&quot;: []}" in html
    assert "Does not conform" in markdown
    assert "limit=0 got 200, expected 422 &lt;&amp;&gt;" in html
    assert "<td><code>skipped</code></td>" in html


def test_terminal_prints_progress_then_the_summary() -> None:
    stream = io.StringIO()
    handler = TerminalHandler(stream)
    handler.start(RunStarted(base_url="http://x", profile="contract", rules=3, skipped=()))
    handler.handle(StageStarted(name="scenarios"))
    handler.handle(RunFinished(summary=summary()))
    handler.shutdown()
    text = stream.getvalue()
    assert text.index("▶ scenarios") < text.index("FAILURES (1)")
    assert "DOES NOT CONFORM (1 rules fail)" in text
    assert "reproduce: curl -sS 'http://x/?limit=0'" in render_summary(summary())
    assert '  answer: 200, 12 bytes: {"data": []}' in render_summary(summary())


def test_a_rule_keeps_a_bounded_number_of_distinct_findings() -> None:
    outcomes = Outcomes()
    outcomes.declare("r", source="usagekit", kind="response", profile="contract", summary="r")
    for i in range(MAX_FINDINGS + 3):
        for _ in range(2):
            outcomes.failed("r", Finding(rule="r", title="t", reason=f"reason {i}", detail=""))
    (result,) = outcomes.summary(base_url="x", profile="contract", elapsed=0).results
    assert (result.failed, len(result.findings), result.more) == (
        2 * (MAX_FINDINGS + 3),
        MAX_FINDINGS,
        3,
    )
    assert [f.count for f in result.findings] == [2] * MAX_FINDINGS
    assert "reason 0 (2 times)" in render_summary(
        outcomes.summary(base_url="x", profile="contract", elapsed=0)
    )


def test_curl_reproductions_never_hold_a_configured_key() -> None:
    base = {
        "method": "GET",
        "base_url": "http://x",
        "path": "/p",
        "account": "a",
        "params": (("tz", "UTC"),),
        "status": 200,
        "headers": {},
        "content": b"",
        "elapsed": 0.0,
    }
    account = Exchange(key=KeyRole.ACCOUNT, key_text=None, **base)
    invalid = Exchange(key=KeyRole.INVALID, key_text="sk-made-up", **base)
    assert account.curl() == """curl -sS -H "X-API-Key: $USAGEKIT_API_KEY" 'http://x/p?tz=UTC'"""
    assert "sk-made-up" in invalid.curl()
    sent = (
        ("User-Agent", "python-requests/2"),
        ("Accept-Encoding", "gzip, deflate"),  # requests' spelling; httpx's is lower-case
        ("Accept", "*/*"),  # curl's own
        ("Authorization", "Bearer sk-secret"),
        ("Cookie", "session=sk-secret"),
        ("X-API-Key", "sk-secret"),
        (b"prefer", b""),  # the proxy's: bytes, and a value curl would drop as `prefer:`
    )
    traffic = Exchange(key=KeyRole.TRAFFIC, key_text=None, sent_headers=sent, **base)
    assert traffic.curl() == (
        """curl -sS -H "X-API-Key: $USAGEKIT_API_KEY" """
        "--compressed -H 'Accept-Encoding: gzip, deflate' -H 'prefer;' 'http://x/p?tz=UTC'"
    )


def test_a_curl_survives_the_shell_whatever_the_url_and_key_hold() -> None:
    # `curl` is replaced by a function that prints the arguments the shell gave it.
    url = 'http://x/p?q=it\'s $HOME `id` "a b"&g=[1]{2}&t=a%20b'
    base = {
        "method": "GET",
        "base_url": "http://x",
        "path": "/p",
        "account": "a",
        "params": (),
        "status": 200,
        "headers": {},
        "content": b"",
        "elapsed": 0.0,
        "sent_url": url,
    }
    wrong = "sk-'$USAGEKIT_API_KEY\"`x`"
    cases = [
        (Exchange(key=KeyRole.ACCOUNT, key_text=None, **base), "X-API-Key: real-key"),
        (Exchange(key=KeyRole.SUBACCOUNT, key_text=None, **base), "X-API-Key: sub key"),
        (Exchange(key=KeyRole.INVALID, key_text=wrong, **base), f"X-API-Key: {wrong}"),
        (Exchange(key=KeyRole.INVALID, key_text="", **base), "X-API-Key;"),
    ]
    env = {"USAGEKIT_API_KEY": "real-key", "USAGEKIT_SUBACCOUNT_KEY": "sub key", "PATH": "/bin"}
    for exchange, header in cases:
        script = 'curl() { printf "%s\\n" "$@"; }; ' + exchange.curl()
        done = subprocess.run(
            ["sh", "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.splitlines() == ["-sS", "-H", header, "-g", url]


def test_methods_and_dot_segments_are_sent_as_they_were() -> None:
    base = {
        "base_url": "http://x",
        "path": "/a/../p",
        "account": "a",
        "params": (),
        "key": KeyRole.NONE,
        "key_text": None,
        "status": 405,
        "headers": {},
        "content": b"",
        "elapsed": 0.0,
    }
    assert Exchange(method="POST", **base).curl() == "curl -sS -X POST --path-as-is http://x/a/../p"
    assert Exchange(method="HEAD", **base).curl() == "curl -sS -I --path-as-is http://x/a/../p"


def test_a_report_is_written_in_the_format_its_suffix_names(tmp_path: Path) -> None:
    for name, start in [("r.xml", "<?xml"), ("r.html", "<!doctype html>"), ("r.md", "# usagekit")]:
        report = report_for(tmp_path / "deep" / name)
        report.write(summary())
        assert (tmp_path / "deep" / name).read_text().startswith(start)


def test_a_curl_not_judged_survives_markdown_whatever_backticks_its_url_holds() -> None:
    # A client may send backticks in a query the proxy forwards; a fence of three, as the
    # findings' blocks are, would end at them and the rest be the report's Markdown.
    from markdown_it import MarkdownIt

    curl = "curl -sS 'http://x/v1/accounts/a/analytics/usage?q=```\n# not a heading\n```'"
    outcomes = Outcomes()
    markdown = render_markdown(
        outcomes.summary(
            base_url="http://x", profile="contract", elapsed=1.0, not_judged=(("why", 2, curl),)
        )
    )
    fences = [t.content for t in MarkdownIt().parse(markdown) if t.type == "fence"]
    assert fences == [curl + "\n"], markdown
