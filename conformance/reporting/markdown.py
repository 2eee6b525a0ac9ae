"""The report as Markdown, for humans and CI summaries (:mod:`.page` the same as HTML).

It opens with what is wrong -- the failures, grouped by rule, each with the
requests that show it and the answers that were judged -- and only then the
table of every rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from usagekit.conformance.outcomes import (
    Finding,
    Judged,
    RuleResult,
    Summary,
    one_line,
    tainted_text,
    visible,
)
from usagekit.conformance.reporting.coverage import (
    coverage_markdown,
)
from usagekit.conformance.reporting.plain import budget_text, times

__all__ = [
    "FAILURES_BUDGET",
    "failed_rules",
    "heading",
    "judged_by",
    "render_markdown",
    "verdict",
]

#: UTF-8 bytes of the Markdown's failures kept whole, then by their reasons: GitHub takes a
#: step summary of 1 MiB at most, and the rules' table and coverage follow them.
FAILURES_BUDGET = 640 << 10
_MARK = {
    "passed": "✅",
    "failed": "❌",
    "tainted": "❌",
    "skipped": "⏭",
    "not run": "⏱",
    "not exercised": "·",
}


def verdict(summary: Summary, code: Callable[[str], str] = lambda text: text) -> str:
    """The verdict in words, bold in Markdown; ``code`` shows text a server may have
    written (in an error) as code."""
    if summary.error is not None:
        return f"**Could not judge the server** ({summary.error_kind}): {code(summary.error)}"
    failed = [r for r in summary.results if r.failed]
    ended = "" if summary.budget is None else f" **Not finished**: {budget_text(summary)}."
    if not failed:
        if ended:
            return f"Nothing it judged failed.{ended}"
        return f"**Conforms** to the {summary.profile} profile."
    fail = f"**Does not conform**: {len(failed)} rule(s) of the {summary.profile} profile fail."
    return fail + ended


def _uncovered(summary: Summary) -> str:
    """The verdict's second half when --min-coverage is not met (the run exits 1)."""
    if not summary.uncovered:
        return ""
    cells = ", ".join(_code(pattern) for pattern in summary.uncovered)
    return f" **--min-coverage is not met**: never exercised {cells}."


def _code(text: str) -> str:
    """``text`` as a Markdown code span, its delimiter longer than any backticks inside.

    What a server wrote is shown only this way (or in a code block): GitHub renders a
    step summary's raw HTML, links, and @mentions and #refs outside code. On one line: a
    line end would end the heading it is in."""
    text = one_line(text)
    tick = _ticks(text, 1)
    return (
        f"{tick} {text} {tick}"
        if text.startswith("`") or text.endswith("`")
        else tick + text + tick
    )


def heading(summary: Summary) -> str:
    return (
        f"Server: {_code(summary.base_url)} — profile `{summary.profile}` — "
        f"{summary.requests} requests in {summary.elapsed:.1f} s"
    )


def judged_by(summary: Summary) -> str:
    return "Judged by " + ", ".join(f"{k} `{v}`" for k, v in summary.provenance.items())


def _status(result: RuleResult) -> str:
    """The status in words; a tainted scenario's links to the rules its answers failed."""
    if result.status != "tainted":
        return result.status_text
    return tainted_text(
        result.tainted, result.sent, (f"[`{name}`](#{name})" for name, _ in result.others)
    )


def failed_rules(summary: Summary) -> list[RuleResult]:
    return [r for r in summary.results if r.failed]


