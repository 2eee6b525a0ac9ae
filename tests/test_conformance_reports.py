"""Report writers are pure: plain data in, text out."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from usagekit.conformance.events import RunFinished, RunStarted, StageStarted
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.outcomes import MAX_FINDINGS, Finding, Outcomes, Summary
from usagekit.conformance.reporting.junit import render_junit
from usagekit.conformance.reporting.markdown import render_html, render_markdown
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
            curl=("curl -sS 'http://x/?limit=0'",),
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


def test_a_rule_keeps_a_bounded_number_of_distinct_findings() -> None:
    outcomes = Outcomes()
    outcomes.declare("r", source="usagekit", kind="response", profile="contract", summary="r")
    for i in range(MAX_FINDINGS + 3):
        for _ in range(2):
            outcomes.failed(
                "r", Finding(rule="r", title="t", reason=f"reason {i}", detail="", curl=())
            )
    (result,) = outcomes.summary(base_url="x", profile="contract", elapsed=0).results
    assert (result.failed, len(result.findings), result.more) == (
        2 * (MAX_FINDINGS + 3),
        MAX_FINDINGS,
        3,
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
