"""The report as Markdown (and the same content as HTML), for humans and CI summaries."""

from __future__ import annotations

import html

from usagekit.conformance.outcomes import Summary

__all__ = ["render_html", "render_markdown"]

_MARK = {"passed": "✅", "failed": "❌", "skipped": "⏭", "not exercised": "·"}


def _verdict(summary: Summary) -> str:
    failed = [r for r in summary.results if r.failed]
    if not failed:
        return f"**Conforms** to the {summary.profile} profile."
    return f"**Does not conform**: {len(failed)} rule(s) of the {summary.profile} profile fail."


def render_markdown(summary: Summary) -> str:
    lines = [
        "# usagekit conformance report",
        "",
        f"Server: `{summary.base_url}` — profile `{summary.profile}` — "
        f"{summary.requests} requests in {summary.elapsed:.1f} s",
        "",
        _verdict(summary),
        "",
        "| rule | source | passed | failed | status |",
        "|---|---|---:|---:|---|",
    ]
    for r in summary.results:
        status = r.status if r.skipped is None else f"skipped: {r.skipped}"
        lines.append(
            f"| `{r.name}` | {r.source} | {r.passed} | {r.failed} | {_MARK[r.status]} {status} |"
        )
    findings = summary.findings
    if findings:
        lines += ["", "## Failures", ""]
        for finding in findings:
            lines += [f"### `{finding.rule}` — {finding.reason}", ""]
            if finding.detail and finding.detail != finding.reason:
                lines += ["```", finding.detail, "```", ""]
            if finding.curl:
                lines += ["Reproduce:", "", "```sh", *finding.curl, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_html(summary: Summary) -> str:
    e = html.escape
    rows = "\n".join(
        f"<tr class='{e(r.status.replace(' ', '-'))}'><td><code>{e(r.name)}</code></td>"
        f"<td>{e(r.source)}</td><td>{r.passed}</td><td>{r.failed}</td>"
        f"<td>{e(r.status if r.skipped is None else 'skipped: ' + r.skipped)}</td></tr>"
        for r in summary.results
    )
    failures = "\n".join(
        f"<section><h3><code>{e(f.rule)}</code> — {e(f.reason)}</h3>"
        + (f"<pre>{e(f.detail)}</pre>" if f.detail and f.detail != f.reason else "")
        + "".join(f"<pre class='curl'>{e(c)}</pre>" for c in f.curl)
        + "</section>"
        for f in summary.findings
    )
    verdict = _verdict(summary).replace("**", "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>usagekit conformance report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .25rem .75rem; border-bottom: 1px solid #ddd; }}
tr.failed {{ background: #fde8e8; }} tr.skipped {{ color: #888; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; }}
</style></head><body>
<h1>usagekit conformance report</h1>
<p>Server: <code>{e(summary.base_url)}</code> — profile <code>{e(summary.profile)}</code> —
{summary.requests} requests in {summary.elapsed:.1f} s</p>
<p><strong>{e(verdict)}</strong></p>
<table><thead><tr><th>rule</th><th>source</th><th>passed</th><th>failed</th><th>status</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{"<h2>Failures</h2>" + failures if failures else ""}
</body></html>
"""
