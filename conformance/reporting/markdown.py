"""The report as Markdown (and the same content as HTML), for humans and CI summaries.

It opens with what is wrong -- the failures, grouped by rule, each with the
requests that show it and the answers that were judged -- and only then the
table of every rule.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from usagekit.conformance.outcomes import (
    Judged,
    RuleResult,
    Summary,
    one_line,
    tainted_text,
    visible,
)
from usagekit.conformance.reporting.coverage import (
    coverage_html,
    coverage_markdown,
    uncovered_text,
)
from usagekit.conformance.reporting.plain import headline, times

__all__ = ["render_html", "render_markdown"]

#: The HTML report's policy: its own inline style, and nothing else -- no script, no image,
#: no form, no frame, no request anywhere.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_MARK = {"passed": "✅", "failed": "❌", "tainted": "❌", "skipped": "⏭", "not exercised": "·"}


def _verdict(summary: Summary, code: Callable[[str], str] = lambda text: text) -> str:
    """The verdict in words, bold in Markdown; ``code`` shows text a server may have
    written (in an error) as code."""
    if summary.error is not None:
        return f"**Could not judge the server** ({summary.error_kind}): {code(summary.error)}"
    failed = [r for r in summary.results if r.failed]
    if not failed:
        return f"**Conforms** to the {summary.profile} profile."
    return f"**Does not conform**: {len(failed)} rule(s) of the {summary.profile} profile fail."


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


def _heading(summary: Summary) -> str:
    return (
        f"Server: {_code(summary.base_url)} — profile `{summary.profile}` — "
        f"{summary.requests} requests in {summary.elapsed:.1f} s"
    )


def _judged_by(summary: Summary) -> str:
    return "Judged by " + ", ".join(f"{k} `{v}`" for k, v in summary.provenance.items())


def _status(result: RuleResult) -> str:
    """The status in words; a tainted scenario's links to the rules its answers failed."""
    if result.status != "tainted":
        return result.status_text
    return tainted_text(
        result.tainted, result.sent, (f"[`{name}`](#{name})" for name, _ in result.others)
    )


def _status_html(result: RuleResult) -> str:
    e = html.escape
    if result.status != "tainted":
        return e(result.status_text)
    links = (f"<a href='#{e(name)}'><code>{e(name)}</code></a>" for name, _ in result.others)
    return tainted_text(result.tainted, result.sent, links)


def _failed(summary: Summary) -> list[RuleResult]:
    return [r for r in summary.results if r.failed]


def render_markdown(summary: Summary) -> str:
    lines = ["# usagekit conformance report", "", _heading(summary), "", _judged_by(summary)]
    lines += ["", _verdict(summary, _code) + _uncovered(summary), ""]
    failed = _failed(summary)
    if failed:
        lines += ["## Failures", ""]
    for result in failed:
        summary_line = f"{result.summary} — failed {result.failed} times"
        lines += [f"### `{result.name}`", "", summary_line, ""]
        for finding in result.findings:
            lines += [f"#### {_code(finding.reason)}{times(finding)}", ""]
            if finding.detail and finding.detail != finding.reason:
                lines += _block(finding.detail)
            for judged in finding.judged:
                lines += _judged_markdown(judged)
        if result.more:
            lines += [f"… and {result.more_text} more distinct failures of this rule.", ""]
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


def render_html(summary: Summary) -> str:
    """The report as one HTML page: every text escaped, and a policy that would run no
    script and load nothing even if some were not."""
    e = html.escape
    rows = "\n".join(
        f"<tr class='{e(r.status.replace(' ', '-'))}'><td><code>{e(r.name)}</code></td>"
        f"<td>{e(r.source)}</td><td>{r.passed}</td><td>{r.failed}</td>"
        f"<td>{_status_html(r)}</td></tr>"
        for r in summary.results
    )
    failures = "\n".join(_result_html(r) for r in _failed(summary))
    verdict = _verdict(summary).replace("**", "")
    return visible(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>usagekit conformance report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .25rem .75rem; border-bottom: 1px solid #ddd; }}
tr.failed, tr.tainted {{ background: #fde8e8; }} tr.skipped {{ color: #888; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; }}
</style></head><body>
<h1>usagekit conformance report</h1>
<p>{e(_heading(summary).replace("`", ""))}</p>
<p>{e(_judged_by(summary).replace("`", ""))}</p>
<p><strong>{e(verdict)}</strong>{_uncovered_html(summary)}</p>
{"<h2>Failures</h2>" + failures if failures else ""}
{"" if summary.error is not None else _table_html(rows)}
{coverage_html(summary.coverage)}
{_not_judged_html(summary)}
</body></html>
""")


def _not_judged_html(summary: Summary) -> str:
    if not summary.not_judged:
        return ""
    e = html.escape
    items = "".join(
        f"<li>{count}: {e(why)}; the first: <pre class='curl'>{e(example)}</pre></li>"
        for why, count, example in summary.not_judged
    )
    intro = "<p>Exchanges of the endpoint seen but not judged:</p>"
    return f"<h2>Not judged</h2>{intro}<ul>{items}</ul>"


def _uncovered_html(summary: Summary) -> str:
    if not summary.uncovered:
        return ""
    return f" <strong class='uncovered'>{html.escape(uncovered_text(summary.uncovered))}</strong>"


def _table_html(rows: str) -> str:
    return f"""<h2>Rules</h2>
<table><thead><tr><th>rule</th><th>source</th><th>passed</th><th>failed</th><th>status</th></tr></thead>
<tbody>
{rows}
</tbody></table>"""


def _result_html(result: RuleResult) -> str:
    e = html.escape
    parts = [
        f"<section id='{e(result.name)}'><h3><code>{e(result.name)}</code></h3>",
        f"<p>{e(result.summary)} — failed {result.failed} times</p>",
    ]
    for finding in result.findings:
        parts.append(f"<h4>{e(headline(finding))}</h4>")
        if finding.detail and finding.detail != finding.reason:
            parts.append(f"<pre>{e(finding.detail)}</pre>")
        for judged in finding.judged:
            parts.append(f"<pre class='curl'>{e(judged.curl)}</pre>")
            parts.append(f"<p>Answer judged: {e(judged.answer)}</p>")
            if judged.status is not None and judged.size:
                parts.append(f"<pre class='body'>{e(judged.body)}</pre>")
    if result.more:
        parts.append(f"<p>… and {result.more_text} more distinct failures of this rule.</p>")
    parts.append("</section>")
    return "\n".join(parts)
