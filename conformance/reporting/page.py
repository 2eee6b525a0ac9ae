"""The report as one HTML page: the Markdown report's content (:mod:`.markdown`), escaped."""

from __future__ import annotations

import html

from usagekit.conformance.outcomes import RuleResult, Summary, tainted_text, visible
from usagekit.conformance.reporting.coverage import coverage_html, uncovered_text
from usagekit.conformance.reporting.markdown import failed_rules, heading, judged_by, verdict
from usagekit.conformance.reporting.plain import headline

__all__ = ["render_html"]

#: The HTML report's policy: its own inline style, and nothing else -- no script, no image,
#: no form, no frame, no request anywhere.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _status_html(result: RuleResult) -> str:
    e = html.escape
    if result.status != "tainted":
        return e(result.status_text)
    links = (f"<a href='#{e(name)}'><code>{e(name)}</code></a>" for name, _ in result.others)
    return tainted_text(result.tainted, result.sent, links)


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
    failures = "\n".join(_result_html(r) for r in failed_rules(summary))
    said = verdict(summary).replace("**", "")
    return visible(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>usagekit conformance report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .25rem .75rem; border-bottom: 1px solid #ddd; }}
tr.failed, tr.tainted {{ background: #fde8e8; }} tr.skipped, tr.not-run {{ color: #888; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; }}
</style></head><body>
<h1>usagekit conformance report</h1>
<p>{e(heading(summary).replace("`", ""))}</p>
<p>{e(judged_by(summary).replace("`", ""))}</p>
<p><strong>{e(said)}</strong>{_uncovered_html(summary)}</p>
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