def render_markdown(summary: Summary) -> str:
    lines = ["# usagekit conformance report", "", heading(summary), "", judged_by(summary)]
    lines += ["", verdict(summary, _code) + _uncovered(summary), ""]
    lines += _failures_markdown(failed_rules(summary))
    if summary.error is not None:
        return visible("\n".join(lines).rstrip() + "\n")
    lines += [
        "## Rules",
        "",
        "| rule | source | passed | failed | status |",
        "|---|---|---:|---:|---|",
    ]
    for r in summary.results:
        lines.append(
            f"| `{r.name}` | {r.source} | {r.passed} | {r.failed} | "
            f"{_MARK[r.status]} {_status(r)} |"
        )
    lines += coverage_markdown(summary.coverage)
    lines += _not_judged_markdown(summary)
    return visible("\n".join(lines).rstrip() + "\n")


def _failures_markdown(failed: list[RuleResult]) -> list[str]:
    """Each failed rule, and its findings whole while they fit :data:`FAILURES_BUDGET`;
    past it, a finding by its reason only, and past that, counted: said, never dropped."""
    lines, spent, by_reason, left, rules_left = [], 0, 0, 0, set()
    for result in failed:
        summary_line = f"{result.summary} — failed {result.failed} times"
        lines += [f"### `{result.name}`", "", summary_line, ""]
        for finding in result.findings:
            heading = [f"#### {_code(finding.reason)}{times(finding)}", ""]
            whole = [*heading, *_finding_blocks(finding)]
            for part in (whole, heading):
                size = len(visible("\n".join(part)).encode()) + 1
                if spent + size <= FAILURES_BUDGET:
                    lines, spent = lines + part, spent + size
                    by_reason += part is heading
                    break
            else:
                left += 1
                rules_left.add(result.name)
        if result.more:
            lines += [f"… and {result.more_text} more distinct failures of this rule.", ""]
    if by_reason or left:
        lines += [_shortened(by_reason, left, len(rules_left)), ""]
    return ["## Failures", "", *lines] if failed else []


def _shortened(by_reason: int, left: int, rules: int) -> str:
    """What the Markdown leaves out to stay a step summary GitHub takes, and where it is."""
    said = []
    if by_reason:
        its = "its" if by_reason == 1 else "their"
        said.append(f"{_plural(by_reason, 'finding')} {_is(by_reason)} shown by {its} reason only")
    if left:
        rules_text = _plural(rules, "rule")
        said.append(f"{_plural(left, 'more finding')} of {rules_text} {_is(left)} not shown")
    return (
        f"**This report is shortened**: {'; '.join(said)}, to stay under GitHub's 1 MiB "
        "step summary; the HTML report (--report FILE.html) and the JUnit XML show every one."
    )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _is(n: int) -> str:
    return "is" if n == 1 else "are"


def _finding_blocks(finding: Finding) -> list[str]:
    lines = _block(finding.detail) if finding.detail and finding.detail != finding.reason else []
    for judged in finding.judged:
        lines += _judged_markdown(judged)
    return lines


def _not_judged_markdown(summary: Summary) -> list[str]:
    if not summary.not_judged:
        return []
    lines = ["", "## Not judged", "", "Exchanges of the endpoint seen but not judged, and why:", ""]
    for why, count, example in summary.not_judged:
        block = "\n".join(_block(example, "sh")).splitlines()
        # Indented to stay in the list item, each line of it: a URL may hold a line end.
        lines += [f"- {count}: {why}; the first:", "", *(f"  {line}" for line in block), ""]
    return lines


def _judged_markdown(judged: Judged) -> list[str]:
    lines = [*_block(judged.curl, "sh"), f"Answer judged: {judged.answer}", ""]
    if judged.status is not None and judged.size:
        lines += _block(judged.body)
    return lines


def _block(text: str, info: str = "") -> list[str]:
    """``text`` as a code block, fenced longer than any run of backticks in it: what the
    server under test wrote cannot close the fence and write the report's Markdown."""
    fence = _ticks(text, 3)
    return [fence + info, text, fence, ""]


def _ticks(text: str, least: int) -> str:
    """Backticks to open and close ``text`` (at least ``least``), more than any run in it."""
    return "`" * max(least, 1 + max(map(len, re.findall("`+", text)), default=0))
